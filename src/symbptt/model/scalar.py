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

from symbptt.errors import NotSupportedError
from symbptt.model import cells, symbols
from symbptt.model import matrices as mx

Expr: TypeAlias = sp.Expr

# The time-indexed quantities. One object each, used for explicit and symbolic t.
x, y, h, o, l_node = (sp.IndexedBase(name) for name in ("x", "y", "h", "o", "l"))
i, j = sp.symbols("i j", integer=True, positive=True)
L = sp.Symbol("L")

# The generic model's undefined functions and parameters (the textbook's names).
f, g, l = sp.Function("f"), sp.Function("g"), sp.Function("l")
w_h, w_o = sp.symbols("w_h w_o", real=True)



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
    # (x_t, h_{t-1}) -> the cell's named intermediate values (gates), in step order, for display
    gates: Callable[[Expr, Expr], tuple[tuple[str, Expr], ...]] | None = None

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


def view(cell: cells.Cell) -> ScalarModel:
    """The size-1 view of a matrix cell (d = h = q = 1), with the contract's names: the textbook's scalar model.

    Every matrix operation becomes its scalar one (products, Hadamard
    products and transposes are products; an elementwise function is the
    function), and the cell's named steps are composed into one ``f``. The
    squared loss is the contract's ``½ (o − y)²``.
    """
    if len(cell.state) != 1:
        names = ", ".join(s.name for s in cell.state)
        msg = f"the scalar analysis (E1-E9) needs the state h alone; the {cell.name} cell has ({names})"
        raise NotSupportedError(msg)
    (h_t,) = cell.state
    symbol = {W: sp.Symbol(W.name, real=True) for W in cell.params}
    hidden = tuple(symbol[W] for W in cell.params if W not in cell.readout_params)
    recurrent = symbol[cells.recurrent_weight(cell)]

    def values(x_t: Expr, h_prev: Expr) -> dict[sp.Basic, Expr]:
        env: dict[sp.Basic, Expr] = {cells.x_t: x_t, h_t.at(symbols.t - 1): h_prev, **symbol}
        for node, value in cell.steps:
            env[node] = scalar_of(value, env)
        return env

    def step(x_t: Expr, h_prev: Expr) -> Expr:
        return values(x_t, h_prev)[h_t]

    def gates(x_t: Expr, h_prev: Expr) -> tuple[tuple[str, Expr], ...]:
        env = values(x_t, h_prev)
        return tuple((node.name, env[node]) for node, _ in cell.steps if node != h_t)

    return ScalarModel(
        name=cell.name,
        activation=cell.activation,
        hidden_params=hidden,
        readout_params=tuple(symbol[W] for W in cell.readout_params),
        recurrent_weight=recurrent,
        step=step,
        readout=lambda h_value: scalar_of(cell.readout, {h_t: h_value, **symbol}),
        loss=squared,
        gates=gates if len(cell.steps) > 1 else None,
    )


def scalar_of(expr: sp.Basic, env: dict[sp.Basic, Expr]) -> Expr:
    """A matrix expression at size 1, its leaves replaced by ``env``."""
    if expr in env:
        return env[expr]
    if isinstance(expr, sp.MatMul):
        coeff, factors = expr.as_coeff_matrices()
        return coeff * sp.Mul(*(scalar_of(f, env) for f in factors))
    if isinstance(expr, sp.MatAdd):
        return sp.Add(*(scalar_of(a, env) for a in expr.args))
    if isinstance(expr, sp.HadamardProduct):
        return sp.Mul(*(scalar_of(a, env) for a in expr.args))
    if isinstance(expr, sp.Transpose):
        return scalar_of(expr.arg, env)
    if isinstance(expr, sp.OneMatrix | sp.Identity):
        return sp.S.One
    if isinstance(expr, sp.ZeroMatrix):
        return sp.S.Zero
    if isinstance(expr, mx.Elementwise):
        return expr.function(scalar_of(expr.arg, env))
    msg = f"no scalar view of {type(expr).__name__} ({expr})"
    raise NotSupportedError(msg)


def checked_model(model: object) -> ScalarModel:
    """A scalar model, or one by name (``make_model``); anything else is a one-line TypeError."""
    if isinstance(model, str):
        return make_model(model)
    if not isinstance(model, ScalarModel):
        msg = f"model must be a ScalarModel (symbptt.make_model(name)) or a model's name, got {type(model).__name__}"
        raise TypeError(msg)
    return model


def make_model(name: str, activation: str = "tanh") -> ScalarModel:
    """The scalar model called ``name``: ``generic`` (undefined f, g, l) or the size-1 view of a cell."""
    if name == "generic":
        return generic()
    return view(cells.make_cell(name, activation))
