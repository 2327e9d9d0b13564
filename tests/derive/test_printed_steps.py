"""Every printed step of the forward derivation (E1-E9, symbolic t and explicit T) against an oracle.

Some steps feed no number the package computes: the proof lines, the
substitution, the closed forms, the truncated forms, the randomized
expectation. Each is checked here equation by equation, by value, against a
computation that shares nothing with the derivation: the elman-tanh model
unrolled by hand as nested SymPy expressions in W_hh, differentiated by
``sympy.diff``, with a truncation written as its definition (the states
before the strategy's first reached state frozen, i.e. a stop-gradient), and
the randomized expectation summed over every outcome of xi. No test looks for
a substring of the LaTeX; ``test_every_printed_step_is_checked`` keeps the
table complete when a step is added.
"""

from __future__ import annotations

import functools
import itertools
import math

import pytest
import sympy as sp

from symbptt.derive import one_state, strategies
from symbptt.derive.chain import Partial
from symbptt.model import scalar
from symbptt.model.scalar import L, h, o, x, y
from symbptt.model.symbols import T, t

MODEL = scalar.make_model("elman", "tanh")
W = MODEL.recurrent_weight
SYMBOLIC = one_state.symbolic(MODEL)
STEPS = 5
EXPLICIT = one_state.explicit(MODEL, STEPS, tau=2, k1=2, k2=3)
TAU, K1, K2 = 2, 2, 3
TOL = 1e-12

# one point: every quantity but W_hh a number; W_hh a symbol until the end
W_VALUE = sp.Rational(7, 10)
WHX, BH, WQH, BQ = sp.Rational(-3, 5), sp.Rational(1, 10), sp.Rational(6, 5), sp.Rational(-1, 5)
_PARAMS = {str(p): p for p in MODEL.params}
VALUES = {_PARAMS["W_hx"]: WHX, _PARAMS["b_h"]: BH, _PARAMS["W_qh"]: WQH, _PARAMS["b_q"]: BQ}
XS = [sp.Rational(v, 10) for v in (0, 5, -8, 3, 9, -2)]  # x_0 unused
YS = [sp.Rational(v, 10) for v in (0, -4, 6, 1, -7, 2)]
H0 = sp.Rational(3, 10)
w = sp.Symbol("w")  # the oracle's own W_hh


# ------------------------------------------------------------------ the oracle


@functools.cache
def states(start: int = 1) -> list[sp.Expr]:
    """h_0..h_STEPS as expressions in w; h_{start-1} and before are numbers, so no path runs through them."""
    whx, bh = WHX, BH
    numbers = [H0]
    for s in range(1, STEPS + 1):
        numbers.append(sp.tanh(whx * XS[s] + W_VALUE * numbers[-1] + bh))
    hs = numbers[:start]
    for s in range(start, STEPS + 1):
        hs.append(sp.tanh(whx * XS[s] + w * hs[s - 1] + bh))
    return hs


def value(expr: sp.Expr) -> float:
    return float(sp.N(expr.subs(w, W_VALUE), 30))


@functools.cache
def sensitivity(s: int, start: int = 1) -> float:
    """∂h_s/∂W_hh with only the transitions from state ``start`` on (start = 1: exact)."""
    return value(sp.diff(states(start)[s], w))


def forward_values() -> dict[sp.Basic, sp.Expr]:
    hs = states()
    out: dict[sp.Basic, sp.Expr] = {W: W_VALUE, **VALUES, h[0]: H0}
    for s in range(1, STEPS + 1):
        out[h[s]] = hs[s].subs(w, W_VALUE)
        out[x[s]] = XS[s]
        out[y[s]] = YS[s]
        out[o[s]] = WQH * out[h[s]] + BQ
    return out


POINT = forward_values()


def loss(T_: int) -> sp.Expr:
    hs = states()
    outputs = [WQH * hs[s] + BQ for s in range(1, T_ + 1)]
    return sum((out - YS[s]) ** 2 / 2 for s, out in enumerate(outputs, start=1)) / T_


def evaluate(expr: sp.Basic, t_: int | None = None, extra: dict | None = None) -> float:
    """A printed expression's number at the point: t set, sums and products done, ∂h_s/∂w from the oracle."""
    if t_ is not None:
        expr = expr.subs(t, t_)
    expr = expr.subs(extra or {}).doit()
    partials = {p: sensitivity(int(p.num.indices[0])) for p in expr.atoms(Partial)
                if p.den == W and isinstance(p.num, sp.Indexed)}
    return float(sp.N(expr.xreplace(partials).subs(POINT), 30))


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOL, abs_tol=TOL)


