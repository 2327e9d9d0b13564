"""The contract's losses, per sample, as 1×1 matrix expressions in o_t and y_t."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symbptt.model import matrices as mx
from symbptt.model.matrices import MatExpr, q

LOSSES = ("squared", "cross_entropy")
o_t = mx.seq("o", q)

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
                mx.add(mx.LogSumExp(o_t), mx.mul(-1, sp.Transpose(y_t), o_t)))


def generic_loss() -> Loss:
    """The textbook's undefined l(o_t, y_t), for derivations only."""
    return Loss("generic", "none", mx.LossValue(o_t, y_t))


def make_loss(name: str, allow_generic: bool = False) -> Loss:
    """The loss called ``name`` (one of LOSSES, or ``generic`` for a derivation)."""
    if name == "generic" and allow_generic:
        return generic_loss()
    if name == "squared":
        return squared()
    if name == "cross_entropy":
        return cross_entropy()
    msg = f"unknown loss {name!r}; allowed: {', '.join(LOSSES)}"
    raise ValueError(msg)
