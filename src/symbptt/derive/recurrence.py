"""The linear recurrence a_0 = 0, a_t = b_t + c_t a_{t-1}, and its closed form (E5).

One object with two uses: forward in time for the sensitivities ∂h_t/∂w, and,
read backward, for adjoints. ``b`` and ``c`` are functions of the step index,
so the same object serves the textbook's abstract sequences (``b[t]``,
``c[t]``) and their substitution by derivatives (E6 → E7).

``rsolve`` is deliberately not used (wrong on simple cases of this kind: SymPy
#15553, #11063, #17982): the Σ Π form is built directly and proved by
substituting it back into the recurrence.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import sympy as sp

from symbptt import arguments
from symbptt.errors import ProofError

Expr: TypeAlias = sp.Expr
Sequence_: TypeAlias = Callable[[Expr], Expr]

_i, _j = sp.symbols("i j", integer=True, positive=True)


def _indexed(name: str) -> Sequence_:
    base = sp.IndexedBase(name)
    return lambda k: base[k]


@dataclass(frozen=True)
class LinearRecurrence:
    """a_0 = 0, a_t = b_t + c_t a_{t-1}  (E5, ``eq_bptt_at``)."""

    b: Sequence_ = field(default_factory=lambda: _indexed("b"))
    c: Sequence_ = field(default_factory=lambda: _indexed("c"))
    a: Sequence_ = field(default_factory=lambda: _indexed("a"))

    # ---------------------------------------------------------------- the recurrence
    def equation(self, t: Expr) -> sp.Eq:
        """a_t = b_t + c_t a_{t-1}."""
        return sp.Eq(self.a(t), self.b(t) + self.c(t) * self.a(t - 1), evaluate=False)

    def iterate(self, T: int, multipliers: Sequence[Expr] | None = None) -> list[Expr]:
        """[a_1, …, a_T] by the recurrence; multipliers m_t (if given) weight c_t: a_t = b_t + m_t c_t a_{t-1}."""
        T = arguments.positive_int(T, "T")
        if multipliers is not None and len(multipliers) < T:
            msg = f"iterate needs T = {T} multipliers m_1..m_T, got {len(multipliers)}"
            raise ValueError(msg)
        values, a_prev = [], sp.S.Zero
        for k in range(1, T + 1):
            m_k = 1 if multipliers is None else multipliers[k - 1]
            a_prev = self.b(sp.Integer(k)) + m_k * self.c(sp.Integer(k)) * a_prev
            values.append(a_prev)
        return values

    def check_unbiased(self, T: int, xi: sp.IndexedBase, pi: sp.IndexedBase,
                       kept: Callable[[Expr], Expr] = lambda p: 1 / p) -> None:
        """E[z_T] = a_T for z_t = b_t + xi_t c_t z_{t-1}, xi_1 = 1, the xi_t independent, 0 with probability
        1 − pi_t and ``kept(pi_t)`` = 1/pi_t with probability pi_t: z_T summed over all 2^{T-1} outcomes, with
        symbolic pi_t, reduces to the closed form. On symbols b_t, c_t (noncommutative for matrices) it holds for
        any cell."""
        xis = [xi[k] for k in range(1, T + 1)]
        z_T = self.iterate(T, multipliers=xis)[-1]
        expected = sp.S.Zero
        for outcome in itertools.product((False, True), repeat=T - 1):
            weight, values = sp.S.One, {xis[0]: sp.S.One}
            for k, keep in enumerate(outcome, start=2):
                weight *= pi[k] if keep else 1 - pi[k]
                values[xis[k - 1]] = kept(pi[k]) if keep else sp.S.Zero
            expected += weight * z_T.xreplace(values)
        difference = sp.expand(expected - self.closed_form(T))
        if difference != 0 and sp.expand(sp.together(difference)) != 0:  # p/p cancels; (1 - p)/(1 - p) needs together
            msg = f"E[z_{T}] summed over every outcome of xi differs from a_{T}"
            raise ProofError(msg)

    def iterate_backward(self, T: int) -> list[Expr]:
        """[a_1, …, a_T] of the same recurrence read backward in time: a_T = b_T, a_t = b_t + c_{t+1} a_{t+1}.

        This is the adjoint form (E13, E14): b and c may be matrices, and the
        products keep their order.
        """
        T = arguments.positive_int(T, "T")
        values: list[Expr] = [self.b(sp.Integer(T))]
        for k in range(T - 1, 0, -1):
            values.append(self.b(sp.Integer(k)) + self.c(sp.Integer(k + 1)) * values[-1])
        return values[::-1]

    def backward_closed_form(self, t: int, T: int) -> Expr:
        """a_t = Σ_{i=t}^{T} (c_{t+1} c_{t+2} ⋯ c_i) b_i for the backward recurrence (E15), t ≤ T explicit."""
        T, t = arguments.positive_int(T, "T"), arguments.positive_int(t, "t")
        if t > T:
            msg = f"t must be at most T = {T}, got {t}"
            raise ValueError(msg)
        terms = []
        for i in range(t, T + 1):
            factors = [self.c(sp.Integer(j)) for j in range(t + 1, i + 1)]
            terms.append(functools.reduce(operator.mul, [*factors, self.b(sp.Integer(i))]))
        return functools.reduce(operator.add, terms)

    # ---------------------------------------------------------------- the closed form
    def product(self, i: Expr, t: Expr, j: Expr = _j) -> Expr:
        """Π_{j=i+1}^{t} c_j."""
        return sp.Product(self.c(j), (j, i + 1, t))

    def closed_form(self, t: Expr, start: Expr = sp.S.One, i: Expr = _i, j: Expr = _j) -> Expr:
        """b_t + Σ_{i=start}^{t-1} (Π_{j=i+1}^{t} c_j) b_i; for an explicit t it is written out.

        ``start = 1`` is the exact a_t; a later start drops the terms that
        cross more transitions (window and chunked truncation).
        """
        if isinstance(t, int):
            t = sp.Integer(t)
        if t.is_Integer and sp.sympify(start).is_Integer:
            return self.b(t) + sp.Add(*self._written_out(int(t), range(int(start), int(t))))
        return self.b(t) + sp.Sum(sp.Mul(self.product(i, t, j), self.b(i), evaluate=False), (i, start, t - 1))

    def _written_out(self, t: int, starts: range) -> list[Expr]:
        """(c_t ⋯ c_{k+1}) b_k for each k of ``starts``: products latest first, the order of matrices."""
        return [sp.Mul(*(self.c(sp.Integer(j)) for j in range(t, k, -1))) * self.b(sp.Integer(k)) for k in starts]

    def multiplied_closed_form(self, t: int) -> Expr:
        """b_t + Σ_{i=1}^{t-1} (c_t ⋯ c_{i+1}) b_i for an explicit t, with matrices multiplied (not a Mul)."""
        total = self.b(sp.Integer(t))
        for k in range(1, t):
            total += functools.reduce(operator.matmul, [self.c(sp.Integer(jj)) for jj in range(t, k, -1)]
                                      + [self.b(sp.Integer(k))])
        return total

    def truncated(self, t: Expr, start: Expr, i: Expr = _i, j: Expr = _j) -> Expr:
        """Σ_{i=start}^{t} (Π_{j=i+1}^{t} c_j) b_i: the terms from ``start`` on, none if start > t."""
        t, start = sp.sympify(t), sp.sympify(start)
        if t.is_Integer and start.is_Integer:
            return sp.Add(*self._written_out(int(t), range(int(start), int(t) + 1)))
        return sp.Sum(sp.Mul(self.product(i, t, j), self.b(i), evaluate=False), (i, start, t))

    # ---------------------------------------------------------------- the proof
    def prove_closed_form(self, t: Expr) -> tuple[sp.Eq, ...]:
        """Prove the closed form satisfies the recurrence for symbolic t ≥ 2, and a_1 = b_1.

        Returns the chain of equations b_t + c_t a_{t-1} = … = a_t, each step one
        rewrite by the recursive definitions of Σ and Π, each checked here.
        Raises ProofError if a step does not hold.
        """
        b, c, A = self.b, self.c, self.closed_form
        i, j = _i, _j

        # Base case: a_1 = b_1 + c_1 a_0 with a_0 = 0, and the closed form at t = 1 is b_1 (empty sum).
        base = A(sp.S.One).doit() - b(sp.S.One)
        if base != 0 and sp.simplify(base) != 0:
            msg = "closed form at t = 1 is not b_1"
            raise ProofError(msg)

        inner = sp.Sum(sp.Mul(self.product(i, t - 1, j), b(i), evaluate=False), (i, 1, t - 2))
        steps = [b(t) + c(t) * A(t - 1)]
        # 1. substitute the closed form of a_{t-1} and distribute c_t
        steps.append(b(t) + c(t) * b(t - 1) + c(t) * inner)
        # 2. move the constant c_t into the sum
        moved = sp.Sum(sp.Mul(c(t), self.product(i, t - 1, j), b(i), evaluate=False), (i, 1, t - 2))  # c_t on the left
        steps.append(b(t) + c(t) * b(t - 1) + moved)
        # 3. c_t Π_{j=i+1}^{t-1} c_j = Π_{j=i+1}^{t} c_j  (recursive definition of Π, i + 1 ≤ t)
        extended = sp.Sum(sp.Mul(self.product(i, t, j), b(i), evaluate=False), (i, 1, t - 2))
        steps.append(b(t) + c(t) * b(t - 1) + extended)
        # 4. c_t b_{t-1} is the sum's term i = t - 1, since Π_{j=t}^{t} c_j = c_t
        steps.append(A(t))

        checks = (
            sp.expand(steps[0] - steps[1]) == 0,
            # Σ_i c_t f_i = c_t Σ_i f_i: c_t does not depend on i, and the summands and limits agree
            # (checked on the structure: simplify on a cell's c_t takes minutes)
            i not in c(t).free_symbols and moved.limits == inner.limits
            and sp.expand(moved.function - c(t) * inner.function) == 0,
            self.product(i, t, j).function.subs(j, t) == c(t)
            and _peel_last(self.product(i, t, j)) == c(t) * self.product(i, t - 1, j),
            self.product(t - 1, t, j).doit() == c(t)
            and _peel_last_sum(A(t) - b(t)) == (extended, c(t) * b(t - 1)),
        )
        for number, ok in enumerate(checks, start=1):
            if not ok:
                msg = f"step {number} of the closed-form proof does not hold"
                raise ProofError(msg)
        return tuple(
            sp.Eq(lhs, rhs, evaluate=False) for lhs, rhs in zip(steps[:-1], steps[1:], strict=True)
        )


def backward_closed_form(c: Expr, b: Sequence_, t: Expr, T: Expr, i: Expr = _i) -> sp.Sum:
    """E15's form of the backward recurrence a_T = b_T, a_t = b_t + c a_{t+1} with a constant c:
    a_t = Σ_{i=t}^{T} c^{T-i} b_{T+t-i}."""
    return sp.Sum(c ** (T - i) * b(T + t - i), (i, t, T))


def prove_backward_closed_form(c: Expr, b: Sequence_, t: Expr, T: Expr) -> tuple[sp.Eq, ...]:
    """E15 proved for symbolic t < T and T: the closed form satisfies a_t = b_t + c a_{t+1}, and at t = T it is b_T.

    The chain b_t + c a_{t+1} = … = a_t, each step one rewrite (substitute, move c into the sum, shift the index,
    take b_t as the term i = T), each checked here; c is a constant (it may not depend on i or t).
    """
    i = _i
    A = functools.partial(backward_closed_form, c, b, T=T, i=i)
    if A(T).doit() != b(T):
        msg = "the backward closed form at t = T is not b_T"
        raise ProofError(msg)
    inner = A(t + 1)
    moved = sp.Sum(c ** (T - i + 1) * b(T + t + 1 - i), (i, t + 1, T))
    shifted = sp.Sum(c ** (T - i) * b(T + t - i), (i, t, T - 1))
    steps = [b(t) + c * sp.IndexedBase("a")[t + 1], b(t) + c * inner, b(t) + moved, b(t) + shifted, A(t)]
    checks = (
        inner.limits == ((i, t + 1, T),),  # the closed form written at t + 1
        not (c.free_symbols & {i, t}) and moved.limits == inner.limits
        and sp.expand(sp.powsimp(moved.function - c * inner.function)) == 0,
        shifted.limits == ((i, t, T - 1),)
        and sp.expand(sp.powsimp(moved.function.subs(i, i + 1) - shifted.function)) == 0,
        A(t).function.subs(i, T) == b(t) and sp.Sum(A(t).function, (i, t, T - 1)) == shifted,
    )
    for number, ok in enumerate(checks, start=1):
        if not ok:
            msg = f"step {number} of the backward closed-form proof does not hold"
            raise ProofError(msg)
    return tuple(sp.Eq(lhs, rhs, evaluate=False) for lhs, rhs in zip(steps[:-1], steps[1:], strict=True))


def _peel_last(p: sp.Product) -> Expr:
    """Π_{j=a}^{b} f_j = (Π_{j=a}^{b-1} f_j) · f_b."""
    (j, lo, hi), fn = p.limits[0], p.function
    return fn.subs(j, hi) * sp.Product(fn, (j, lo, hi - 1))


def _peel_last_sum(s: Expr) -> tuple[Expr, Expr]:
    """Σ_{i=a}^{b} f_i = Σ_{i=a}^{b-1} f_i + f_b  (the summand's last term with products done)."""
    if not isinstance(s, sp.Sum):
        msg = f"expected a Sum, got {s}"
        raise ProofError(msg)
    (i, lo, hi), fn = s.limits[0], s.function
    return sp.Sum(fn, (i, lo, hi - 1)), fn.subs(i, hi).doit()
