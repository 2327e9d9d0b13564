"""One vector–Jacobian-product rule per matrix operation, and reverse mode over an expression.

A rule takes the expression ``Y`` and its adjoint ``Ȳ`` and returns, for each
argument ``A``, the contribution to ``Ā``. Every derivative in the matrix
engine comes from these rules; the rules are the only derivative code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeAlias

import sympy as sp

from symbptt.errors import NotSupportedError
from symbptt.model import lift, losses
from symbptt.model import matrices as mx
from symbptt.model.matrices import MatExpr

Rule: TypeAlias = Callable[[MatExpr, MatExpr], Iterator[tuple[MatExpr, MatExpr]]]
VJP_RULES: dict[type, Rule] = {}


def vjp_rule(op: type) -> Callable[[Rule], Rule]:
    def register(rule: Rule) -> Rule:
        VJP_RULES[op] = rule
        return rule

    return register


# ------------------------------------------------------------------ the rules


@vjp_rule(sp.MatMul)
def matmul(Y: sp.MatMul, Y_bar: MatExpr) -> Iterator[tuple[MatExpr, MatExpr]]:
    """Y = c A_1 ⋯ A_n  ⇒  Ā_k += c (A_1 ⋯ A_{k-1})ᵀ Ȳ (A_{k+1} ⋯ A_n)ᵀ."""
    coeff, factors = Y.as_coeff_matrices()
    for k, A_k in enumerate(factors):
        left = [mx.transpose(A) for A in reversed(factors[:k])]
        right = [mx.transpose(A) for A in reversed(factors[k + 1:])]
        yield A_k, mx.mul(coeff, *left, Y_bar, *right)


@vjp_rule(sp.MatAdd)
def matadd(Y: sp.MatAdd, Y_bar: MatExpr) -> Iterator[tuple[MatExpr, MatExpr]]:
    """Y = A_1 + ⋯ + A_n  ⇒  Ā_k += Ȳ."""
    for A_k in Y.args:
        yield A_k, Y_bar


@vjp_rule(sp.Transpose)
def transpose(Y: sp.Transpose, Y_bar: MatExpr) -> Iterator[tuple[MatExpr, MatExpr]]:
    """Y = Aᵀ  ⇒  Ā += Ȳᵀ."""
    yield Y.arg, mx.transpose(Y_bar)


@vjp_rule(sp.HadamardProduct)
def hadamard(Y: sp.HadamardProduct, Y_bar: MatExpr) -> Iterator[tuple[MatExpr, MatExpr]]:
    """Y = A_1 ⊙ ⋯ ⊙ A_n  ⇒  Ā_k += Ȳ ⊙ Π_{j≠k} A_j."""
    for k, A_k in enumerate(Y.args):
        yield A_k, mx.hadamard(Y_bar, *Y.args[:k], *Y.args[k + 1:])


@vjp_rule(mx.Elementwise)
def elementwise(Y: mx.Elementwise, Y_bar: MatExpr) -> Iterator[tuple[MatExpr, MatExpr]]:
    """Y = φ(A)  ⇒  Ā += φ'(A) ⊙ Ȳ, with φ' from φ's own scalar rule."""
    yield Y.arg, mx.hadamard(Y_bar, lift.derivative(Y.function, Y.arg))


@vjp_rule(losses.LogSumExp)
def logsumexp(Y: losses.LogSumExp, Y_bar: MatExpr) -> Iterator[tuple[MatExpr, MatExpr]]:
    """y = log Σ_i exp(a_i)  ⇒  ā += softmax(a) ȳ."""
    yield Y.arg, mx.mul(losses.Softmax(Y.arg), Y_bar)


@vjp_rule(losses.SumEntries)
def sum_entries(Y: losses.SumEntries, Y_bar: MatExpr) -> Iterator[tuple[MatExpr, MatExpr]]:
    """y = 1ᵀa  ⇒  ā += 1 ȳ."""
    yield Y.arg, mx.mul(sp.OneMatrix(*Y.arg.shape), Y_bar)


@vjp_rule(losses.LossValue)
def loss_value(Y: losses.LossValue, Y_bar: MatExpr) -> Iterator[tuple[MatExpr, MatExpr]]:
    """y = l(o, y_t) undefined  ⇒  ō += ∂l/∂o ȳ (kept as the symbol ∂l(o_t, y_t)/∂o_t)."""
    yield Y.args[0], mx.mul(losses.LossGradient(*Y.args), Y_bar)


# ------------------------------------------------------------------ reverse mode


LEAVES = (mx.Seq, sp.MatrixSymbol)
CONSTANTS = (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)


def backprop(expr: MatExpr, adjoint: MatExpr) -> Iterator[tuple[MatExpr, MatExpr]]:
    """(leaf, contribution to ∂L/∂leaf) for every leaf of ``expr``, given ∂L/∂expr = ``adjoint``."""
    if mx.is_zero(adjoint) or isinstance(expr, CONSTANTS):
        return
    if isinstance(expr, LEAVES):
        yield expr, adjoint
        return
    rule = VJP_RULES.get(type(expr))
    if rule is None:
        known = ", ".join(sorted(op.__name__ for op in VJP_RULES))
        msg = f"no VJP rule for {type(expr).__name__} in {expr}; known: {known}"
        raise NotSupportedError(msg)
    for arg, contribution in rule(expr, adjoint):
        yield from backprop(arg, contribution)