# ------------------------------------------------------------------ symbolic t


def check_model(step):
    h_eq, o_eq = step.equations
    for s in (1, 3):
        assert close(evaluate(h_eq.rhs, s), evaluate(h_eq.lhs, s))
        assert close(evaluate(o_eq.rhs, s), evaluate(o_eq.lhs, s))


def check_objective(step):
    (eq,) = step.equations
    for T_ in (1, 3):
        assert close(evaluate(eq.rhs, extra={T: T_}), value(loss(T_)))


def check_gradient(step):
    (eq,) = step.equations
    middle, rhs = eq.rhs.lhs, eq.rhs.rhs
    for T_ in (2, 4):
        exact = value(sp.diff(loss(T_), w))
        assert close(evaluate(rhs, extra={T: T_}), exact)
        # the middle is 1/T Σ_t ∂l(y_t, o_t)/∂w_h: each Partial's expression differentiated by the oracle
        hs = states()
        outputs = {o[s]: WQH * hs[s] + BQ for s in range(1, T_ + 1)}
        targets = {y[s]: YS[s] for s in range(1, T_ + 1)}
        done = middle.subs(T, T_).doit()
        partials = {p: value(sp.diff(p.num.subs(outputs).subs(targets), w)) for p in done.atoms(Partial)}
        assert len(partials) == T_ and close(float(done.xreplace(partials)), exact)


def check_recurrence(step):
    (eq,) = step.equations
    for s in (1, 2, 4):
        assert close(evaluate(eq.rhs, s), sensitivity(s))


def _random_bc(n: int) -> tuple[dict, list[float], list[float]]:
    b = [0.0] + [((3 * k) % 7 - 3) / 5 for k in range(1, n + 1)]
    c = [0.0] + [((5 * k) % 11 - 5) / 7 for k in range(1, n + 1)]
    base_b, base_c = sp.IndexedBase("b"), sp.IndexedBase("c")
    return {**{base_b[k]: b[k] for k in range(1, n + 1)}, **{base_c[k]: c[k] for k in range(1, n + 1)}}, b, c


def _iterate(b: list[float], c: list[float], t_: int) -> float:
    a = 0.0
    for k in range(1, t_ + 1):
        a = b[k] + c[k] * a
    return a


def check_linear_recurrence(step):
    a = sp.IndexedBase("a")
    zero, recur, closed = step.equations
    assert zero.lhs == a[0] and zero.rhs == 0
    numbers, b, c = _random_bc(7)
    for t_ in (1, 2, 6):
        assert close(float(closed.rhs.subs(t, t_).doit().xreplace(numbers)), _iterate(b, c, t_))
        previous = {a[t_ - 1]: _iterate(b, c, t_ - 1)}
        assert close(float(recur.rhs.subs(t, t_).xreplace(previous).xreplace(numbers)), _iterate(b, c, t_))


def check_proof(step):
    numbers, b, c = _random_bc(8)
    for t_ in (2, 3, 7):
        for eq in step.equations:  # every line holds, read as numbers
            assert close(float(eq.lhs.subs(t, t_).doit().xreplace(numbers)),
                         float(eq.rhs.subs(t, t_).doit().xreplace(numbers)))
        # the chain starts at c_t a_{t-1} + b_t with a_{t-1} in closed form and ends at a_t's closed form
        assert close(float(step.equations[0].lhs.subs(t, t_).doit().xreplace(numbers)), _iterate(b, c, t_))
        assert close(float(step.equations[-1].rhs.subs(t, t_).doit().xreplace(numbers)), _iterate(b, c, t_))


def check_substitution(step):
    a_eq, b_eq, c_eq = step.equations
    assert a_eq.rhs == Partial(h[t], W)
    for s in (1, 3):
        free = sp.Symbol("previous")
        direct = sp.tanh(WHX * XS[s] + w * free + BH)
        at = {w: W_VALUE, free: POINT[h[s - 1]]}
        assert close(evaluate(b_eq.rhs, s), float(sp.N(sp.diff(direct, w).subs(at), 30)))
        assert close(evaluate(c_eq.rhs, s), float(sp.N(sp.diff(direct, free).subs(at), 30)))


