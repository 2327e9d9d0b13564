"""Scalar rules as matrix operations: an activation's derivative, written on its forward value.

``1 − tanh(z)²`` at a matrix ``A`` is ``1 − tanh(A) ⊙ tanh(A)``: sums become
matrix sums, products Hadamard products, function applications
:class:`~symbptt.model.matrices.Elementwise`, so the forward value stays
visible and the derivation can name it (``1 − h_t ⊙ h_t``).
"""

from __future__ import annotations

import sympy as sp

from symbptt.model import matrices as mx
from symbptt.model.matrices import Expr, MatExpr


def lift(scalar: Expr, variable: sp.Symbol, arg: MatExpr) -> MatExpr:
    """The scalar expression ``scalar(variable)`` applied entrywise to ``arg``, as matrix operations.

    Sums become matrix sums, products Hadamard products and function
    applications :class:`Elementwise`, so ``1 − tanh(z)²`` at ``A`` is
    ``1 − tanh(A) ⊙ tanh(A)``: the forward value ``tanh(A)`` stays visible and
    can be replaced by the name of the node that holds it.
    """
    if scalar == variable:
        return arg
    if scalar.is_number:
        return mx.mul(scalar, mx.ones_like(arg)) if scalar != 0 else mx.zeros(*arg.shape)
    if isinstance(scalar, sp.Add):
        return mx.add(*(lift(term, variable, arg) for term in scalar.args))
    if isinstance(scalar, sp.Mul):
        coeff, factors = scalar.as_coeff_mul()
        return mx.mul(coeff, mx.hadamard(*(lift(f, variable, arg) for f in factors)))
    if isinstance(scalar, sp.Pow) and scalar.exp.is_Integer and scalar.exp > 0:
        base = lift(scalar.base, variable, arg)
        return mx.hadamard(*([base] * int(scalar.exp)))
    if isinstance(scalar, sp.Pow) and scalar.exp.is_number:  # 1/z of log' and the like: entrywise
        return mx.elementwise(sp.Lambda(mx.z, mx.z**scalar.exp), lift(scalar.base, variable, arg))
    if isinstance(scalar, sp.Function) and scalar.has(variable):
        inner = [a for a in scalar.args if a.has(variable)]
        if len(inner) == 1:
            rest = tuple(a if not a.has(variable) else mx.z for a in scalar.args)
            return mx.elementwise(sp.Lambda(mx.z, scalar.func(*rest)), lift(inner[0], variable, arg))
    msg = f"cannot apply {scalar} entrywise"
    raise NotImplementedError(msg)


def derivative(function: sp.Lambda, arg: MatExpr) -> MatExpr:
    """φ'(A) entrywise, from the scalar rule of φ (its ``fdiff``), lifted to matrices."""
    (variable,) = function.variables
    return lift(sp.diff(function.expr, variable), variable, arg)
