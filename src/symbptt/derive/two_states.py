"""E1–E9 for a cell of two states (the LSTM's h_t and c_t), at size one.

The sensitivity is the vector a_t = (∂h_t/∂w, ∂c_t/∂w): E4 is two chain rules,
E6 reads off a vector b_t and a 2 × 2 matrix c_t, and E5 holds as it stands
with the products ordered, the latest step first. These are printed bold
(𝐚_t, 𝐛_t, 𝐜_t), apart from the cell state c_t. Every check runs on the
expanded scalar expressions; at explicit T the ordered products are
noncommutative symbols, so they print in their order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeAlias

import sympy as sp

from symbptt.derive import chain, recurrence, strategies
from symbptt.derive.chain import Partial
from symbptt.derive.one_state import EXACT_SUM_T  # the same bound as the one-state analysis, said once in the text
from symbptt.derive.sensitivity import gradient_equation, loss_gradient, objective
from symbptt.derive.steps import Derivation, Step
from symbptt.errors import ProofError
from symbptt.model import graph, symbols
from symbptt.model.scalar import h, o, x, y
from symbptt.model.symbols import t
from symbptt.model.two_states import TwoStateModel, c

Expr: TypeAlias = sp.Expr


def _named(label: str, equations: tuple[sp.Basic, ...], **options: Any) -> Step:
    """A step printing 𝐛_t and 𝐜_t by name: the narration says where they are defined and what they are."""
    return Step(label, equations, names_from="eq_bptt_substitution", names_sentence="pair", **options)


# ------------------------------------------------------------------ E4, E6


@functools.lru_cache(maxsize=16)
def read_off(model: TwoStateModel) -> tuple[tuple[Expr, Expr], tuple[tuple[Expr, Expr], tuple[Expr, Expr]]]:
    """E6: 𝐛_t = (b^h, b^c) and 𝐜_t = ((c^hh, c^hc), (c^ch, c^cc)), read off E4 (linear in the two sensitivities);
    checked: 𝐛_t + 𝐜_t 𝐚_{t-1} gives E4 back."""
    w = model.recurrent_weight
    previous = (Partial(h[t - 1], w), Partial(c[t - 1], w))
    b, rows = [], []
    for eq in recurrence_equations(model):
        c_h, rest = chain.linear_split(eq.rhs, previous[0])
        c_c, b_s = chain.linear_split(rest, previous[1])
        if sp.expand(b_s + c_h * previous[0] + c_c * previous[1] - eq.rhs) != 0:
            msg = f"E4 for {eq.lhs} is not b + c a under the read-off"
            raise ProofError(msg)
        b.append(b_s)
        rows.append((c_h, c_c))
    return (b[0], b[1]), (rows[0], rows[1])


def recurrence_equations(model: TwoStateModel, t: Expr = t) -> tuple[sp.Eq, sp.Eq]:
    """E4 for both states: ∂s_t/∂w = ∂f_s/∂w + ∂f_s/∂h_{t-1} ∂h_{t-1}/∂w + ∂f_s/∂c_{t-1} ∂c_{t-1}/∂w."""
    w = model.recurrent_weight
    keep = {h[t - 1], c[t - 1]}
    return tuple(sp.Eq(Partial(base[t], w), chain.total_derivative(value, w, {}, keep=keep), evaluate=False)
                 for base, value in zip((h, c), model.step(t), strict=True))


def named(model: TwoStateModel, expr: sp.Basic, times: tuple[Expr, ...] = (t,)) -> sp.Basic:
    """``expr`` with every intermediate value by its name at the given times."""
    names: dict[Expr, Expr] = {}
    for s in times:
        names.update(model.names(s))
    return expr.xreplace(names)


def model_equations(model: TwoStateModel) -> tuple[sp.Eq, ...]:
    """E1: each named value in step order, in terms of the names before it, then o_t."""
    env = model.values(x[t], h[t - 1], c[t - 1])
    names = model.names(t)
    shown = []
    for name, node in model.nodes:
        value = env[node]
        own = {v: n for v, n in names.items() if v != value}
        shown.append(sp.Eq(sp.IndexedBase(name)[t], value.xreplace(own), evaluate=False))
    return (*shown, sp.Eq(o[t], model.readout(h[t]), evaluate=False))


# ------------------------------------------------------------------ the bold sequences of E5–E9


def bold(name: str) -> Callable[[Expr], Expr]:
    """𝐧_k, noncommutative: a product of them keeps its order (for symbolic k in sums and products over k, and
    written out for explicit k, where the printer elides the middle of a long product as for scalars)."""
    base = sp.IndexedBase(rf"\mathbf{{{name}}}", commutative=False)
    return lambda k: base[k]


SYMBOLIC = recurrence.LinearRecurrence(b=bold("b"), c=bold("c"), a=bold("a"))
EXPLICIT = SYMBOLIC  # the same sequences, at explicit times


def substitution(model: TwoStateModel) -> tuple[sp.Eq, ...]:
    """E6: 𝐚_t, 𝐛_t and 𝐜_t as vectors and a matrix of named entries, then each entry."""
    w = model.recurrent_weight
    (b_h, b_c), ((c_hh, c_hc), (c_ch, c_cc)) = read_off(model)
    entry = {name: sp.IndexedBase(name)[t] for name in ("b^{h}", "b^{c}", "c^{hh}", "c^{hc}", "c^{ch}", "c^{cc}")}
    vectors = (
        sp.Eq(SYMBOLIC.a(t), sp.Matrix([Partial(h[t], w), Partial(c[t], w)]), evaluate=False),
        sp.Eq(SYMBOLIC.b(t), sp.Matrix([entry["b^{h}"], entry["b^{c}"]]), evaluate=False),
        sp.Eq(SYMBOLIC.c(t), sp.Matrix([[entry["c^{hh}"], entry["c^{hc}"]], [entry["c^{ch}"], entry["c^{cc}"]]]),
              evaluate=False),
    )
    values = (b_h, b_c, c_hh, c_hc, c_ch, c_cc)
    return (*vectors, *(sp.Eq(entry[n], named(model, v), evaluate=False) for n, v in zip(entry, values, strict=True)))


def form(strategy: strategies.Strategy, t: Expr, sequence: recurrence.LinearRecurrence, T: int | None = None) -> Expr:
    """𝐚_t as the loss term l_t sees it under a deterministic strategy (E7, E8)."""
    start = strategy.start(t) if T is None else sp.sympify(strategy.start(t)).subs(symbols.T, T)
    if strategy.drops_terms:
        return sequence.truncated(t, start)
    return sequence.closed_form(t, start=start)


def randomized_equations(model: TwoStateModel) -> tuple[sp.Eq, ...]:
    """E9 for the pair: z's recurrence with xi_t on 𝐜_t, and E[𝐳_t] by linearity and independence (E[xi_t] = 1
    from its distribution): the recurrence of 𝐚_t with the same start. Checked exactly at T = 3 in
    :func:`check_unbiased`."""
    xi_t, pi_t = strategies.xi[t], strategies.pi[t]
    z, expectation = bold("z"), sp.Function("E")
    mean_xi = sp.Add(sp.Mul(1 - pi_t, 0, evaluate=False), sp.Mul(pi_t, 1 / pi_t, evaluate=False), evaluate=False)
    if sp.simplify(mean_xi.doit()) != 1:
        msg = "E[xi_t] is not 1"
        raise ProofError(msg)
    b, cc = SYMBOLIC.b, SYMBOLIC.c
    return (
        sp.Eq(sp.Function("P")(sp.Eq(xi_t, 0)), 1 - pi_t),
        sp.Eq(sp.Function("P")(sp.Eq(xi_t, 1 / pi_t)), pi_t),
        sp.Eq(z(1), b(1)),
        sp.Eq(z(t), b(t) + xi_t * cc(t) * z(t - 1)),
        sp.Eq(expectation(xi_t), sp.Eq(mean_xi, 1, evaluate=False), evaluate=False),
        sp.Eq(expectation(z(t)), sp.Eq(b(t) + expectation(xi_t) * cc(t) * expectation(z(t - 1)),
                                       b(t) + cc(t) * expectation(z(t - 1)), evaluate=False), evaluate=False),
        sp.Eq(expectation(z(t)), SYMBOLIC.a(t)),
    )


def symbolic(model: TwoStateModel, strategy_list: tuple[str, ...] = strategies.STRATEGIES) -> Derivation:
    """E1–E9 for symbolic t: the model, E2, E3, E4 for both states, E5 and its proof, E6, E7, the strategies."""
    w = model.recurrent_weight
    read_off(model)  # E4 = 𝐛 + 𝐜 𝐚, checked
    abstract = SYMBOLIC
    steps = [
        Step("eq_bptt_ht_ot", model_equations(model)),
        Step("eq_bptt_objective", (objective(model),)),  # type: ignore[arg-type]
        Step("eq_bptt_partial_L_wh", (gradient_equation(model, w),)),  # type: ignore[arg-type]
        Step("eq_bptt_partial_ht_wh_recur",
             tuple(named(model, eq, (t, t - 1)) for eq in recurrence_equations(model))),
        Step("eq_bptt_at",
             (sp.Eq(abstract.a(0), 0), abstract.equation(t), sp.Eq(abstract.a(t), abstract.closed_form(t)))),
        Step("eq_bptt_at_proof", abstract.prove_closed_form(t)),
        Step("eq_bptt_substitution", substitution(model), elided=False),
        _named("eq_bptt_partial_ht_wh_gen", (sp.Eq(SYMBOLIC.a(t), SYMBOLIC.closed_form(t)),)),
    ]
    for name in strategy_list:
        kind = strategies.kind_of(name)
        if kind is strategies.Randomized:
            check_unbiased(4)  # the argument's conclusion, for matrices, on noncommutative symbols
            steps.append(_named(kind.label, randomized_equations(model)))
        elif kind is not strategies.Full:
            steps.append(_named(kind.label, (sp.Eq(SYMBOLIC.a(t), form(kind.symbolic(), t, SYMBOLIC)),),
                                approximate=True))
    return Derivation(model, tuple(steps))


def explicit(model: TwoStateModel, T: int, strategy_list: tuple[str, ...] = strategies.STRATEGIES,
             tau: int = 2, k1: int = 2, k2: int = 3) -> Derivation:
    """The same analysis written out for t = 1..T: E3, E4 at each step, E7 at t = T, the strategies."""
    lengths = {"tau": tau, "k1": k1, "k2": k2}
    T = graph.check_steps(T)
    w = model.recurrent_weight
    grad = sp.Add(*(loss_gradient(model, w, sp.Integer(s)) for s in range(1, T + 1)))  # type: ignore[arg-type]
    general = recurrence_equations(model)
    recur = [sp.Eq(Partial(h[0], w), 0), sp.Eq(Partial(c[0], w), 0)]
    for s in range(1, T + 1):
        recur += [named(model, sp.Eq(*(side.xreplace({t: sp.Integer(s)}) for side in eq.args), evaluate=False),
                        (sp.Integer(s), sp.Integer(s - 1))) for eq in general]
    a_T = EXPLICIT.a(T)
    steps = [
        Step(f"eq_bptt_partial_L_wh_T{T}",
             (sp.Eq(Partial(sp.Symbol("L"), w), sp.Mul(sp.Rational(1, T), grad, evaluate=False)),)),
        Step(f"eq_bptt_partial_ht_wh_recur_T{T}", tuple(recur)),
        _named(f"eq_bptt_partial_ht_wh_gen_T{T}", (sp.Eq(a_T, EXPLICIT.closed_form(T)),)),
    ]
    for name in strategy_list:
        kind = strategies.kind_of(name)
        if kind is strategies.Randomized:
            check_unbiased(T)
            steps.append(Step(f"{kind.label}_T{T}", (sp.Eq(sp.Function("E")(bold("z")(T)), a_T),)))
        elif kind is not strategies.Full:
            strategy = strategies.make(name, **{n: lengths[n] for n, _ in kind.symbols})
            steps.append(_named(f"{kind.label}_T{T}", (sp.Eq(a_T, form(strategy, sp.Integer(T), EXPLICIT, T)),),
                                approximate=True, blanks=(("lengths", strategy.describe_math()),)))
    return Derivation(model, tuple(steps), T)


# ------------------------------------------------------------------ explicit T, for the checks


def unrolled(model: TwoStateModel, T: int) -> graph.UnrolledGraph:
    """The pair over T steps: h_s, c_s, o_s, l_s in order, and L = 1/T Σ l_s."""
    T = graph.check_steps(T)
    definitions = []
    for s in range(1, T + 1):
        h_s, c_s = model.step(sp.Integer(s))
        definitions += [(h[s], h_s), (c[s], c_s), (o[s], model.readout(h[s])),
                        (graph.l_node[s], model.loss(y[s], o[s]))]
    objective_T = sp.Add(*(graph.l_node[s] for s in range(1, T + 1))) / T
    return graph.UnrolledGraph(model, T, tuple(definitions), objective_T)  # type: ignore[arg-type]


def closed_forms(model: TwoStateModel, T: int) -> list[sp.Matrix]:
    """𝐚_1..𝐚_T by E7 with the ordered products of the explicit 𝐜_s (2 × 2 matrices of expressions)."""
    (b_h, b_c), rows = read_off(model)
    b_of = {s: sp.Matrix([b_h, b_c]).subs(t, s) for s in range(1, T + 1)}
    c_of = {s: sp.Matrix(rows).subs(t, s) for s in range(1, T + 1)}
    explicit_seq = recurrence.LinearRecurrence(b=lambda k: b_of[int(k)], c=lambda k: c_of[int(k)])
    return [explicit_seq.multiplied_closed_form(s) for s in range(1, T + 1)]


def check_unbiased(T: int) -> None:
    """E[𝐳_T] = 𝐚_T for any 𝐛_s and any matrices 𝐜_s: on noncommutative symbols (so the products keep their
    order), 𝐳_T summed over every outcome of xi_2..xi_T with symbolic pi_s expands to E7 written out."""
    T = graph.check_steps(T)
    if T <= EXACT_SUM_T:
        EXPLICIT.check_unbiased(T, strategies.xi, strategies.pi)