def check_closed_form(step):
    (eq,) = step.equations
    for s in (1, 2, 5):
        assert close(evaluate(eq.rhs, s), sensitivity(s))


def _start(name: str, t_: int, T_: int) -> int:
    """The first state whose transition counts, from each strategy's definition in CONTRACT.md."""
    return {"window": max(1, t_ - TAU + 1), "chunked": TAU * ((t_ - 1) // TAU) + 1,
            "tbptt": max(1, K1 * math.ceil(t_ / K1) - K2 + 1), "last": max(1, T_ - TAU + 1)}[name]


def _truncation(name: str):
    numbers = {"tau": TAU, "k1": K1, "k2": K2}
    lengths = {symbol: numbers[argument] for argument, symbol in strategies.kind_of(name).symbols}

    def check(step):
        (eq,) = step.equations
        for t_, T_ in ((1, 5), (3, 5), (4, 5), (5, 5)):
            if name == "tbptt" and t_ % K1 and t_ != T_:
                continue  # tbptt updates at multiples of k1 (and at T)
            if name == "last" and t_ != T_:
                continue
            got = evaluate(eq.rhs, t_, {T: T_, **lengths})
            assert close(got, sensitivity(t_, _start(name, t_, T_))), (name, t_, got)

    return check


def _expectation_by_enumeration(t_: int, pis: list[float]) -> float:
    """E[z_t] summed over every outcome of xi_2..xi_t, z_t = b_t + xi_t c_t z_{t-1} computed from the oracle."""
    hs = [float(POINT[h[s]]) for s in range(t_ + 1)]
    wv = float(W_VALUE)
    bs = [0.0] + [(1 - hs[s] ** 2) * hs[s - 1] for s in range(1, t_ + 1)]
    cs = [0.0] + [(1 - hs[s] ** 2) * wv for s in range(1, t_ + 1)]
    total = 0.0
    for outcome in itertools.product((False, True), repeat=t_ - 1):
        probability, z = 1.0, bs[1]
        for s, kept in enumerate(outcome, start=2):
            p = pis[s]
            probability *= p if kept else 1 - p
            z = bs[s] + (1 / p if kept else 0.0) * cs[s] * z
        total += probability * z
    return total


def check_randomized(step):
    pi_t = strategies.pi[t]
    p_zero, p_keep, z_one, z_eq, e_xi, e_z, e_z_one, unbiased = step.equations
    for p in (0.25, 0.5, 1.0):
        probabilities = [float(eq.rhs.subs(pi_t, p)) for eq in (p_zero, p_keep)]
        assert close(sum(probabilities), 1.0)
        values = [0.0, 1 / p]
        assert [float(eq.lhs.args[0].rhs.subs(pi_t, p)) for eq in (p_zero, p_keep)] == values
        mean = sum(v * q for v, q in zip(values, probabilities, strict=True))
        assert close(float(e_xi.rhs.lhs.subs(pi_t, p)), mean) and close(float(e_xi.rhs.rhs), 1.0)
    z, expectation = sp.IndexedBase("z"), sp.Function("E")
    # the start: z_1 = b_1 = ∂h_1/∂w_h, and E[z_1] the same
    assert close(evaluate(z_one.rhs), sensitivity(1))
    assert close(evaluate(e_z_one.rhs.lhs), sensitivity(1)) and e_z_one.rhs.rhs == Partial(h[1], W)
    for s in (2, 3, 5):
        # z_t with xi_t = 1 and z_{t-1} exact is the exact sensitivity; so is E[z_t] from E[z_{t-1}]
        ones = {strategies.xi[s]: 1, z[s - 1]: sensitivity(s - 1)}
        assert close(evaluate(z_eq.rhs, s, ones), sensitivity(s))
        # and with xi_t = 0 or 2.5: xi_t multiplies c_t z_{t-1} alone, never b_t (with xi_t = 1 any place passes)
        hs = [float(POINT[h[k]]) for k in range(s + 1)]
        b_s, c_s = (1 - hs[s] ** 2) * hs[s - 1], (1 - hs[s] ** 2) * float(W_VALUE)
        for kept in (0.0, 2.5):
            drawn = {strategies.xi[s]: kept, z[s - 1]: sensitivity(s - 1)}
            assert close(evaluate(z_eq.rhs, s, drawn), b_s + kept * c_s * sensitivity(s - 1)), (s, kept)
        means = {expectation(strategies.xi[s]): 1, expectation(z[s - 1]): sensitivity(s - 1)}
        assert close(evaluate(e_z.rhs.lhs, s, means), sensitivity(s))
        assert close(evaluate(e_z.rhs.rhs, s, {expectation(z[s - 1]): sensitivity(s - 1)}), sensitivity(s))
    # E[z_t] by enumeration equals ∂h_t/∂w_h for any pi_t
    pis = [0.0, 1.0, 0.3, 0.8, 0.55, 0.9]
    for s in (2, 3, 4, 5):
        assert close(_expectation_by_enumeration(s, pis), sensitivity(s))
    assert unbiased.rhs == Partial(h[t], W)
    assert e_z.lhs == unbiased.lhs


SYMBOLIC_CHECKS = {
    "eq_bptt_ht_ot": check_model,
    "eq_bptt_objective": check_objective,
    "eq_bptt_partial_L_wh": check_gradient,
    "eq_bptt_partial_ht_wh_recur": check_recurrence,
    "eq_bptt_at": check_linear_recurrence,
    "eq_bptt_at_proof": check_proof,
    "eq_bptt_substitution": check_substitution,
    "eq_bptt_partial_ht_wh_gen": check_closed_form,
    "eq_bptt_window": _truncation("window"),
    "eq_bptt_chunked": _truncation("chunked"),
    "eq_bptt_randomized": check_randomized,
    "eq_bptt_tbptt": _truncation("tbptt"),
    "eq_bptt_last": _truncation("last"),
}


@pytest.mark.parametrize("label", list(SYMBOLIC_CHECKS))
def test_each_symbolic_step_against_the_oracle(label):
    SYMBOLIC_CHECKS[label](SYMBOLIC[label])


# ------------------------------------------------------------------ explicit T


def check_explicit_gradient(step):
    (eq,) = step.equations
    assert close(evaluate(eq.rhs), value(sp.diff(loss(STEPS), w)))


def check_explicit_recurrence(step):
    zero, *rows = step.equations
    assert zero.lhs == Partial(h[0], W) and zero.rhs == 0
    assert [row.lhs for row in rows] == [Partial(h[s], W) for s in range(1, STEPS + 1)]
    for s, row in enumerate(rows, start=1):
        assert close(evaluate(row.rhs), sensitivity(s)), s


def check_explicit_closed_form(step):
    (eq,) = step.equations
    assert eq.lhs == Partial(h[STEPS], W) and close(evaluate(eq.rhs), sensitivity(STEPS))


def _explicit_truncation(name: str):
    def check(step):
        (eq,) = step.equations
        assert close(evaluate(eq.rhs), sensitivity(STEPS, _start(name, STEPS, STEPS)))

    return check


def check_explicit_randomized(step):
    (eq,) = step.equations
    assert eq.rhs == Partial(h[STEPS], W)
    assert close(_expectation_by_enumeration(STEPS, [0.0, 1.0, 0.2, 0.7, 0.45, 0.95]), sensitivity(STEPS))


EXPLICIT_CHECKS = {
    f"eq_bptt_partial_L_wh_T{STEPS}": check_explicit_gradient,
    f"eq_bptt_partial_ht_wh_recur_T{STEPS}": check_explicit_recurrence,
    f"eq_bptt_partial_ht_wh_gen_T{STEPS}": check_explicit_closed_form,
    f"eq_bptt_window_T{STEPS}": _explicit_truncation("window"),
    f"eq_bptt_chunked_T{STEPS}": _explicit_truncation("chunked"),
    f"eq_bptt_randomized_T{STEPS}": check_explicit_randomized,
    f"eq_bptt_tbptt_T{STEPS}": _explicit_truncation("tbptt"),
    f"eq_bptt_last_T{STEPS}": _explicit_truncation("last"),
}


@pytest.mark.parametrize("label", list(EXPLICIT_CHECKS))
def test_each_explicit_step_against_the_oracle(label):
    EXPLICIT_CHECKS[label](EXPLICIT[label])


def test_every_printed_step_is_checked():
    assert set(SYMBOLIC.labels) == set(SYMBOLIC_CHECKS)
    assert set(EXPLICIT.labels) == set(EXPLICIT_CHECKS)
    assert L not in POINT  # the objective is computed by the oracle, never read off the derivation
