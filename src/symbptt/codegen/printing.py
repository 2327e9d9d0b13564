"""Printers: scalar SymPy expressions, matrix expressions in the batched row layout, and integer indices.

The math is per sample with column vectors; the code keeps a batch of samples
on a leading axis, so a column ``v ∈ R^n`` is an array ``(…, B, n)``. The
:class:`RowPrinter` prints each matrix expression in that layout: ``W v`` is
``v @ W.T``, a per-sample outer product ``u vᵀ`` that lands in a parameter is
the sum over samples (and over time steps, when stacked) ``_flat(u).T @ _flat(v)``.
Every name comes from the caller (``name(leaf)``): the printer invents none.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import PythonCodePrinter

from symbptt.codegen.dialects import NUMPY, Dialect
from symbptt.errors import NotSupportedError
from symbptt.model import losses
from symbptt.model import matrices as mx
from symbptt.model.matrices import MatExpr, Seq

ADD, MUL, ATOM = 1, 2, 3  # precedence of printed code


class Verbatim(sp.Symbol):
    """A symbol that prints as the code it is named by (an already printed operand)."""


class BpttNumPyPrinter(NumPyPrinter):
    """NumPyPrinter that knows sigmoid, relu, Heaviside(z, 0) and already printed operands.

    ``dialect`` names the array namespace (``numpy``, ``xp`` for the array API,
    ``math`` for floats) and how it spells relu, H(z, 0) and softplus.
    """

    def __init__(self, dialect: Dialect = NUMPY) -> None:
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})
        self.dialect = dialect
        self._module = dialect.module
        known: dict[str, str] = self.known_functions  # type: ignore[has-type]
        self.known_functions = {k: v.replace("numpy.", f"{dialect.module}.") for k, v in known.items()}
        self.known_functions.update(dialect.functions)

    def _function(self, name: str) -> str:
        return self.known_functions[name]

    def _print_Verbatim(self, expr: Verbatim) -> str:
        return expr.name

    def _print_sigmoid(self, expr: sp.Function) -> str:
        # σ(z) = (1 + tanh(z/2)) / 2: one transcendental, no overflow for large |z|
        z = self._print(expr.args[0])
        if "sigmoid" in self.known_functions:  # a kernel of its own (Numba): one pass, not three
            return f"{self._function('sigmoid')}({z})"
        return f"(0.5 + 0.5 * {self._function('tanh')}(0.5 * ({z})))"

    def _print_softplus(self, expr: sp.Function) -> str:
        # log(1 + e^z) as logaddexp(0, z): no overflow for large z
        return self.dialect.forms["softplus"].format(self._print(expr.args[0]))

    def _print_relu(self, expr: sp.Function) -> str:
        return self.dialect.forms["relu"].format(self._print(expr.args[0]))

    def _print_Heaviside(self, expr: sp.Heaviside) -> str:
        value = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        if value != 0:  # every derived Heaviside is H(z, 0): relu'(0) = 0 (the contract)
            msg = f"cannot compile {expr}: only Heaviside(z, 0), relu's derivative, is compiled"
            raise NotSupportedError(msg)
        return self.dialect.forms["step"].format(self._print(expr.args[0]))


class IndexPrinter(PythonCodePrinter):
    """Integer arithmetic on time indices in plain Python: ``⌊a/b⌋`` is ``a // b``, never a float."""

    def __init__(self, names: dict[sp.Symbol, str]) -> None:
        super().__init__({"fully_qualified_modules": False})
        self.names = names

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self.names.get(expr, expr.name)

    def _print_floor(self, expr: sp.floor) -> str:
        num, den = sp.fraction(sp.together(expr.args[0]))
        return f"(({self._print(num)}) // ({self._print(den)}))"

    def _print_ceiling(self, expr: sp.ceiling) -> str:
        num, den = sp.fraction(sp.together(expr.args[0]))
        return f"(-(-({self._print(num)}) // ({self._print(den)})))"

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        # arrays over time are stored from t = 1 at index 0
        (index,) = expr.indices
        return f"{self._print(expr.base.label)}[{self._print(index - 1)}]"

    def _print_Max(self, expr: sp.Max) -> str:
        return f"max({', '.join(self._print(a) for a in expr.args)})"


