"""The chain rule over the unrolled graph, with sensitivities left as symbols.

``total_derivative(e, w, definitions, keep)`` is the total derivative of ``e``
with respect to ``w``: the partial derivative with every node held fixed, plus,
for each node ``n`` that ``e`` reads, ``∂e/∂n · dn/dw``. Nodes in ``keep`` are
not expanded: their ``dn/dw`` stays the symbol ``∂n/∂w`` (a :class:`Partial`),
which is how the recurrence E4 appears.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeAlias

import sympy as sp

from symbptt.errors import ProofError

Expr: TypeAlias = sp.Expr


class Partial(sp.Expr):
    """The unevaluated total derivative ∂num/∂den of a graph node (e.g. ∂h_t/∂w_h)."""

    is_commutative = True

    def __new__(cls, num: Expr, den: Expr) -> Partial:
        return sp.Expr.__new__(cls, sp.sympify(num), sp.sympify(den))

    @property
    def num(self) -> Expr:
        return self.args[0]

    @property
    def den(self) -> Expr:
        return self.args[1]

    def _eval_derivative(self, s: Expr) -> Expr | None:
        # The graph's own sensitivities are never differentiated again.
        return None


def chain_product(*factors: Expr) -> Expr:
    """Product of chain-rule factors, kept in chain order (outermost first) for printing."""
    factors = tuple(f for f in factors if f != 1)
    if any(f == 0 for f in factors):
        return sp.S.Zero
    if not factors:
        return sp.S.One
    if len(factors) == 1:
        return factors[0]
    return sp.Mul(*factors, evaluate=False)


def total_derivative(
    expr: Expr, wrt: Expr, definitions: Mapping[Expr, Expr], keep: Iterable[Expr] = ()
) -> Expr:
    """de/dw = ∂e/∂w + Σ_n ∂e/∂n · dn/dw over the nodes n that e reads."""
    keep = frozenset(keep)
    terms = [expr.diff(wrt)]
    nodes = sorted(
        (a for a in expr.atoms(sp.Indexed) if a in definitions or a in keep),
        key=sp.default_sort_key,
    )
    for node in nodes:
        inner = (
            Partial(node, wrt)
            if node in keep
            else total_derivative(definitions[node], wrt, definitions, keep)
        )
        if inner != 0:
            terms.append(chain_product(*_factors(expr.diff(node)), *_factors(inner)))
    return sp.Add(*terms, evaluate=False) if len(terms) > 1 and terms[0] != 0 else sp.Add(*terms)


def linear_split(expr: Expr, unknown: Expr) -> tuple[Expr, Expr]:
    """(c, b) with expr = c · unknown + b, read term by term; a ProofError if expr is not linear in it."""
    placeholder = sp.Dummy("u")
    terms = sp.Add.make_args(expr.xreplace({unknown: placeholder}))
    coefficient = sp.Add(*(term.xreplace({placeholder: 1}) for term in terms if term.has(placeholder)))
    rest = sp.Add(*(term for term in terms if not term.has(placeholder)))
    if sp.expand(coefficient * placeholder + rest - sp.Add(*terms)) != 0:  # u², u·f(u), … are not linear
        msg = f"not linear in {unknown}: {expr}"
        raise ProofError(msg)
    return coefficient, rest


def _factors(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, sp.Mul):
        return tuple(expr.args)
    return (expr,)
