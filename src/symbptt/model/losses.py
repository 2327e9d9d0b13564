"""The contract's losses, per sample, as 1×1 matrix expressions in o_t and y_t."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symbptt.model import matrices as mx
from symbptt.model import ops
from symbptt.model.matrices import MatExpr
from symbptt.model.symbols import q

LOSSES = ("squared", "cross_entropy", "mse", "bce")
o_t = mx.seq("o", q)


class LogSumExp(mx.Operation):
    """log Σ_i exp(a_i) of a column ``a``: a 1×1 matrix."""

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return sp.S.One, self.arg.shape[1]

    def _entry(self, i: object, j: object, **kwargs: object) -> sp.Expr:
        return sp.log(_column_sum_exp(self.arg, j, **kwargs))


def _column_sum_exp(arg: MatExpr, j: object, **kwargs: object) -> sp.Expr:
    k = sp.Dummy("k", integer=True)
    return sp.Sum(sp.exp(arg._entry(k, j, **kwargs)), (k, 0, arg.shape[0] - 1))


class Softmax(mx.Operation):
    """exp(a) / Σ_i exp(a_i) of a column ``a`` (the derivative of :class:`LogSumExp`)."""

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.arg.shape

    def _entry(self, i: object, j: object, **kwargs: object) -> sp.Expr:
        return sp.exp(self.arg._entry(i, j, **kwargs)) / _column_sum_exp(self.arg, j, **kwargs)


class SumEntries(mx.Operation):
    """1ᵀa, the sum of a column's entries: a 1×1 matrix."""

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return sp.S.One, self.arg.shape[1]

    def _entry(self, i: object, j: object, **kwargs: object) -> sp.Expr:
        k = sp.Dummy("k", integer=True)
        return sp.Sum(self.arg._entry(k, j, **kwargs), (k, 0, self.arg.shape[0] - 1))


class LossValue(mx.Operation):
    """The textbook's undefined per-sample loss l(o_t, y_t): a 1×1 matrix."""


    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return sp.S.One, sp.S.One


class LossGradient(mx.Operation):
    """∂l(o_t, y_t)/∂o_t of the undefined loss: a column shaped like o_t."""


    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[0].shape

@dataclass(frozen=True)
class Loss:
    """l(o_t, y_t) per sample, a 1×1 matrix; ``y_t`` is a float target or a one-hot class column."""

    name: str
    target: str  # "float" or "class"
    value: MatExpr


y_t = mx.seq("y", q)


def squared() -> Loss:
    """l(o, y) = ½‖o − y‖² = ½ (o − y)ᵀ(o − y)."""
    residual = mx.add(o_t, mx.mul(-1, y_t))
    return Loss("squared", "float", mx.mul(sp.Rational(1, 2), sp.Transpose(residual), residual))


def cross_entropy() -> Loss:
    """l(o, y) = −log softmax(o)_y = log Σ_i exp(o_i) − yᵀo, y the one-hot column of the class."""
    return Loss("cross_entropy", "class",
                mx.add(LogSumExp(o_t), mx.mul(-1, sp.Transpose(y_t), o_t)))


def mse() -> Loss:
    """PyTorch's ``MSELoss``: l(o, y) = ‖o − y‖² / q, so that L is the mean of (o − y)² over B, T and q."""
    residual = mx.add(o_t, mx.mul(-1, y_t))
    return Loss("mse", "float", mx.mul(1 / q, sp.Transpose(residual), residual))


def bce() -> Loss:
    """PyTorch's ``BCEWithLogitsLoss``: l(o, y) = 1ᵀ(softplus(o) − y ⊙ o) / q for targets y in [0, 1], the mean
    over B, T and q of −y log σ(o) − (1 − y) log(1 − σ(o)); softplus is computed without overflow."""
    softplus = mx.elementwise(mx.scalar_function(ops.softplus), o_t)
    return Loss("bce", "float", mx.mul(1 / q, SumEntries(mx.add(softplus, mx.mul(-1, mx.hadamard(y_t, o_t))))))


def generic_loss() -> Loss:
    """The textbook's undefined l(o_t, y_t), for derivations only."""
    return Loss("generic", "none", LossValue(o_t, y_t))


def sized(name: str, readout: MatExpr) -> Loss:
    """The loss ``name`` of outputs as many as ``readout``'s: q, or h where o_t = h_t (a model without a head)."""
    loss = make_loss(name)
    rows = readout.shape[0]
    return loss if rows == q else Loss(loss.name, loss.target, loss.value.subs(q, rows))


def make_loss(name: str, allow_generic: bool = False) -> Loss:
    """The loss called ``name`` (one of LOSSES, or ``generic`` for a derivation)."""
    if name == "generic" and allow_generic:
        return generic_loss()
    if name == "squared":
        return squared()
    if name == "cross_entropy":
        return cross_entropy()
    if name == "mse":
        return mse()
    if name == "bce":
        return bce()
    msg = f"unknown loss {name!r}; allowed: {', '.join(LOSSES)}"
    raise ValueError(msg)
