"""The textbook's gradient analysis (E1–E9) derived step by step.

Every equation here is produced by the engine: E3 and E4 by the chain rule
over the graph (:func:`chain.total_derivative`), E5 and its proof by
:class:`recurrence.LinearRecurrence`, E6 by reading b_t and c_t off E4, E7 by
instantiating E5 with them, E8/E9 and the chunked form by the strategies.
"""

from __future__ import annotations

import collections
import functools
import itertools
from collections.abc import Iterable
from typing import TypeAlias

import sympy as sp
from sympy.core.function import AppliedUndef

from symbptt import strategies
from symbptt.derive import chain, recurrence
from symbptt.derive.chain import Partial
from symbptt.derive.steps import Derivation, Step
from symbptt.errors import ProofError
from symbptt.model import graph
from symbptt.model.scalar import L, ScalarModel, T, h, o, t, x, y

Expr: TypeAlias = sp.Expr


# ------------------------------------------------------------------ the pieces of E1–E7


def model_equations(model: ScalarModel, t_: Expr = t) -> tuple[sp.Eq, ...]:
    """E1: h_t = f(x_t, h_{t-1}, w_h), o_t = g(h_t, w_o); a gated cell's gates first, each by its name."""
    equations = tuple(sp.Eq(node, expr) for node, expr in graph.step_definitions(model, t_)[:2])
    if model.gates is None:
        return equations
    names = gate_names(model, [t_])
    gates = tuple(sp.Eq(names[value], value.xreplace({k: v for k, v in names.items() if k != value}))
                  for _, value in model.gates(x[t_], h[t_ - 1]))
    return (*gates, *(sp.Eq(eq.lhs, eq.rhs.xreplace(names)) for eq in equations))


def gate_names(model: ScalarModel, times: Iterable[Expr]) -> dict[Expr, Expr]:
    """Each gate's value at each time, mapped to its name (r_t, z_t, htilde_t): how the equations are shown.

    Only the display uses them; every check and every program reads the expanded forms.
    """
    if model.gates is None:
        return {}
    return {value: sp.IndexedBase(name)[s] for s in times for name, value in model.gates(x[s], h[s - 1])}


def named(model: ScalarModel, eq: sp.Basic) -> sp.Basic:
    """``eq`` with every gate value replaced by the gate's name, at every time step it mentions."""
    if model.gates is None:
        return eq
    times = {node.indices[0] for node in eq.atoms(sp.Indexed) if node.base == x}
    names = gate_names(model, times)
    if isinstance(eq, sp.Eq):  # a gate's own definition keeps its right-hand side
        own = {value: name for value, name in names.items() if name != eq.lhs}
        return sp.Eq(eq.lhs, eq.rhs.xreplace(own), evaluate=False)
    return eq.xreplace(names)


def objective(model: ScalarModel) -> sp.Eq:
    """E2: L = 1/T Σ_{t=1}^{T} l(y_t, o_t)."""
    return sp.Eq(L, sp.Sum(model.loss(y[t], o[t]), (t, 1, T)) / T)


def loss_gradient(model: ScalarModel, w: sp.Symbol, t_: Expr = t) -> Expr:
    """∂l(y_t, o_t)/∂w by the chain rule, with ∂h_t/∂w kept as a symbol (E3's summand)."""
    definitions = {o[t_]: model.readout(h[t_])}
    # h_t depends on the hidden parameters only; for the readout's, ∂h_t/∂w = 0
    keep = {h[t_]} if w in model.hidden_params else set()
    return chain.total_derivative(model.loss(y[t_], o[t_]), w, definitions, keep=keep)


def gradient_equation(model: ScalarModel, w: sp.Symbol) -> sp.Eq:
    """E3: ∂L/∂w_h = 1/T Σ_t ∂l/∂o_t ∂g/∂h_t ∂h_t/∂w_h."""
    middle = sp.Sum(Partial(model.loss(y[t], o[t]), w), (t, 1, T)) / T
    rhs = sp.Sum(loss_gradient(model, w), (t, 1, T)) / T
    return sp.Eq(Partial(L, w), sp.Eq(middle, rhs, evaluate=False), evaluate=False)


