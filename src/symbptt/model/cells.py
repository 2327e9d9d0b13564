"""The contract's cells and losses, each written once as symbolic step equations.

A cell is the ordered list of its named quantities at step ``t`` (gates, then
the new state), in terms of ``x_t``, the previous state and the parameters.
Every cell reads out ``o_t = W_qh h_t + b_q`` (``linear``: ``o_t = W_qh h_t``).
There is no derivative code here: every gradient comes from the rules in
:mod:`symbptt.rules`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from symbptt.model import matrices as mx
from symbptt.model import ops
from symbptt.model.matrices import MatExpr, Seq, d, h, q

CELLS = ("linear", "elman", "gru", "lstm")
LOSSES = ("squared", "cross_entropy")


@dataclass(frozen=True)
class Cell:
    """h_t = f(x_t, s_{t-1}, θ) as named step equations, and the readout o_t = g(h_t, θ_o)."""

    name: str
    activation: str | None  # elman only
    params: tuple[sp.MatrixSymbol, ...]  # in the contract's order
    state: tuple[Seq, ...]  # s_t: (h_t,) or (h_t, c_t)
    steps: tuple[tuple[Seq, MatExpr], ...]  # (node, definition) in order; ends with the state
    readout: MatExpr  # o_t

    @property
    def title(self) -> str:
        return self.name if self.activation is None else f"{self.name} ({self.activation})"

    @property
    def previous_state(self) -> tuple[Seq, ...]:
        return tuple(s.at(mx.t - 1) for s in self.state)

    @property
    def readout_params(self) -> tuple[sp.MatrixSymbol, ...]:
        """The parameters of the readout o_t = g(h_t, θ_o), read off its expression."""
        used = self.readout.atoms(sp.MatrixSymbol)
        return tuple(p for p in self.params if p in used)

    def param(self, name: str) -> sp.MatrixSymbol:
        return next(p for p in self.params if p.name == name)


def param(name: str, rows: sp.Expr, cols: sp.Expr = 1) -> sp.MatrixSymbol:
    """A parameter; the Python name, the SymPy name and the contract's name are one string."""
    return sp.MatrixSymbol(name, rows, cols)


x_t, h_t, h_prev = mx.seq("x", d), mx.seq("h", h), mx.seq("h", h, -1)
c_t, c_prev = mx.seq("c", h), mx.seq("c", h, -1)
o_t = mx.seq("o", q)
W_qh, b_q = param("W_qh", q, h), param("b_q", q)

sigma = mx.scalar_function(ops.sigmoid)
tanh = mx.scalar_function(sp.tanh)


def gate(W_x: sp.MatrixSymbol, W_h: sp.MatrixSymbol, b: sp.MatrixSymbol, phi: sp.Lambda = sigma,
         h_in: MatExpr = h_prev) -> MatExpr:
    """Γ = φ(W_x x_t + W_h h_{t-1} + b)  (E18, the cheatsheet's gate)."""
    return mx.elementwise(phi, mx.add(mx.mul(W_x, x_t), mx.mul(W_h, h_in), b))


def linear() -> Cell:
    """h_t = W_hx x_t + W_hh h_{t-1}, o_t = W_qh h_t  (E10)."""
    W_hx, W_hh = param("W_hx", h, d), param("W_hh", h, h)
    step = mx.add(mx.mul(W_hx, x_t), mx.mul(W_hh, h_prev))
    return Cell("linear", None, (W_hx, W_hh, W_qh), (h_t,), ((h_t, step),), mx.mul(W_qh, h_t))


def elman(activation: str = "tanh") -> Cell:
    """h_t = φ(W_hx x_t + W_hh h_{t-1} + b_h), o_t = W_qh h_t + b_q."""
    phi = mx.scalar_function(ops.activation(activation))
    W_hx, W_hh, b_h = param("W_hx", h, d), param("W_hh", h, h), param("b_h", h)
    return Cell("elman", activation, (W_hx, W_hh, b_h, W_qh, b_q), (h_t,),
                ((h_t, gate(W_hx, W_hh, b_h, phi)),), _readout())


def gru() -> Cell:
    """Reset and update gates, candidate state, and h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ h̃_t."""
    W_xr, W_hr, b_r = param("W_xr", h, d), param("W_hr", h, h), param("b_r", h)
    W_xz, W_hz, b_z = param("W_xz", h, d), param("W_hz", h, h), param("b_z", h)
    W_xh, W_hh, b_h = param("W_xh", h, d), param("W_hh", h, h), param("b_h", h)
    r_t, z_t, htilde_t = mx.seq("r", h), mx.seq("z", h), mx.seq("htilde", h)
    steps = (
        (r_t, gate(W_xr, W_hr, b_r)),
        (z_t, gate(W_xz, W_hz, b_z)),
        (htilde_t, gate(W_xh, W_hh, b_h, tanh, h_in=mx.hadamard(r_t, h_prev))),
        (h_t, mx.add(mx.hadamard(z_t, h_prev),
                     mx.hadamard(mx.add(mx.ones_like(z_t), mx.mul(-1, z_t)), htilde_t))),
    )
    params = (W_xr, W_hr, b_r, W_xz, W_hz, b_z, W_xh, W_hh, b_h, W_qh, b_q)
    return Cell("gru", None, params, (h_t,), steps, _readout())


def lstm() -> Cell:
    """Input, forget and output gates, candidate cell, c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t, h_t = g_t ⊙ tanh(c_t)."""
    W_xi, W_hi, b_i = param("W_xi", h, d), param("W_hi", h, h), param("b_i", h)
    W_xf, W_hf, b_f = param("W_xf", h, d), param("W_hf", h, h), param("b_f", h)
    W_xo, W_ho, b_o = param("W_xo", h, d), param("W_ho", h, h), param("b_o", h)
    W_xc, W_hc, b_c = param("W_xc", h, d), param("W_hc", h, h), param("b_c", h)
    i_t, f_t, g_t, ctilde_t = mx.seq("i", h), mx.seq("f", h), mx.seq("g", h), mx.seq("ctilde", h)
    steps = (
        (i_t, gate(W_xi, W_hi, b_i)),
        (f_t, gate(W_xf, W_hf, b_f)),
        (g_t, gate(W_xo, W_ho, b_o)),
        (ctilde_t, gate(W_xc, W_hc, b_c, tanh)),
        (c_t, mx.add(mx.hadamard(f_t, c_prev), mx.hadamard(i_t, ctilde_t))),
        (h_t, mx.hadamard(g_t, mx.elementwise(tanh, c_t))),
    )
    params = (W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_qh, b_q)
    return Cell("lstm", None, params, (h_t, c_t), steps, _readout())


def _readout() -> MatExpr:
    return mx.add(mx.mul(W_qh, h_t), b_q)


_BUILDERS: dict[str, Callable[[], Cell]] = {"linear": linear, "gru": gru, "lstm": lstm}


def make_cell(name: str, activation: str = "tanh") -> Cell:
    """The cell called ``name`` (one of CELLS); ``activation`` applies to ``elman`` only."""
    if name == "elman":
        return elman(activation)
    if name not in _BUILDERS:
        msg = f"unknown cell {name!r}; allowed: {', '.join(CELLS)}"
        raise ValueError(msg)
    if activation != "tanh":
        ops.activation(activation)  # an unknown name is reported as such first
        msg = f"activation {activation!r} applies to the elman cell only; {name} has none to choose"
        raise ValueError(msg)
    return _BUILDERS[name]()


# ------------------------------------------------------------------ losses


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
