"""Every printed step of the matrix derivation (E10-E16) against an oracle, equation by equation.

The printed forms (the objective, the sums over t, the last step, the
recurrence with its ``t + 1``, the closed form E15) are read at T = 3 with
every sum written out, every quantity replaced by its number, and compared
with an oracle that shares nothing with the derivation: the cell unrolled in
explicit SymPy matrices of rationals, and each adjoint ``∂L/∂o_t``,
``∂L/∂h_t``, ``∂L/∂W`` found by ``sympy.diff`` of that loss with the quantity
set free.
"""

from __future__ import annotations

import functools
import operator

import pytest
import sympy as sp

from symbptt.derive import gates, reverse
from symbptt.model import cells, losses, symbols
from symbptt.model import matrices as mx

T_ = 3
SIZES = {symbols.d: 2, symbols.h: 2, symbols.q: 2, symbols.B: 1, symbols.T: T_}


def _rationals(rows: int, cols: int, seed: int) -> sp.ImmutableMatrix:
    """Eighths, held as 30-digit floats: tanh of a float is a float, so the unrolled loss stays small."""
    def entry(i: int, j: int) -> sp.Float:
        return sp.Float(sp.Rational((7 * seed + 3 * i + 5 * j) % 13 - 6, 8), 30)

    return sp.ImmutableMatrix(rows, cols, entry)


def _free(name: str, rows: int, cols: int = 1) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}_{j}"))


def _gradient(L: sp.Expr, free: sp.ImmutableMatrix, at: sp.ImmutableMatrix) -> sp.ImmutableMatrix:
    point = dict(zip(free, at, strict=True))
    return sp.ImmutableMatrix(*free.shape, [sp.diff(L, v).subs(point) for v in free])


class Oracle:
    """The cell unrolled over T_ steps in explicit matrices; adjoints by sympy.diff with the quantity set free."""

    def __init__(self, cell: str) -> None:
        self.cell = cell
        self.P = {"W_hx": _rationals(2, 2, 1), "W_hh": _rationals(2, 2, 2) / 2, "W_qh": _rationals(2, 2, 3)}
        if cell == "elman":
            self.P |= {"b_h": _rationals(2, 1, 4), "b_q": _rationals(2, 1, 5)}
        self.x = {s: _rationals(2, 1, 10 + s) for s in range(1, T_ + 1)}
        self.y = {s: _rationals(2, 1, 20 + s) for s in range(1, T_ + 1)}
        self.h = {0: _rationals(2, 1, 30)}
        for s in range(1, T_ + 1):
            self.h[s] = self.step(self.P, self.x[s], self.h[s - 1])
        self.o = {s: self.readout(self.P, self.h[s]) for s in range(1, T_ + 1)}

    def step(self, P, x, h):
        pre = P["W_hx"] * x + P["W_hh"] * h
        return pre if self.cell == "linear" else (pre + P["b_h"]).applyfunc(sp.tanh)

    def readout(self, P, h):
        return P["W_qh"] * h + (P["b_q"] if "b_q" in P else sp.zeros(2, 1))

    def loss(self, P=None, h_from=None, o_at=None, copy_at=None) -> sp.Expr:
        """L = 1/T Σ_t ½|o_t − y_t|²; ``h_from = (s, H)`` sets h_s = H, ``o_at = (s, O)`` sets o_s = O,
        ``copy_at = (s, name, W)`` gives step s's update its own copy W of the parameter ``name``."""
        P = P or self.P
        h, total = self.h[0], sp.S.Zero
        for s in range(1, T_ + 1):
            Ps = {**P, copy_at[1]: copy_at[2]} if copy_at and copy_at[0] == s else P
            h = h_from[1] if h_from and h_from[0] == s else self.step(Ps, self.x[s], h)
            o = o_at[1] if o_at and o_at[0] == s else self.readout(P, h)
            total += sum((o - self.y[s]).applyfunc(lambda e: e**2)) / 2
        return total / T_

    @functools.cache  # noqa: B019 (two oracles per run)
    def adjoint(self, kind: str, s: int) -> sp.ImmutableMatrix:
        free = _free(f"{kind}{s}", 2)
        if kind == "o":
            return _gradient(self.loss(o_at=(s, free)), free, self.o[s])
        return _gradient(self.loss(h_from=(s, free)), free, self.h[s])

    @functools.cache  # noqa: B019 (two oracles per run)
    def parameter(self, name: str) -> sp.ImmutableMatrix:
        free = _free(name, *self.P[name].shape)
        return _gradient(self.loss(P={**self.P, name: free}), free, self.P[name])

    @functools.cache  # noqa: B019 (two oracles per run)
    def step_parameter(self, name: str, s: int) -> sp.ImmutableMatrix:
        """∂L/∂W|_(s): the derivative by step s's own copy of W (E17)."""
        free = _free(f"{name}{s}", *self.P[name].shape)
        return _gradient(self.loss(copy_at=(s, name, free)), free, self.P[name])

    def value(self, expr: sp.Basic, t_: int | None = None) -> sp.ImmutableMatrix | sp.Expr:
        """A printed expression's number: t set, sums written out, every leaf replaced by the oracle's value."""
        if t_ is not None:
            expr = expr.subs(symbols.t, t_)
        expr = _written_out(expr.subs(symbols.T, T_))
        leaves = {}
        for node in expr.atoms(mx.Seq):
            s = int(node.time)
            if isinstance(node, mx.StepAdjoint):
                leaves[node] = self.step_parameter(node.name, s)
            else:
                leaves[node] = (self.adjoint(node.name, s) if isinstance(node, mx.Adjoint)
                                else {"h": self.h, "o": self.o, "x": self.x, "y": self.y}[node.name][s])
        for node in expr.atoms(sp.MatrixSymbol):
            leaves[node] = self.parameter(node.name) if isinstance(node, mx.ParamAdjoint) else self.P[node.name]
        out = expr.xreplace(leaves).subs(SIZES).doit()
        return sp.ImmutableMatrix(out.as_explicit()) if isinstance(out, sp.MatrixBase | sp.MatrixExpr) else out