def sensitivity_recurrence(model: ScalarModel, w: sp.Symbol, t_: Expr = t) -> sp.Eq:
    """E4: ∂h_t/∂w = ∂f/∂w + ∂f/∂h_{t-1} · ∂h_{t-1}/∂w, by the chain rule."""
    definition = model.step(x[t_], h[t_ - 1])
    rhs = chain.total_derivative(definition, w, {}, keep={h[t_ - 1]})
    # tanh'(z) = 1 − tanh(z)² reads 1 − h_t² once the node's own definition is named h_t
    # (not for the generic model, whose ∂f/∂w_h must keep f's arguments)
    if not isinstance(definition, AppliedUndef):
        rhs = rhs.xreplace({definition: h[t_]})
    return sp.Eq(Partial(h[t_], w), rhs, evaluate=False)  # evaluated, Eq would try to decide it


def read_off_bc(model: ScalarModel, w: sp.Symbol) -> tuple[Expr, Expr]:
    """E6: b_t and c_t read off E4's right-hand side, which is linear in ∂h_{t-1}/∂w."""
    rhs = sensitivity_recurrence(model, w).rhs
    c_t, b_t = chain.linear_split(rhs, Partial(h[t - 1], w))
    return b_t, c_t


def sensitivity_sequence(model: ScalarModel, w: sp.Symbol) -> recurrence.LinearRecurrence:
    """E5 with the substitution of E6: a_t = ∂h_t/∂w, b_t = ∂f/∂w, c_t = ∂f/∂h_{t-1}."""
    b_t, c_t = read_off_bc(model, w)
    # cached: a written-out closed form asks for c_j once per term, T² times in all
    return recurrence.LinearRecurrence(
        b=functools.cache(lambda s: b_t.subs(t, s)), c=functools.cache(lambda s: c_t.subs(t, s)),
        a=lambda s: Partial(h[s], w),
    )


def substitution(model: ScalarModel, w: sp.Symbol) -> tuple[sp.Eq, ...]:
    """E6 as three equations a_t = …, b_t = …, c_t = …."""
    a, b, c = (sp.IndexedBase(n) for n in "abc")
    seq = sensitivity_sequence(model, w)
    return (sp.Eq(a[t], seq.a(t)), sp.Eq(b[t], seq.b(t)), sp.Eq(c[t], seq.c(t)))


def check_substitution(model: ScalarModel, w: sp.Symbol) -> None:
    """E4 is E5's recurrence under E6's substitution: checked, not assumed."""
    seq = sensitivity_sequence(model, w)
    lhs = sensitivity_recurrence(model, w).rhs
    if sp.expand(lhs - seq.equation(t).rhs) != 0:
        msg = "E4 does not match b_t + c_t a_{t-1} under the substitution E6"
        raise ProofError(msg)


# ------------------------------------------------------------------ strategies


def strategy_form(model: ScalarModel, w: sp.Symbol, strategy: strategies.Strategy, t_: Expr = t) -> Expr:
    """∂h_t/∂w as the loss term l_t sees it under a deterministic strategy (E7, E8): the sum from start(t).

    A strategy that may leave l_t no state at all (tbptt, last) is written
    Σ_{i=start(t)}^{t}, empty when start(t) > t; the others b_t + Σ_{i=start(t)}^{t-1}.
    """
    seq = sensitivity_sequence(model, w)
    if strategy.drops_terms:
        return seq.truncated(t_, strategy.start(t_))
    return seq.closed_form(t_, start=strategy.start(t_))


def randomized_equations(model: ScalarModel, w: sp.Symbol) -> tuple[sp.Basic, ...]:
    """E9: the distribution of xi_t, z_t's recurrence, E[xi_t] = 1 and E[z_t] = ∂h_t/∂w."""
    xi_t, pi_t = strategies.xi[t], strategies.pi[t]
    seq = sensitivity_sequence(model, w)
    z = sp.IndexedBase("z")
    z_t = seq.b(t) + xi_t * chain.chain_product(seq.c(t), Partial(h[t - 1], w))
    # E[xi_t] from the two-point distribution, computed, not asserted
    mean_xi = sp.Add(sp.Mul(1 - pi_t, 0, evaluate=False), sp.Mul(pi_t, 1 / pi_t, evaluate=False),
                     evaluate=False)
    if sp.simplify(mean_xi.doit()) != 1:
        msg = "E[xi_t] is not 1"
        raise ProofError(msg)
    expectation = sp.Function("E")
    # E[z_t] = b_t + E[xi_t] c_t E[z_{t-1}] by independence of xi_t from z_{t-1}, then E[xi_t] = 1
    e_z = seq.b(t) + expectation(xi_t) * seq.c(t) * expectation(z[t - 1])
    e_z_done = e_z.subs(expectation(xi_t), sp.simplify(mean_xi.doit()))
    if sp.expand(e_z_done - seq.equation(t).rhs.subs(seq.a(t - 1), expectation(z[t - 1]))) != 0:
        msg = "E[z_t] does not satisfy the recurrence of a_t"
        raise ProofError(msg)
    return (
        sp.Eq(sp.Function("P")(sp.Eq(xi_t, 0)), 1 - pi_t),
        sp.Eq(sp.Function("P")(sp.Eq(xi_t, 1 / pi_t)), pi_t),
        sp.Eq(z[t], z_t),
        sp.Eq(expectation(xi_t), sp.Eq(mean_xi, sp.simplify(mean_xi.doit()), evaluate=False), evaluate=False),
        sp.Eq(expectation(z[t]), sp.Eq(e_z, e_z_done, evaluate=False), evaluate=False),
        sp.Eq(expectation(z[t]), Partial(h[t], w)),
    )


