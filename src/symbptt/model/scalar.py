"""The scalar models of the textbook's analysis (E1, E2).

A model is the state update ``h_t = f(x_t, h_{t-1}, θ_h)``, the readout
``o_t = g(h_t, θ_o)`` and the per-step loss ``l(y_t, o_t)``. The generic model
keeps ``f``, ``g`` and ``l`` as undefined SymPy functions, exactly as the
textbook does; the concrete cells (``linear``, ``elman``) are scalar
instances with the squared loss, used for numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import sympy as sp

from symbptt.model import ops

Expr: TypeAlias = sp.Expr

# The time-indexed quantities. One object each, used for explicit and symbolic t.
x, y, h, o, l_node = (sp.IndexedBase(name) for name in ("x", "y", "h", "o", "l"))
t, i, j = sp.symbols("t i j", integer=True, positive=True)
T = sp.Symbol("T", integer=True, positive=True)
L = sp.Symbol("L")

# The generic model's undefined functions and parameters (the textbook's names).
f, g, l = sp.Function("f"), sp.Function("g"), sp.Function("l")
w_h, w_o = sp.symbols("w_h w_o", real=True)

MODELS = ("generic", "linear", "elman")


@dataclass(frozen=True)
class ScalarModel:
    """h_t = f(x_t, h_{t-1}), o_t = g(h_t), loss l(y_t, o_t)  (E1, E2)."""

    name: str
    activation: str | None
    hidden_params: tuple[sp.Symbol, ...]  # the parameters of f
    readout_params: tuple[sp.Symbol, ...]  # the parameters of g
    recurrent_weight: sp.Symbol  # the textbook's w_h
    step: Callable[[Expr, Expr], Expr]  # (x_t, h_{t-1}) -> h_t
    readout: Callable[[Expr], Expr]  # h_t -> o_t
    loss: Callable[[Expr, Expr], Expr]  # (y_t, o_t) -> l_t

    @property
    def params(self) -> tuple[sp.Symbol, ...]:
        return self.hidden_params + self.readout_params

    @property
    def title(self) -> str:
        return self.name if self.activation is None else f"{self.name} ({self.activation})"


def squared(y_t: Expr, o_t: Expr) -> Expr:
    """l(y, o) = ½ (o − y)²  (the contract's ``squared``)."""
    return sp.Rational(1, 2) * (o_t - y_t) ** 2


def generic() -> ScalarModel:
    """The textbook's simplified model with undefined f, g, l."""
    return ScalarModel(
        name="generic",
        activation=None,
        hidden_params=(w_h,),
        readout_params=(w_o,),
        recurrent_weight=w_h,
        step=lambda x_t, h_prev: f(x_t, h_prev, w_h),
        readout=lambda h_t: g(h_t, w_o),
        loss=lambda y_t, o_t: l(y_t, o_t),
    )


def linear() -> ScalarModel:
    """h_t = w_hx x_t + w_hh h_{t-1}, o_t = w_qh h_t, squared loss (E10, scalar)."""
    w_hx, w_hh, w_qh = sp.symbols("w_hx w_hh w_qh", real=True)
    return ScalarModel(
        name="linear",
        activation=None,
        hidden_params=(w_hx, w_hh),
        readout_params=(w_qh,),
        recurrent_weight=w_hh,
        step=lambda x_t, h_prev: w_hx * x_t + w_hh * h_prev,
        readout=lambda h_t: w_qh * h_t,
        loss=squared,
    )


def elman(activation: str = "tanh") -> ScalarModel:
    """h_t = φ(w_hx x_t + w_hh h_{t-1} + b_h), o_t = w_qh h_t + b_q, squared loss."""
    phi = ops.activation(activation)
    w_hx, w_hh, b_h, w_qh, b_q = sp.symbols("w_hx w_hh b_h w_qh b_q", real=True)
    return ScalarModel(
        name="elman",
        activation=activation,
        hidden_params=(w_hx, w_hh, b_h),
        readout_params=(w_qh, b_q),
        recurrent_weight=w_hh,
        step=lambda x_t, h_prev: phi(w_hx * x_t + w_hh * h_prev + b_h),
        readout=lambda h_t: w_qh * h_t + b_q,
        loss=squared,
    )


def make_model(name: str, activation: str = "tanh") -> ScalarModel:
    """The scalar model called ``name`` (one of MODELS)."""
    if name == "generic":
        return generic()
    if name == "linear":
        return linear()
    if name == "elman":
        return elman(activation)
    msg = f"unknown model {name!r}; allowed: {', '.join(MODELS)}"
    raise ValueError(msg)
