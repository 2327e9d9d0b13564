"""The textbook's gradient analysis (E1–E9) derived step by step.

Every equation here is produced by the engine: E3 and E4 by the chain rule
over the graph (:func:`chain.total_derivative`), E5 and its proof by
:class:`recurrence.LinearRecurrence`, E6 by reading b_t and c_t off E4, E7 by
instantiating E5 with them, E8/E9 and the chunked form by the strategies.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from typing import TypeAlias

import sympy as sp

from symbptt.derive import recurrence, strategies
from symbptt.derive.chain import Partial
from symbptt.derive.sensitivity import (
    check_substitution,
    gradient_equation,
    loss_gradient,
    model_equations,
    named,
    objective,
    read_off_bc,
    sensitivity_recurrence,
    sensitivity_sequence,
    substitution,
)
from symbptt.derive.steps import Derivation, Step
from symbptt.errors import ProofError
from symbptt.model import graph, scalar, symbols
from symbptt.model.scalar import L, ScalarModel, h
from symbptt.model.symbols import t

Expr: TypeAlias = sp.Expr


# ------------------------------------------------------------------ strategies


WRITTEN_OUT_OPS = 12  # b_t, c_t of at most this many operations are written out in E7-E9 (elman: 3, a GRU's c_t: 105)


def shown_sequence(model: ScalarModel, w: sp.Symbol) -> recurrence.LinearRecurrence:
    """The sensitivity sequence as E7-E9 print it: b_t and c_t written out when short, else kept as the names
    b_t, c_t that E6 defines (a gated cell's c_t is one product too long to break over lines)."""
    seq = sensitivity_sequence(model, w)
    if keeps_names(model, w):
        return recurrence.LinearRecurrence(a=seq.a)
    return seq


@functools.lru_cache(maxsize=64)  # asked by every step of a derivation; each answer reads E4 off again
def keeps_names(model: ScalarModel, w: sp.Symbol) -> bool:
    """Whether E7-E9 print b_t and c_t by name (see :func:`shown_sequence`)."""
    return any(sp.count_ops(part) > WRITTEN_OUT_OPS for part in read_off_bc(model, w))


def strategy_form(model: ScalarModel, w: sp.Symbol, strategy: strategies.Strategy, t: Expr = t,
                  T: int | None = None) -> Expr:
    """∂h_t/∂w as the loss term l_t sees it under a deterministic strategy (E7, E8): the sum from start(t).

    A strategy that may leave l_t no state at all (tbptt, last) is written
    Σ_{i=start(t)}^{t}, empty when start(t) > t; the others b_t + Σ_{i=start(t)}^{t-1}.
    The sums are :func:`shown_sequence`'s; with ``T`` (an explicit T) they are written out.
    """
    seq = shown_sequence(model, w)
    start = strategy.start(t) if T is None else sp.sympify(strategy.start(t)).subs(symbols.T, T)  # last: T-k+1
    if strategy.drops_terms:
        return seq.truncated(t, start)
    return seq.closed_form(t, start=start)


def randomized_equations(model: ScalarModel, w: sp.Symbol) -> tuple[sp.Basic, ...]:
    """E9 derived: xi_t's distribution, z_t's recurrence and start, E[z_t] by linearity and independence.

    E[z_t] = b_t + c_t E[xi_t] E[z_{t-1}] (checked: z_{t-1} holds no xi_t, unrolled at explicit t), with
    E[xi_t] = 1 computed from the distribution: the recurrence of E4 with the same start, E[z_1] = b_1 =
    ∂h_1/∂w, hence E[z_t] = ∂h_t/∂w for every t.
    """
    xi_t, pi_t = strategies.xi[t], strategies.pi[t]
    seq = sensitivity_sequence(model, w)
    shown = shown_sequence(model, w)
    z, expectation = sp.IndexedBase("z"), sp.Function("E")
    # E[xi_t] from the two-point distribution, computed, not asserted
    mean_xi = sp.Add(sp.Mul(1 - pi_t, 0, evaluate=False), sp.Mul(pi_t, 1 / pi_t, evaluate=False),
                     evaluate=False)
    if sp.simplify(mean_xi.doit()) != 1:
        msg = "E[xi_t] is not 1"
        raise ProofError(msg)
    _check_independence(seq)

    def expected(sequence: recurrence.LinearRecurrence) -> tuple[Expr, Expr, Expr]:
        """z_t, then E[z_t] by linearity (E of each term) and independence (E[xi_t z_{t-1}] = E[xi_t] E[z_{t-1}]),
        then with E[xi_t] = 1."""
        z_t = sequence.b(t) + xi_t * sequence.c(t) * z[t - 1]
        e_z = sp.Add(*(_expected_term(term, xi_t, z[t - 1], expectation) for term in sp.Add.make_args(z_t)))
        return z_t, e_z, e_z.subs(expectation(xi_t), sp.simplify(mean_xi.doit()))

    z_t, e_z, e_z_done = expected(seq)
    if sp.expand(e_z_done - seq.equation(t).rhs.subs(seq.a(t - 1), expectation(z[t - 1]))) != 0:
        msg = "E[z_t] does not satisfy the recurrence of a_t"
        raise ProofError(msg)
    if sp.expand(seq.b(sp.S.One) - seq.iterate(1)[0]) != 0:  # the same start: z_1 = b_1 = a_1
        msg = "E[z_1] differs from the sensitivity at t = 1"
        raise ProofError(msg)
    if shown is not seq:  # the steps just checked, as printed: b_t and c_t by name
        z_t, e_z, e_z_done = expected(shown)
    return (
        sp.Eq(sp.Function("P")(sp.Eq(xi_t, 0)), 1 - pi_t),
        sp.Eq(sp.Function("P")(sp.Eq(xi_t, 1 / pi_t)), pi_t),
        sp.Eq(z[1], shown.b(sp.S.One)),
        sp.Eq(z[t], z_t),
        sp.Eq(expectation(xi_t), sp.Eq(mean_xi, sp.simplify(mean_xi.doit()), evaluate=False), evaluate=False),
        sp.Eq(expectation(z[t]), sp.Eq(e_z, e_z_done, evaluate=False), evaluate=False),
        sp.Eq(expectation(z[1]), sp.Eq(shown.b(sp.S.One), Partial(h[1], w), evaluate=False), evaluate=False),
        sp.Eq(expectation(z[t]), Partial(h[t], w)),
    )


def _check_independence(seq: recurrence.LinearRecurrence, T_: int = 4) -> None:
    """z_{t-1}, unrolled at explicit t, holds only xi_2..xi_{t-1}: it is independent of xi_t."""
    xis = [strategies.xi[s] for s in range(1, T_ + 1)]
    unrolled = seq.iterate(T_, multipliers=xis)
    for s in range(2, T_ + 1):
        if xis[s - 1] in unrolled[s - 2].free_symbols | unrolled[s - 2].atoms(sp.Indexed):
            msg = f"z_{s - 1} depends on xi_{s}"
            raise ProofError(msg)


def _expected_term(term: Expr, xi_t: Expr, z_prev: Expr, expectation: type[sp.Function]) -> Expr:
    """E of one term of z_t: deterministic factors pass through, xi_t and z_{t-1} (independent) each get E."""
    factors = sp.Mul.make_args(term)
    random = [f for f in factors if f in (xi_t, z_prev)]
    fixed = sp.Mul(*(f for f in factors if f not in random))
    return fixed * sp.Mul(*(expectation(f) for f in random))


EXACT_SUM_T = 6  # up to this T the expectation is also summed over all 2^(T-1) outcomes of xi


def randomized_expectation_exact(model: ScalarModel, w: sp.Symbol, T: int) -> sp.Eq:
    """E[z_T] = ∂h_T/∂w exactly for explicit T.

    z_T is multilinear in the independent xi_2..xi_T (the recurrence multiplies
    each once), so E[z_T] is z_T with every xi_t replaced by E[xi_t] = 1,
    computed from xi_t's two-point distribution: linear in T. Up to
    ``EXACT_SUM_T`` the expectation is also summed over all 2^{T-1} outcomes
    with symbolic pi_t, an independent check of the same result.
    """
    T = graph.check_steps(T)
    seq = sensitivity_sequence(model, w)
    xis = [strategies.xi[s] for s in range(1, T + 1)]
    z_T = seq.iterate(T, multipliers=xis)[-1]
    exact = seq.iterate(T)[-1]
    means = {xis[0]: sp.S.One}
    for s in range(2, T + 1):
        p = strategies.pi[s]
        means[xis[s - 1]] = sp.simplify(p * (1 / p) + (1 - p) * 0)  # E[xi_t] from P(xi_t = 1/pi_t) = pi_t
    # multilinear: in the nested form b_T + xi_T c_T (b_{T-1} + …) each xi_t occurs exactly once
    occurrences = collections.Counter(node for node in sp.preorder_traversal(z_T) if node in set(xis))
    if any(occurrences[x] != 1 for x in xis[1:]):
        msg = "z_T is not multilinear in xi"
        raise ProofError(msg)
    by_linearity = z_T.xreplace(means)
    if by_linearity != exact and sp.expand(by_linearity - exact) != 0:
        msg = f"E[z_{T}] differs from the exact sensitivity"
        raise ProofError(msg)
    if T <= EXACT_SUM_T:  # for any b_t, c_t: on symbols (the cell's own expressions cost minutes to expand)
        recurrence.LinearRecurrence().check_unbiased(T, strategies.xi, strategies.pi)
    return sp.Eq(sp.Function("E")(sp.IndexedBase("z")[T]), Partial(h[T], w))


# ------------------------------------------------------------------ whole derivations


def symbolic(model: ScalarModel, strategy_list: tuple[str, ...] = strategies.STRATEGIES) -> Derivation:
    """E1–E9 for symbolic t, each step derived and checked."""
    model = scalar.checked_model(model)
    w = model.recurrent_weight
    check_substitution(model, w)
    seq, shown = sensitivity_sequence(model, w), shown_sequence(model, w)
    abstract = recurrence.LinearRecurrence()
    abstract_proof = abstract.prove_closed_form(t)
    seq.prove_closed_form(t)  # E7 satisfies E4 for symbolic t
    a = sp.IndexedBase("a")
    names = _names_note(model, w)
    steps = [
        Step("eq_bptt_ht_ot", model_equations(model)),
        Step("eq_bptt_objective", (objective(model),)),
        Step("eq_bptt_partial_L_wh", (gradient_equation(model, w),)),
        Step("eq_bptt_partial_ht_wh_recur", (sensitivity_recurrence(model, w),)),
        Step("eq_bptt_at", (sp.Eq(a[0], 0), abstract.equation(t), sp.Eq(a[t], abstract.closed_form(t)))),
        Step("eq_bptt_at_proof", abstract_proof),
        Step("eq_bptt_substitution", substitution(model, w)),
        Step("eq_bptt_partial_ht_wh_gen", (sp.Eq(Partial(h[t], w), shown.closed_form(t)),), names_from=names),
    ]
    for name in strategy_list:
        kind = strategies.kind_of(name)
        if kind is strategies.Randomized:
            steps.append(Step(kind.label, randomized_equations(model, w), names_from=names))
        elif kind is not strategies.Full:
            form = strategy_form(model, w, kind.symbolic())
            steps.append(Step(kind.label, (sp.Eq(Partial(h[t], w), form),), approximate=True,
                              names_from=names))
    return Derivation(model, tuple(_shown(model, step) for step in steps))


def explicit(model: ScalarModel, T: int, strategy_list: tuple[str, ...] = strategies.STRATEGIES,
             tau: int = 2, k1: int = 2, k2: int = 3) -> Derivation:
    """The same analysis written out for t = 1..T: E3, E4 per step, E7 at t = T, strategies."""
    model = scalar.checked_model(model)
    lengths = {"tau": tau, "k1": k1, "k2": k2}
    T = graph.check_steps(T)
    w = model.recurrent_weight
    shown, names = shown_sequence(model, w), _names_note(model, w)
    hT = Partial(h[T], w)
    # E4 is derived once for symbolic t and instantiated per step: its derivation does not depend on t
    general = sensitivity_recurrence(model, w)
    recur = tuple(sp.Eq(*(side.xreplace({t: sp.Integer(s)}) for side in general.args), evaluate=False)
                  for s in range(1, T + 1))
    grad = sp.Add(*(loss_gradient(model, w, sp.Integer(s)) for s in range(1, T + 1)))
    steps = [
        Step(f"eq_bptt_partial_L_wh_T{T}", (sp.Eq(Partial(L, w), sp.Mul(sp.Rational(1, T), grad, evaluate=False)),)),
        Step(f"eq_bptt_partial_ht_wh_recur_T{T}", (sp.Eq(Partial(h[0], w), 0), *recur)),
        Step(f"eq_bptt_partial_ht_wh_gen_T{T}", (sp.Eq(hT, shown.closed_form(T)),), names_from=names),
    ]
    for name in strategy_list:
        kind = strategies.kind_of(name)
        if kind is strategies.Randomized:
            steps.append(Step(f"{kind.label}_T{T}", (randomized_expectation_exact(model, w, T),)))
        elif kind is not strategies.Full:
            strategy = strategies.make(name, **{n: lengths[n] for n, _ in kind.symbols})
            form = strategy_form(model, w, strategy, sp.Integer(T), T)
            steps.append(Step(f"{kind.label}_T{T}", (sp.Eq(hT, form),), approximate=True,
                              blanks=(("lengths", strategy.describe_math()),), names_from=names))
    return Derivation(model, tuple(_shown(model, step) for step in steps), T)


def _names_note(model: ScalarModel, w: sp.Symbol) -> str:
    """The label of the step that defines b_t and c_t when the closed forms print them by name, else ""."""
    return "eq_bptt_substitution" if keeps_names(model, w) else ""


def _shown(model: ScalarModel, step: Step) -> Step:
    """The step as printed: a gated cell's gates by name (the checks above ran on the expanded forms)."""
    if model.gates is None:
        return step
    return dataclasses.replace(step, equations=tuple(named(model, eq) for eq in step.equations))
