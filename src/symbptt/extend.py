"""The front door for extending symbptt, as autograd's ``extend``: a cell, an activation, a VJP rule.

A cell is its step equations in the matrix vocabulary; everything else (the
derivation, the LaTeX, the compiled code, every strategy) follows from them.
An IndRNN, ``h_t = relu(W_hx x_t + w ⊙ h_{t-1} + b_h)``::

    from symbptt import extend as ex

    def indrnn():
        W_hx, w, b_h = ex.param("W_hx", ex.h, ex.d), ex.param("w", ex.h), ex.param("b_h", ex.h)
        step = ex.activate("relu", ex.add(ex.mul(W_hx, ex.x_t), ex.hadamard(w, ex.h_prev), b_h))
        return ex.Cell("indrnn", None, (W_hx, w, b_h, ex.W_qh, ex.b_q), (ex.h_t,),
                       ((ex.h_t, step),), ex.readout())

    ex.register_cell("indrnn", indrnn)
    grad = symbptt.compile_gradient("indrnn")

A new matrix operation needs its rule: ``@ex.vjp_rule(MyOp)`` on a function
``(Y, Ȳ) -> iterator of (argument, its adjoint's contribution)``.
"""

from __future__ import annotations

from symbptt.derive.rules import VJP_RULES, vjp_rule
from symbptt.model.cells import (
    Cell,
    W_qh,
    activate,
    b_q,
    c_prev,
    c_t,
    cell_names,
    gate,
    h_prev,
    h_t,
    param,
    readout,
    register_cell,
    x_t,
)
from symbptt.model.matrices import Elementwise, add, d, h, hadamard, mul, q, seq, transpose
from symbptt.model.ops import register_activation

__all__ = [
    "VJP_RULES",
    "Cell",
    "Elementwise",
    "W_qh",
    "activate",
    "add",
    "b_q",
    "c_prev",
    "c_t",
    "cell_names",
    "d",
    "gate",
    "h",
    "h_prev",
    "h_t",
    "hadamard",
    "mul",
    "param",
    "q",
    "readout",
    "register_activation",
    "register_cell",
    "seq",
    "transpose",
    "vjp_rule",
    "x_t",
]


def __dir__() -> list[str]:
    return __all__
