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

import inspect
from collections.abc import Callable
from typing import Any

import sympy as sp

from symbptt.derive import rules
from symbptt.derive.rules import VJP_RULES
from symbptt.model import cells, ops
from symbptt.model import matrices as mx
from symbptt.model.cells import Cell, W_qh, b_q, c_prev, c_t, cell_names, h_prev, h_t, readout, x_t
from symbptt.model.matrices import Elementwise, MatExpr

# Each function checks what a user hands it, in one line, before the engine sees it: a wrong type would
from symbptt.model.symbols import d, h, q

# otherwise surface as an AttributeError deep inside SymPy.


def _matrix(value: object, function: str) -> MatExpr:
    if not isinstance(value, sp.MatrixExpr):
        msg = (f"ex.{function} takes matrix expressions (ex.param(...), ex.x_t, ex.h_prev, ...), got "
               f"{type(value).__name__} {value!r:.40}")
        raise TypeError(msg)
    return value


def _matrices(values: tuple[object, ...], function: str) -> tuple[MatExpr, ...]:
    if not values:
        msg = f"ex.{function} takes at least one matrix expression"
        raise TypeError(msg)
    return tuple(_matrix(v, function) for v in values)


def _size(value: object, name: str) -> sp.Expr:
    if isinstance(value, bool) or not isinstance(value, int | sp.Expr) or (isinstance(value, int) and value < 1):
        msg = f"{name} must be a size (ex.h, ex.d, ex.q or an integer >= 1), got {value!r}"
        raise TypeError(msg)
    return sp.sympify(value)


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.isascii() or not value.isidentifier() or len(value) > 48:
        msg = f"{what} must be a Python name (ASCII letters, digits and _, at most 48), got {value!r:.60}"
        raise ValueError(msg)
    return value


def param(name: str, rows: sp.Expr, cols: sp.Expr = 1) -> sp.MatrixSymbol:
    """A parameter ``rows × cols``; the Python name, the SymPy name and the contract's name are one string."""
    return cells.param(_name(name, "a parameter's name"), _size(rows, "rows"), _size(cols, "cols"))


def seq(name: str, rows: sp.Expr, offset: int = 0) -> mx.Seq:
    """``name_{t+offset}``, a column of ``rows`` entries: ``offset`` 0 (this step) or -1 (the previous one)."""
    if offset not in (0, -1) or isinstance(offset, bool):
        msg = f"offset must be 0 (this step) or -1 (the previous one), got {offset!r}"
        raise ValueError(msg)
    return mx.seq(_name(name, "a quantity's name"), _size(rows, "rows"), offset)


def add(*terms: MatExpr, shape: tuple[sp.Expr, sp.Expr] | None = None) -> MatExpr:
    """The sum of matrix expressions of one shape."""
    return mx.add(*_matrices(terms, "add"), shape=shape)


def mul(*factors: Any) -> Any:
    """The matrix product; numbers scale it."""
    if not any(isinstance(f, sp.MatrixExpr) for f in factors):
        _matrices((), "mul")
    for f in factors:
        if not isinstance(f, int | float | sp.Number) or isinstance(f, bool):
            _matrix(f, "mul")
    return mx.mul(*factors)


def hadamard(*factors: MatExpr) -> MatExpr:
    """The entrywise product ⊙ of matrix expressions of one shape."""
    return mx.hadamard(*_matrices(factors, "hadamard"))


def transpose(expr: MatExpr) -> MatExpr:
    """Aᵀ."""
    return mx.transpose(_matrix(expr, "transpose"))


def activate(name: str, expr: MatExpr) -> MatExpr:
    """The activation ``name`` (tanh, sigmoid, relu, identity, or one registered) applied entrywise."""
    return cells.activate(name, _matrix(expr, "activate"))


def gate(W_x: sp.MatrixSymbol, W_h: sp.MatrixSymbol, b: sp.MatrixSymbol, phi: sp.Lambda = cells.sigma,
         h_in: MatExpr = h_prev) -> MatExpr:
    """Γ = φ(W_x x_t + W_h h_{t-1} + b)  (E18, the cheatsheet's gate)."""
    for value in (W_x, W_h, b, h_in):
        _matrix(value, "gate")
    if not isinstance(phi, sp.Lambda):
        msg = f"phi must be a sympy.Lambda of one variable (the default is sigma), got {type(phi).__name__}"
        raise TypeError(msg)
    return cells.gate(W_x, W_h, b, phi, h_in)


def register_activation(name: str, function: Callable[[sp.Expr], sp.Expr]) -> None:
    """Make ``function`` (of one SymPy expression) the activation ``name``; its derivative is SymPy's."""
    if not callable(function):
        msg = f"an activation must be a function of one SymPy expression, got {type(function).__name__}"
        raise TypeError(msg)
    ops.register_activation(_name(name, "an activation's name"), function)


def register_cell(name: str, build: Callable[..., Cell], *, activation: bool = False) -> None:
    """Make ``build()`` (or ``build(activation)``) the cell ``name`` everywhere: API, CLI, derivations."""
    if not callable(build):
        msg = f"build must be a function that returns a Cell, got {type(build).__name__}"
        raise TypeError(msg)
    cells.register_cell(cells.check_name(name), build, activation=activation)


def vjp_rule(op: type) -> Callable[[rules.Rule], rules.Rule]:
    """``@vjp_rule(Op)`` on ``(Y, Ȳ) -> iterator of (argument, its adjoint's contribution)``, for a new operation."""
    if not inspect.isclass(op) or not issubclass(op, sp.Basic):
        msg = f"vjp_rule takes the class of a SymPy matrix operation, got {op!r:.40}"
        raise TypeError(msg)
    return rules.vjp_rule(op)


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