class Kind(enum.StrEnum):
    """What printed code holds, which decides how a product of it is written."""

    PARAM = "param"  # a parameter (a matrix or a bias)
    COL = "col"  # a column per sample: a stack of rows (B, n)
    ROW = "row"  # its transpose
    SCAL = "scal"  # 1 × 1 per sample
    CONST = "const"  # a number


@dataclass(frozen=True)
class Code:
    """Printed code, what it holds (see RowPrinter) and its precedence.

    ``product`` is set for a stacked product ``_matmul(stack, matrix)``: its two
    operands, so that a caller can have it written into a buffer (``out=``).
    """

    text: str
    kind: Kind
    level: int
    negated: Code | None = None  # for "-a": the code of a
    product: tuple[str, str] | None = None

    def at(self, level: int) -> str:
        return self.text if self.level >= level else f"({self.text})"


class RowPrinter:
    """Matrix expressions as NumPy code with the batch (and time) on leading axes."""

    def __init__(self, name: Callable[[MatExpr], str], stacked: bool, scalars: dict[sp.Symbol, str] | None = None,
                 dialect: Dialect = NUMPY) -> None:
        self.name = name  # a leaf's code in this context
        self.scalars = {s: Verbatim(n) for s, n in (scalars or {}).items()}  # sizes such as B, T by their names
        self.stacked = stacked  # leading axes may be (T, B): sums over samples flatten them
        self.scalar = BpttNumPyPrinter(dialect)
        self.np, self.dialect = dialect.module, dialect

    def doprint(self, expr: MatExpr) -> str:
        return self.code(expr).text

    def code(self, expr: object) -> Code:
        if not mx.is_matrix(expr):
            value = sp.sympify(expr).xreplace(self.scalars)
            simple = value.is_Symbol or (value.is_Number and value >= 0)
            return Code(self.scalar.doprint(value), Kind.CONST, ATOM if simple else ADD)
        method = getattr(self, f"_print_{type(expr).__name__}", None)
        if method is None:
            msg = f"cannot compile {type(expr).__name__} ({expr}) to NumPy"
            raise NotSupportedError(msg)
        return method(expr)

    # ---------------------------------------------------------------- leaves
    def _leaf(self, expr: Seq) -> Code:
        return Code(self.name(expr), Kind.SCAL if expr.shape[0] == 1 else Kind.COL, ATOM)

    _print_Seq = _print_Adjoint = _print_Carry = _leaf

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> Code:
        return Code(self.name(expr), Kind.PARAM, ATOM)

    _print_ParamAdjoint = _print_MatrixSymbol

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> Code:
        return Code("1.0", Kind.CONST, ATOM)

    # ---------------------------------------------------------------- operations
    def _print_Transpose(self, expr: sp.Transpose) -> Code:
        inner = self.code(expr.arg)
        if inner.kind == Kind.PARAM:
            return Code(f"{inner.at(ATOM)}.T", Kind.PARAM, ATOM)
        flipped = {Kind.COL: Kind.ROW, Kind.ROW: Kind.COL}.get(inner.kind, inner.kind)
        return Code(inner.text, flipped, inner.level)

    def _print_MatAdd(self, expr: sp.MatAdd) -> Code:
        terms = [self.code(term) for term in expr.args]
        text = terms[0].text
        for term in terms[1:]:
            text += f" - {term.negated.at(MUL)}" if term.negated else f" + {term.text}"
        return Code(text, _batched_kind(terms), ADD)

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> Code:
        factors = [self.code(f) for f in expr.args]
        text = " * ".join([factors[0].at(MUL), *(f.at(ATOM) for f in factors[1:])])
        return Code(text, _batched_kind(factors), MUL)

    def _print_HadamardPower(self, expr: sp.HadamardPower) -> Code:
        base = self.code(expr.base)
        return Code(f"{base.at(ATOM)}**{self.scalar.doprint(expr.exp)}", base.kind, MUL)

    def _print_Elementwise(self, expr: mx.Elementwise) -> Code:
        inner = self.code(expr.arg)
        (variable,) = expr.function.variables
        body = expr.function.expr
        called = isinstance(body, sp.Function) and body.args == (variable,)  # f(z): the call's parentheses do
        operand = Verbatim(inner.text if called else inner.at(ATOM))
        return Code(self.scalar.doprint(body.xreplace({variable: operand})), inner.kind, ATOM)

    def _print_LogSumExp(self, expr: losses.LogSumExp) -> Code:
        return Code(f"_logsumexp({self.code(expr.arg).text})", Kind.SCAL, ATOM)

    def _print_SumEntries(self, expr: losses.SumEntries) -> Code:
        return Code(f"_rowsum({self.code(expr.arg).text})", Kind.SCAL, ATOM)

    def _print_Softmax(self, expr: losses.Softmax) -> Code:
        return Code(f"_softmax({self.code(expr.arg).text})", Kind.COL, ATOM)

    def _print_MatMul(self, expr: sp.MatMul) -> Code:
        coeff, factors = expr.as_coeff_matrices()
        left_expr, left = factors[0], self.code(factors[0])
        for right_expr in factors[1:]:
            left = self._product(left_expr, left, right_expr, self.code(right_expr))
            left_expr = mx.mul(left_expr, right_expr)
        if coeff == 1:
            return left
        if coeff == -1:
            return Code(f"-{left.at(MUL)}", left.kind, ADD, negated=left)
        return Code(f"{self.code(coeff).at(MUL)} * {left.at(ATOM)}", left.kind, MUL)

    def _product(self, left_expr: MatExpr, left: Code, right_expr: MatExpr, right: Code) -> Code:
        """One matrix product A B, by what A and B hold."""
        kinds = (left.kind, right.kind)
        if kinds == (Kind.PARAM, Kind.PARAM):
            return Code(f"{left.at(MUL)} @ {right.at(ATOM)}", Kind.PARAM, MUL)
        if kinds == (Kind.PARAM, Kind.COL) and left_expr.shape[1] != 1:  # W v  ->  v @ Wᵀ
            return self._stack_product(right, self.code(mx.transpose(left_expr)), Kind.COL)
        if kinds == (Kind.ROW, Kind.PARAM):  # uᵀ W
            return self._stack_product(left, right, Kind.ROW)
        if kinds == (Kind.COL, Kind.ROW):  # u vᵀ summed over the samples
            if self.stacked:
                return Code(f"_flat({left.text}).T @ _flat({right.text})", Kind.PARAM, MUL)
            return Code(f"{left.at(ATOM)}.T @ {right.at(ATOM)}", Kind.PARAM, MUL)
        if kinds == (Kind.ROW, Kind.COL):  # uᵀ v per sample
            return Code(f"_rowsum({left.at(MUL)} * {right.at(ATOM)})", Kind.SCAL, ATOM)
        if Kind.SCAL in kinds or Kind.CONST in kinds or left_expr.shape[1] == 1:
            kind = _batched_kind([left, right]) if kinds != (Kind.PARAM, Kind.SCAL) else Kind.COL
            return Code(f"{left.at(MUL)} * {right.at(ATOM)}", kind, MUL)
        msg = f"no NumPy form for the product of {left_expr} and {right_expr}"
        raise NotSupportedError(msg)

    def _stack_product(self, stack: Code, matrix: Code, kind: Kind) -> Code:
        """v @ M; over all t at once, as one large product (NumPy would loop over t)."""
        if self.stacked:
            return Code(f"_matmul({stack.text}, {matrix.text})", kind, ATOM, product=(stack.text, matrix.text))
        if self.dialect.typed:  # Numba's @ takes 2-D operands only; a stack of travelling adjoints is 3-D
            return Code(f"_matmul({stack.text}, {matrix.text})", kind, ATOM)
        return Code(f"{stack.at(MUL)} @ {matrix.at(ATOM)}", kind, MUL)

    def reduction(self, expr: MatExpr) -> str:
        """The code of a parameter's contribution: per-sample columns are summed over the samples."""
        code = self.code(expr)
        if code.kind == Kind.COL:
            return f"{self.np}.sum({f'_flat({code.text})' if self.stacked else code.text}, axis=0)"
        if code.kind == Kind.SCAL:
            return f"{self.np}.sum({code.text})"
        return code.text


def _batched_kind(codes: Sequence[Code]) -> Kind:
    kinds = {c.kind for c in codes}
    for kind in (Kind.COL, Kind.ROW, Kind.SCAL, Kind.PARAM):
        if kind in kinds:
            return kind
    return Kind.CONST