EXACT_SUM_T = 6  # up to this T the expectation is also summed over all 2^(T-1) outcomes of xi


def randomized_expectation_exact(model: ScalarModel, w: sp.Symbol, T_: int) -> sp.Eq:
    """E[z_T] = ∂h_T/∂w exactly for explicit T.

    z_T is multilinear in the independent xi_2..xi_T (the recurrence multiplies
    each once), so E[z_T] is z_T with every xi_t replaced by E[xi_t] = 1,
    computed from xi_t's two-point distribution: linear in T. Up to
    ``EXACT_SUM_T`` the expectation is also summed over all 2^{T-1} outcomes
    with symbolic pi_t, an independent check of the same result.
    """
    T_ = graph.check_steps(T_)
    seq = sensitivity_sequence(model, w)
    xis = [strategies.xi[s] for s in range(1, T_ + 1)]
    z_T = seq.iterate(T_, multipliers=xis)[-1]
    exact = seq.iterate(T_)[-1]
    means = {xis[0]: sp.S.One}
    for s in range(2, T_ + 1):
        p = strategies.pi[s]
        means[xis[s - 1]] = sp.simplify(p * (1 / p) + (1 - p) * 0)  # E[xi_t] from P(xi_t = 1/pi_t) = pi_t
    # multilinear: in the nested form b_T + xi_T c_T (b_{T-1} + …) each xi_t occurs exactly once
    occurrences = collections.Counter(node for node in sp.preorder_traversal(z_T) if node in set(xis))
    if any(occurrences[x] != 1 for x in xis[1:]):
        msg = "z_T is not multilinear in xi"
        raise ProofError(msg)
    by_linearity = z_T.xreplace(means)
    if by_linearity != exact and sp.expand(by_linearity - exact) != 0:
        msg = f"E[z_{T_}] differs from the exact sensitivity"
        raise ProofError(msg)
    if T_ <= EXACT_SUM_T:
        expected = sp.S.Zero
        for outcome in itertools.product((False, True), repeat=T_ - 1):
            weight, values = sp.S.One, {xis[0]: sp.S.One}
            for s, kept in enumerate(outcome, start=2):
                p = strategies.pi[s]
                weight *= p if kept else 1 - p
                values[xis[s - 1]] = 1 / p if kept else sp.S.Zero
            expected += weight * z_T.xreplace(values)
        if sp.simplify(sp.expand(expected - exact)) != 0:
            msg = f"E[z_{T_}] summed over every outcome differs from the exact sensitivity"
            raise ProofError(msg)
    return sp.Eq(sp.Function("E")(sp.IndexedBase("z")[T_]), Partial(h[T_], w))


# ------------------------------------------------------------------ whole derivations


