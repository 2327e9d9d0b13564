"""The textbook's notation: a LaTeX printer for one expression or equation.

``∂h_t/∂w_h`` prints as ``\\frac{\\partial h_{t}}{\\partial w_{h}}`` (not SymPy's
``\\frac{d}{d w_h} h_t``), a partial derivative of an applied function as
``\\frac{\\partial f(x_t, h_{t-1}, w_h)}{\\partial h_{t-1}}``, and chain-rule
products keep the textbook's order (loss, readout, state, sensitivity).
"""

from __future__ import annotations

import functools

import sympy as sp

from symbptt.derive.chain import Partial
from symbptt.document.matrix_notation import MatrixNotation, joined

# Order of factors in a printed product: the textbook writes the chain outermost first.
_CHAIN_RANK = {"l": 2, "g": 3, "f": 4}


class BpttLatexPrinter(MatrixNotation):
    """LatexPrinter with the textbook's partial derivatives, expectations and factor order."""

    def __init__(self) -> None:
        super().__init__({"mul_symbol": None})
        self._fraction = r"\frac"  # \dfrac inside a matrix, whose entries are otherwise set in text style

    def _print_Partial(self, expr: Partial) -> str:
        num, den, frac = self._print(expr.num), self._print(expr.den), self._fraction
        if not isinstance(expr.num, sp.Indexed | sp.Symbol | sp.Function):  # ∂/∂w (½ (o_t − y_t)²), no nested fraction
            return rf"{frac}{{\partial}}{{\partial {den}}}\left({num}\right)"
        return rf"{frac}{{\partial {num}}}{{\partial {den}}}"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        if len(expr.variable_count) == 1 and expr.variable_count[0][1] == 1:
            var = self._print(expr.variable_count[0][0])
            inner = expr.expr
            body = self._print(inner)
            if not isinstance(inner, sp.Function | sp.Indexed | sp.Symbol):
                return rf"\frac{{\partial}}{{\partial {var}}}\left({body}\right)"
            return rf"\frac{{\partial {body}}}{{\partial {var}}}"
        return super()._print_Derivative(expr)

    def _print_Function(self, expr: sp.Function, exp: str | None = None) -> str:
        name = expr.func.__name__
        if name in ("E", "P"):
            op = r"\mathbb{E}" if name == "E" else r"P"
            arg = self._print(expr.args[0])
            text = rf"{op}\left[{arg}\right]" if name == "E" else rf"{op}\left({arg}\right)"
            return text if exp is None else rf"{text}^{{{exp}}}"
        return super()._print_Function(expr, exp)

    def _print_sigmoid(self, expr: sp.Function, exp: str | None = None) -> str:
        text = rf"\sigma\left({self._print(expr.args[0])}\right)"
        return text if exp is None else rf"{text}^{{{exp}}}"

    def _print_softplus(self, expr: sp.Function, exp: str | None = None) -> str:
        text = rf"\operatorname{{softplus}}\left({self._print(expr.args[0])}\right)"
        return text if exp is None else rf"{text}^{{{exp}}}"

    def _print_relu(self, expr: sp.Function, exp: str | None = None) -> str:
        text = rf"\operatorname{{relu}}\left({self._print(expr.args[0])}\right)"
        return text if exp is None else rf"{text}^{{{exp}}}"

    def _print_Heaviside(self, expr: sp.Heaviside, exp: str | None = None) -> str:
        text = rf"H\left({self._print(expr.args[0])}\right)"
        return text if exp is None else rf"{text}^{{{exp}}}"

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        # a scalar parameter of a cell's size-1 view, W_xi, is W_{xi} as well; w_h, h_0 print as before
        head, _, tail = expr.name.partition("_")
        if tail.isalnum() and head.isalpha() and len(head) == 1:
            return f"{head}_{{{tail}}}"
        return super()._print_Symbol(expr, style=style)

    def _print_MatrixBase(self, expr: sp.MatrixBase) -> str:
        # a matrix's entries are set in text style: its fractions (the sensitivities of E6's 𝐚_t) at display size,
        # like the rest of the document, on rows set apart (they are tall)
        if not any(entry.has(Partial) or sp.denom(entry) != 1 for entry in expr):
            return super()._print_MatrixBase(expr)
        self._fraction = r"\dfrac"
        try:
            rows = [" & ".join(self._print(entry) for entry in expr.row(i)) for i in range(expr.rows)]
        finally:
            self._fraction = r"\frac"
        return r"\left[\begin{matrix}" + r"\\[4pt]".join(rows) + r"\end{matrix}\right]"

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        base = self._print(expr.base.label)
        index = ", ".join(self._print(i) for i in expr.indices)
        return f"{base}_{{{index}}}"

    def _print_Mul(self, expr: sp.Mul) -> str:
        # SymPy's canonical order, then stably the chain's order and time (sorted() is stable); noncommutative
        # factors (a two-state cell's matrices 𝐜_t) last, in their own order
        if self._fraction != r"\frac" and sp.denom(expr) != 1:  # in a matrix: a display fraction
            return rf"{self._fraction}{{{self._print(sp.numer(expr))}}}{{{self._print(sp.denom(expr))}}}"
        ordered = expr.as_ordered_factors()
        factors = [*sorted((f for f in ordered if f.is_commutative), key=_factor_key),
                   *(f for f in ordered if not f.is_commutative)]
        inverse = [f for f in factors if isinstance(f, sp.Pow) and f.exp == -1]
        if inverse and any(isinstance(f, sp.Sum) for f in factors):
            # the textbook's 1/T Σ_t …, not \frac{Σ_t …}{T}
            rest = [f for f in factors if f not in inverse]
            den = self._print(sp.Mul(*(f.base for f in inverse)))
            return rf"\frac{{1}}{{{den}}} " + self._print(sp.Mul(*rest, evaluate=False))
        timed = [f for f in factors if _time(f) is not None]
        if len(timed) > MAX_FACTORS:
            # c_2 c_3 ⋯ c_T b_1: a written-out product of many time steps, its middle elided
            untimed = [f for f in factors if _time(f) is None]
            head = self._print(sp.Mul(*untimed)) + " " if untimed else ""
            return head + " ".join(r"\cdots" if f is None else self._factor_text(f)
                                   for f in [*timed[:2], None, *timed[-3:]])
        saved = self._settings["order"]
        self._settings["order"] = "none"  # print the factors in the order given
        try:
            return super()._print_Mul(sp.Mul(*factors, evaluate=False))
        finally:
            self._settings["order"] = saved

    def _factor_text(self, factor: sp.Basic) -> str:
        text = self._print(factor)
        return rf"\left({text}\right)" if isinstance(factor, sp.Add) else text

    def sum_terms(self, expr: sp.Add) -> list[str] | None:
        """A written-out sum over explicit time steps as printed terms, in time order, its middle elided.

        None for any other sum, which prints in SymPy's order.
        """
        terms = self.time_ordered(expr)
        if terms is None:
            return None
        return [r"\cdots" if term is None else self._print(term) for term in terms]

    @staticmethod
    def time_ordered(expr: sp.Add) -> list[sp.Basic | None] | None:
        """The terms of a written-out sum over explicit time steps in time order, None where the middle is elided
        (never printed); None for any other sum."""
        timed = [(_time(term), term) for term in expr.args]
        if any(time is None for time, _ in timed):
            return None
        terms: list[sp.Basic | None] = [term for _, term in sorted(timed, key=lambda pair: pair[0] or 0)]
        if len(terms) > MAX_TERMS:
            return [*terms[:2], None, *terms[-2:]]
        return terms

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        texts = self.sum_terms(expr)
        if texts is not None:
            return joined(texts)
        saved = self._settings["order"]
        self._settings["order"] = None  # sums in SymPy's order, even inside a product
        try:
            return super()._print_Add(expr, order=None)
        finally:
            self._settings["order"] = saved


