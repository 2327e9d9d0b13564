"""The matrix form in the textbook's notation: sequences and their adjoints, products (matrix and Hadamard),
transposes, elementwise functions and losses, as E10–E18 print them. :class:`notation.BpttLatexPrinter` adds
the scalar analysis's notation on top."""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter

from symbptt.model import losses
from symbptt.model import matrices as mx


class _Printed(sp.Symbol):
    """A scalar stand-in printed as LaTeX already made: an elementwise function's argument inside its body, under
    the name of the variable it replaces (so terms sort as before), equal only to a stand-in of the same text."""

    text: str

    def __new__(cls, name: str, text: str) -> _Printed:
        symbol = sp.Symbol.__xnew__(cls, name)
        symbol.text = text
        return symbol

    def _hashable_content(self) -> tuple[object, ...]:  # two texts are two symbols, also in SymPy's caches
        return (*super()._hashable_content(), self.text)

    def _latex(self, printer: LatexPrinter) -> str:
        return self.text


def _layered(name: str) -> tuple[str, str]:
    """``NAME_l{ℓ}`` of a stacked model as (NAME, the superscript ``^{(ℓ)}``); any other name as (name, "")."""
    base, _, layer = name.rpartition("_l")
    return (base, f"^{{({layer})}}") if base and layer.isdigit() else (name, "")


class MatrixNotation(LatexPrinter):
    """The printers of a cell's matrix form."""

    def _print_Seq(self, expr: mx.Seq) -> str:
        base, layer = _layered(expr.name)  # layer ℓ's h_l2 is the Deep RNNs' h^{(2)}_t, a group for what follows
        text = f"{self._print(sp.Symbol(base))}{layer}_{{{self._print(expr.time)}}}"
        return f"{{{text}}}" if layer else text

    def _print_Adjoint(self, expr: mx.Adjoint) -> str:
        return rf"\frac{{\partial L}}{{\partial {self._print_Seq(mx.of(expr))}}}"

    def _print_Carry(self, expr: mx.Carry) -> str:
        return rf"\left.{self._print_Adjoint(expr)}\right|_{{t+1}}"

    def _print_ParamAdjoint(self, expr: mx.ParamAdjoint) -> str:
        return rf"\frac{{\partial L}}{{\partial {self._print(sp.MatrixSymbol(expr.name, *expr.shape))}}}"

    def _print_StepAdjoint(self, expr: mx.StepAdjoint) -> str:
        W = self._print(sp.MatrixSymbol(expr.name, *expr.shape))
        return rf"\left.\frac{{\partial L}}{{\partial {W}}}\right|_{{({self._print(expr.time)})}}"

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        inner = self._print(expr.arg)
        if not isinstance(expr.arg, (sp.MatrixSymbol, mx.Seq)):
            inner = rf"\left({inner}\right)"
        return rf"{inner}^\top"

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        return r" \odot ".join(self._factor(f) for f in expr.args)

    def _print_HadamardPower(self, expr: sp.HadamardPower) -> str:
        return rf"{self._factor(expr.base)}^{{\odot {self._print(expr.exp)}}}"

    def _factor(self, expr: sp.Basic, inside: type = sp.HadamardProduct) -> str:
        """A factor of a product (``inside`` MatMul) or of a Hadamard product, bracketed when it binds looser."""
        text = self._print(expr)
        looser: tuple[type, ...] = (sp.MatAdd,)
        if inside is sp.MatMul:
            looser += (sp.HadamardProduct,)
        elif isinstance(expr, sp.MatMul) and len(expr.as_coeff_matrices()[1]) > 1:
            looser += (sp.MatMul,)
        return rf"\left({text}\right)" if isinstance(expr, looser) else text

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        # W_xi is W_{xi}, not SymPy's W_{\xi}: parameter names are the contract's, letter by letter
        base, layer = _layered(expr.name)
        head, _, tail = base.partition("_")
        text = (f"{head}_{{{tail}}}" if tail else head) + layer
        return f"{{{text}}}" if layer else text  # a group: W^{(2)} then ^\top

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        return r"\mathbf{1}"

    def _print_Elementwise(self, expr: mx.Elementwise) -> str:
        # φ's body with its variable standing for the printed matrix argument (the body is scalar SymPy: the
        # matrix cannot be put in it)
        (variable,) = expr.function.variables
        return self._print(expr.function.expr.xreplace({variable: _Printed(variable.name, self._print(expr.arg))}))

    def _print_LogSumExp(self, expr: losses.LogSumExp) -> str:
        return rf"\log \mathbf{{1}}^\top \exp\left({self._print(expr.arg)}\right)"

    def _print_SumEntries(self, expr: losses.SumEntries) -> str:
        return rf"\mathbf{{1}}^\top \left({self._print(expr.arg)}\right)"

    def _print_Softmax(self, expr: losses.Softmax) -> str:
        return rf"\operatorname{{softmax}}\left({self._print(expr.arg)}\right)"

    def _print_LossValue(self, expr: losses.LossValue) -> str:
        return rf"l\left({self._print(expr.args[0])}, {self._print(expr.args[1])}\right)"

    def _print_LossGradient(self, expr: losses.LossGradient) -> str:
        value = self._print_LossValue(losses.LossValue(*expr.args))
        return rf"\frac{{\partial {value}}}{{\partial {self._print(expr.args[0])}}}"

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        coeff, factors = expr.as_coeff_matrices()
        inside = sp.MatMul if len(factors) > 1 else sp.HadamardProduct  # -(a ⊙ b) needs no brackets
        parts = [self._factor(f, inside) for f in factors]
        if coeff == -1:
            return "- " + " ".join(parts)
        if coeff != 1:
            parts.insert(0, self._print(coeff) if coeff.is_Atom or isinstance(coeff, sp.Pow)
                         else rf"\left({self._print(coeff)}\right)")
        return " ".join(parts)

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        return joined([self._print(term) for term in expr.args])


def joined(texts: list[str]) -> str:
    """Printed terms as a sum: a term printed "- x" joins as " - x"."""
    out = texts[0]
    for text in texts[1:]:
        out += f" - {text[2:]}" if text.startswith("- ") else f" + {text}"
    return out