def symbolic(model: ScalarModel, strategy_list: tuple[str, ...] = strategies.STRATEGIES) -> Derivation:
    """E1–E9 for symbolic t, each step derived and checked."""
    w = model.recurrent_weight
    check_substitution(model, w)
    seq = sensitivity_sequence(model, w)
    abstract = recurrence.LinearRecurrence()
    abstract_proof = abstract.prove_closed_form(t)
    seq.prove_closed_form(t)  # E7 satisfies E4 for symbolic t
    a = sp.IndexedBase("a")
    steps = [
        Step("eq_bptt_ht_ot", "Hidden state and output", model_equations(model)),
        Step("eq_bptt_objective", "Objective", (objective(model),)),
        Step("eq_bptt_partial_L_wh", "Gradient of the objective by the chain rule",
             (gradient_equation(model, w),)),
        Step("eq_bptt_partial_ht_wh_recur", "Total derivative of the hidden state",
             (sensitivity_recurrence(model, w),)),
        Step("eq_bptt_at", "A linear recurrence and its closed form",
             (sp.Eq(a[0], 0), abstract.equation(t), sp.Eq(a[t], abstract.closed_form(t)))),
        Step("eq_bptt_at_proof", "Proof: the closed form satisfies the recurrence ($t \\geq 2$)",
             abstract_proof, note="Each line applies the recursive definition of a sum or a product."),
        Step("eq_bptt_substitution", "Substitution", substitution(model, w)),
        Step("eq_bptt_partial_ht_wh_gen", "Closed form of the sensitivity",
             (sp.Eq(Partial(h[t], w), seq.closed_form(t)),)),
    ]
    for name in strategy_list:
        kind = strategies.kind_of(name)
        if kind is strategies.Randomized:
            steps.append(Step(kind.label, kind.title, randomized_equations(model, w)))
        elif kind is not strategies.Full:
            form = strategy_form(model, w, kind.symbolic())
            steps.append(Step(kind.label, kind.title, (sp.Eq(Partial(h[t], w), form),), approximate=True))
    return Derivation(model, tuple(_shown(model, step) for step in steps))


def explicit(model: ScalarModel, T_: int, strategy_list: tuple[str, ...] = strategies.STRATEGIES,
             tau_: int = 2, k1_: int = 2, k2_: int = 3) -> Derivation:
    """The same analysis written out for t = 1..T: E3, E4 per step, E7 at t = T, strategies."""
    lengths = {"tau": tau_, "k1": k1_, "k2": k2_}
    T_ = graph.check_steps(T_)
    w = model.recurrent_weight
    seq = sensitivity_sequence(model, w)
    hT = Partial(h[T_], w)
    # E4 is derived once for symbolic t and instantiated per step: its derivation does not depend on t
    general = sensitivity_recurrence(model, w)
    recur = tuple(sp.Eq(*(side.xreplace({t: sp.Integer(s)}) for side in general.args), evaluate=False)
                  for s in range(1, T_ + 1))
    grad = sp.Add(*(loss_gradient(model, w, sp.Integer(s)) for s in range(1, T_ + 1)))
    steps = [
        Step(f"eq_bptt_partial_L_wh_T{T_}", f"Gradient for $T = {T_}$",
             (sp.Eq(Partial(L, w), sp.Mul(sp.Rational(1, T_), grad, evaluate=False)),)),
        Step(f"eq_bptt_partial_ht_wh_recur_T{T_}", "Sensitivity recurrence, step by step",
             (sp.Eq(Partial(h[0], w), 0), *recur),
             note="$h_0$ does not depend on the parameters: $a_0 = 0$."),
        Step(f"eq_bptt_partial_ht_wh_gen_T{T_}", f"Closed form at $t = {T_}$",
             (sp.Eq(hT, seq.closed_form(T_)),)),
    ]
    for name in strategy_list:
        kind = strategies.kind_of(name)
        if kind is strategies.Randomized:
            steps.append(Step(f"{kind.label}_T{T_}", f"Unbiasedness for $T = {T_}$, exactly",
                              (randomized_expectation_exact(model, w, T_),),
                              note="By linearity in the independent $\\xi_t$, each with $\\mathbb{E}[\\xi_t] = 1$ "
                                   f"(and, for $T \\leq {EXACT_SUM_T}$, summed over every outcome)."))
        elif kind is not strategies.Full:
            strategy = strategies.make(name, **{n: lengths[n] for n, _ in kind.symbols})
            form = strategy_form(model, w, strategy, sp.Integer(T_)).subs(strategies.T, T_)
            steps.append(Step(f"{kind.label}_T{T_}", f"{kind.title}, {strategy.describe_math()}, $t = {T_}$",
                              (sp.Eq(hT, form),), approximate=True))
    return Derivation(model, tuple(_shown(model, step) for step in steps), T_)


def _shown(model: ScalarModel, step: Step) -> Step:
    """The step as printed: a gated cell's gates by name (the checks above ran on the expanded forms)."""
    if model.gates is None:
        return step
    return Step(step.label, step.title, tuple(named(model, eq) for eq in step.equations), step.approximate,
                step.note)