MAX_TERMS = 5  # a written-out sum of more terms shows the first two, ⋯, the last two
MAX_FACTORS = 6  # a written-out product of more factors shows the first two, ⋯, the last three


@functools.cache  # a written-out form asks again for the same factors, term after term
def _time(expr: sp.Basic) -> int | None:
    """The earliest explicit time step an expression reads (x_3, h_2: 2), None if any index is symbolic."""
    indices = [index for node in expr.atoms(sp.Indexed) for index in node.indices]
    if not indices or not all(index.is_Integer for index in indices):
        return None
    return int(min(indices))



def _factor_key(factor: sp.Basic) -> tuple[int, int]:
    time = _time(factor)
    return _factor_rank(factor), -1 if time is None else time


def _factor_rank(factor: sp.Basic) -> int:
    if factor.is_number:
        return 0
    if isinstance(factor, sp.Product):
        return 1
    if isinstance(factor, sp.Derivative):
        if factor.expr.func.__name__ == "f" and not isinstance(factor.variables[0], sp.Indexed):
            return 6  # b_i = ∂f/∂w after the c_j that multiply it, as in E5
        return _CHAIN_RANK.get(getattr(factor.expr.func, "__name__", ""), 5)
    if isinstance(factor, Partial):
        return 7
    if isinstance(factor, sp.Indexed) and str(factor.base) in ("a", "b", "h"):
        return 6  # b_i, h_{i-1} after the product that multiplies them, as in E5
    return 5


PRINTER = BpttLatexPrinter()


def to_latex(expr: sp.Basic) -> str:
    """One expression or equation in the textbook's notation."""
    if isinstance(expr, sp.Eq):
        return f"{to_latex(expr.lhs)} = {to_latex(expr.rhs)}"
    return PRINTER.doprint(expr)
