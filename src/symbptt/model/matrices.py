"""The matrix vocabulary of the matrix-level derivation, on SymPy objects.

Sizes are symbols (``W_hh`` is ``h×h`` for any ``h``), so one derivation
serves every size. The math is written per sample with column vectors, as the
textbook does (``x_t ∈ R^d``); the compiled code runs it on a batch, summing
over the samples wherever a per-sample quantity flows into a parameter.

Leaves
    parameters are :class:`sympy.MatrixSymbol` (``W_hh``, ``b_h``);
    time-indexed quantities are :class:`Seq` (``x_t``, ``h_{t-1}``, ``r_t``);
    ``∂L/∂v`` is :class:`Adjoint` (of a :class:`Seq`) or :class:`ParamAdjoint`;
    :class:`Carry` is the part of ``∂L/∂s_t`` that arrives from step ``t+1``.
Operations
    SymPy's ``MatMul``, ``MatAdd``, ``Transpose``, ``HadamardProduct``, and
    :class:`Elementwise` (a scalar function applied entrywise),
    and the losses' own (:mod:`symbptt.model.losses`).

The constructors :func:`mul`, :func:`add`, :func:`hadamard`,
:func:`transpose` and :func:`elementwise` drop zeros and ones so that derived
expressions stay as small as the textbook's.
"""

from __future__ import annotations

import functools
import operator
from typing import Any, TypeAlias

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.matexpr import MatrixExpr

from symbptt.model.symbols import t

Expr: TypeAlias = sp.Expr
MatExpr: TypeAlias = MatrixExpr

z = sp.Dummy("z")  # the argument of an elementwise function's Lambda


# ------------------------------------------------------------------ leaves


class Seq(MatrixExpr):
    """A time-indexed matrix ``name_time`` of shape ``rows × cols`` (``h_{t-1}``, ``x_t``)."""

    is_commutative = False
    is_symbol = True

    def __new__(cls, name: str | Str, time: object, rows: object, cols: object = 1) -> Seq:
        name = Str(name) if isinstance(name, str) else name
        return MatrixExpr.__new__(cls, name, sp.sympify(time), sp.sympify(rows), sp.sympify(cols))

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def time(self) -> Expr:
        return self.args[1]

    @property
    def shape(self) -> tuple[Expr, Expr]:
        return self.args[2], self.args[3]

    @property
    def free_symbols(self) -> set[sp.Basic]:
        return set(self.time.free_symbols)

    def at(self, time: object) -> Seq:
        """The same quantity at another time step."""
        return type(self)(self.args[0], time, *self.shape)

    @property
    def offset(self) -> int:
        """k in ``name_{t+k}``."""
        return int(self.time - t)

    def _entry(self, i: object, j: object, **kwargs: object) -> Expr:
        return sp.Indexed(self.name, self.time, i, j)


class Adjoint(Seq):
    """∂L/∂v for the time-indexed quantity ``v`` with the same name and time."""


class Carry(Seq):
    """The part of ∂L/∂s_t that reaches the state ``s_t`` through step ``t + 1``."""


class ParamAdjoint(sp.MatrixSymbol):
    """∂L/∂W for the parameter ``W`` of the same name and shape."""


class StepAdjoint(Seq):
    """∂L/∂W|_(t): the derivative by the copy of the parameter ``W`` (same name and shape) that step ``t`` uses,
    were each step given its own (E17)."""


def seq(name: str, rows: Expr, offset: int = 0) -> Seq:
    """``name_{t+offset}``, a column of ``rows`` entries."""
    return Seq(name, t + offset, rows, 1)


def adjoint(node: Seq | sp.MatrixSymbol) -> MatExpr:
    """The symbol ∂L/∂node."""
    if isinstance(node, Seq):
        return Adjoint(node.args[0], node.time, *node.shape)
    return ParamAdjoint(node.name, *node.shape)


def carry(node: Seq) -> Carry:
    return Carry(node.args[0], node.time, *node.shape)


def of(leaf: Seq) -> Seq:
    """The quantity an Adjoint or Carry refers to."""
    return Seq(leaf.args[0], leaf.time, *leaf.shape)


# ------------------------------------------------------------------ operations


class Operation(MatrixExpr):
    """A matrix operation of the vocabulary: its arguments are its SymPy args."""

    is_commutative = False

    def __new__(cls, *args: MatExpr) -> Operation:
        return MatrixExpr.__new__(cls, *args)

    @property
    def arg(self) -> MatExpr:
        return self.args[-1]


class Elementwise(Operation):
    """A scalar function (a ``Lambda``) applied to every entry: ``tanh(A)``, ``σ(A)``."""

    @property
    def function(self) -> sp.Lambda:
        return self.args[0]

    @property
    def shape(self) -> tuple[Expr, Expr]:
        return self.arg.shape

    def _eval_transpose(self) -> MatExpr:
        return Elementwise(self.function, transpose(self.arg))

    def _entry(self, i: object, j: object, **kwargs: object) -> Expr:
        return self.function(self.arg._entry(i, j, **kwargs))


# ------------------------------------------------------------------ constructors


def is_zero(expr: object) -> bool:
    return expr == 0 or isinstance(expr, sp.ZeroMatrix)


def is_matrix(expr: object) -> bool:
    return isinstance(expr, MatrixExpr)


def zeros(rows: Expr, cols: Expr) -> sp.ZeroMatrix:
    return sp.ZeroMatrix(rows, cols)