def _written_out(expr: sp.Basic) -> sp.Basic:
    def write(total: sp.Sum) -> sp.Basic:
        (variable, low, high), = total.limits
        terms = [total.function.subs(variable, k) for k in range(int(low), int(high) + 1)]
        return functools.reduce(operator.add, terms)

    return expr.replace(lambda e: isinstance(e, sp.Sum), write)


def _equal(a, b) -> bool:
    """Equality to 20 digits of two numbers or matrices (a 1x1 matrix is its entry)."""
    def matrix(v):
        return sp.ImmutableMatrix(v) if hasattr(v, "shape") else sp.ImmutableMatrix([[v]])

    difference = matrix(a) - matrix(b)
    return all(abs(sp.N(e, 30)) < sp.Float("1e-20", 30) for e in difference)


def _derivation(cell: str):
    return reverse.derivation(cells.make_cell(cell, "tanh"), losses.make_loss("squared"))


@pytest.mark.parametrize("cell", ["linear", pytest.param("elman", marks=pytest.mark.slow)])
def test_each_printed_matrix_step_against_the_oracle(cell):
    oracle, derivation = Oracle(cell), _derivation(cell)
    checked = set()
    for step in derivation.steps:
        if step.label == "eq_bptt_partial_L_ht_proof":  # the chain is on abstract c, b_t (test_recurrence proves it)
            c, b_t = step.equations[:2]
            assert _equal(oracle.value(c.rhs), oracle.P["W_hh"].T)
            for s in range(1, T_ + 1):
                assert _equal(oracle.value(b_t.rhs, s), oracle.P["W_qh"].T * oracle.adjoint("o", s))
            checked.add(step.label)
            continue
        for eq in step.equations:
            if eq.lhs == sp.Symbol("L"):
                assert _equal(oracle.value(eq.rhs), oracle.loss()), step.label
            elif gates.z in eq.lhs.free_symbols:  # E18: an activation and its derivative, at points
                for point in (-2, -sp.Rational(1, 3), sp.Rational(1, 2), 3):
                    assert _equal(eq.lhs.doit().subs(gates.z, point), eq.rhs.subs(gates.z, point)), (step.label, eq)
            elif isinstance(eq.lhs, mx.ParamAdjoint):
                assert _equal(oracle.value(eq.rhs), oracle.parameter(eq.lhs.name)), (step.label, eq.lhs)
            else:  # h_t = …, o_t = …, ∂L/∂o_t = …, ∂L/∂h_t = … at every t the equation is written for
                times = [T_] if eq.lhs.time == symbols.T else range(1, T_ + (0 if "recur" in step.label else 1))
                for s in times:
                    assert _equal(oracle.value(eq.rhs, s), oracle.value(eq.lhs, s)), (step.label, eq.lhs, s)
        checked.add(step.label)
    assert checked == set(derivation.labels)
    if cell == "linear":
        assert "eq_bptt_partial_L_ht" in checked  # E15, the closed form, is among them