def mul(*factors: Any) -> Any:
    """The product of scalars and matrices, in order, flattened; 0 if any factor is zero."""
    flat: list[Any] = []
    for f in factors:
        if isinstance(f, sp.MatMul):
            coeff, inner = f.as_coeff_matrices()
            flat += [coeff, *inner]
        else:
            flat.append(f)
    matrices = [f for f in flat if is_matrix(f)]
    scalar = functools.reduce(operator.mul, (sp.sympify(f) for f in flat if not is_matrix(f)), sp.S.One)
    if not matrices:
        return scalar
    shape = (matrices[0].shape[0], matrices[-1].shape[1])
    if scalar == 0 or any(is_zero(m) for m in matrices):
        return zeros(*shape)
    matrices = [m for m in matrices if not isinstance(m, sp.Identity)] or matrices[:1]
    if scalar == 1 and len(matrices) == 1:
        return matrices[0]
    return sp.MatMul(*([scalar] if scalar != 1 else []), *matrices)


def add(*terms: MatExpr, shape: tuple[Expr, Expr] | None = None) -> MatExpr:
    """The sum of matrices, zeros dropped and like terms collected (``X + X = 2X``).

    Terms keep the order they are given in (SymPy's ``MatAdd.doit`` would
    also rewrite inside them, and so lose the names of forward values).
    """
    flat = [part for term in terms for part in (term.args if isinstance(term, sp.MatAdd) else (term,))]
    coefficients: dict[MatExpr, Expr] = {}
    for term in flat:
        if is_zero(term):
            continue
        coeff, matrix = split_coefficient(term)
        coefficients[matrix] = coefficients.get(matrix, sp.S.Zero) + coeff
    kept = [mul(coeff, matrix) for matrix, coeff in coefficients.items() if coeff != 0]
    if not kept:
        return zeros(*(shape or terms[0].shape))
    if len(kept) == 1:
        return kept[0]
    return sp.MatAdd(*kept)


def split_coefficient(term: MatExpr) -> tuple[Expr, MatExpr]:
    """c A ↦ (c, A) for a scalar c."""
    if isinstance(term, sp.MatMul):
        coeff, matrices = term.as_coeff_matrices()
        return coeff, mul(*matrices)
    return sp.S.One, term


def hadamard(*factors: MatExpr) -> MatExpr:
    """The entrywise product ⊙; factors of ones (c·1: the scalar c) dropped, zero if a factor is zero."""
    if any(is_zero(f) for f in factors):
        return zeros(*factors[0].shape)
    parts = [split_coefficient(f) for f in factors]
    scalar = functools.reduce(operator.mul, (c for c, m in parts if isinstance(m, sp.OneMatrix)), sp.S.One)
    kept = [f for f, (_, m) in zip(factors, parts, strict=True) if not isinstance(m, sp.OneMatrix)]
    if not kept:
        return mul(scalar, sp.OneMatrix(*factors[0].shape))
    product = kept[0] if len(kept) == 1 else sp.HadamardProduct(*kept)
    return mul(scalar, product)


def transpose(expr: MatExpr) -> MatExpr:
    """Aᵀ, pushed through products and sums ((AB)ᵀ = BᵀAᵀ) as the textbook writes it."""
    if is_zero(expr):
        return zeros(expr.shape[1], expr.shape[0])
    if isinstance(expr, sp.Transpose):
        return expr.arg
    if isinstance(expr, sp.MatMul):
        coeff, matrices = expr.as_coeff_matrices()
        return mul(coeff, *(transpose(m) for m in reversed(matrices)))
    if isinstance(expr, sp.MatAdd):
        return add(*(transpose(term) for term in expr.args))
    if isinstance(expr, sp.HadamardProduct):
        return hadamard(*(transpose(f) for f in expr.args))
    if isinstance(expr, sp.OneMatrix):
        return sp.OneMatrix(expr.shape[1], expr.shape[0])
    return sp.Transpose(expr)


def ones_like(expr: MatExpr) -> sp.OneMatrix:
    return sp.OneMatrix(*expr.shape)


def elementwise(function: sp.Lambda, arg: MatExpr) -> MatExpr:
    """``function`` applied to each entry of ``arg``; the identity is not written."""
    if function.expr == function.variables[0]:
        return arg
    return Elementwise(function, arg)


def scalar_function(function: sp.Lambda | type) -> sp.Lambda:
    """A SymPy function (``sp.tanh``) or Lambda as a Lambda of one variable."""
    if isinstance(function, sp.Lambda):
        return function
    return sp.Lambda(z, function(z))


def rebuild(expr: Any) -> Any:
    """The expression rebuilt through the constructors of :mod:`matrices`, so zeros vanish."""
    if not is_matrix(expr) or isinstance(expr, (Seq, sp.MatrixSymbol)) or not expr.args:
        return expr
    args = [rebuild(a) for a in expr.args]
    if isinstance(expr, sp.MatMul):
        return mul(*args)
    if isinstance(expr, sp.MatAdd):
        return add(*args, shape=expr.shape)
    if isinstance(expr, sp.HadamardProduct):
        return hadamard(*args)
    if isinstance(expr, sp.Transpose):
        return transpose(args[0])
    if isinstance(expr, sp.HadamardPower) and is_zero(args[0]):
        return args[0]
    return expr.func(*args)
