"""The textbook's analysis (E1–E9) at size one, behind one protocol for a cell of one state or two.

The document, its evidence lines and the command line ask a cell for its
:class:`SizeOne` analysis (:func:`of`) and never which module derives it:
:mod:`one_state` for the generic model and a one-state cell, :mod:`two_states`
for a cell whose state is (h, c); a cell of other states has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeAlias

import sympy as sp

from symbptt.derive import one_state, strategies, two_states
from symbptt.derive.sensitivity import sensitivity_sequence
from symbptt.derive.steps import Derivation
from symbptt.model import cells, graph, scalar
from symbptt.model.scalar import ScalarModel
from symbptt.model.two_states import TwoStateModel, c, supports, view

Expr: TypeAlias = sp.Expr
Model: TypeAlias = ScalarModel | TwoStateModel


class SizeOne(Protocol):
    """E1–E9 of one model at size one, and the pieces its checks need."""

    @property
    def model(self) -> Model: ...

    @property
    def states(self) -> tuple[sp.IndexedBase, ...]:
        """The states whose definitions hold the recurrent weight: (h,) or (h, c)."""
        ...

    def symbolic(self, strategy_names: tuple[str, ...] = strategies.STRATEGIES) -> Derivation: ...

    def explicit(self, T: int, strategy_names: tuple[str, ...] = strategies.STRATEGIES,
                 tau: int = 2, k1: int = 2, k2: int = 3) -> Derivation: ...

    def unrolled(self, T: int) -> graph.UnrolledGraph:
        """The model over T steps: every node's definition in order, and L = 1/T Σ l_t."""
        ...

    def sensitivities(self, T: int) -> dict[int, Expr]:
        """∂h_s/∂w by E7 for s = 1..T, written out."""
        ...


@dataclass(frozen=True)
class OneState:
    """The textbook's own analysis: one state h_t (:mod:`one_state`)."""

    model: ScalarModel
    states: tuple[sp.IndexedBase, ...] = (scalar.h,)

    def symbolic(self, strategy_names: tuple[str, ...] = strategies.STRATEGIES) -> Derivation:
        return one_state.symbolic(self.model, strategy_names)

    def explicit(self, T: int, strategy_names: tuple[str, ...] = strategies.STRATEGIES,
                 tau: int = 2, k1: int = 2, k2: int = 3) -> Derivation:
        return one_state.explicit(self.model, T, strategy_names, tau, k1, k2)

    def unrolled(self, T: int) -> graph.UnrolledGraph:
        return graph.unroll(self.model, T)

    def sensitivities(self, T: int) -> dict[int, Expr]:
        seq = sensitivity_sequence(self.model, self.model.recurrent_weight)
        return {s: seq.closed_form(s) for s in range(1, T + 1)}


@dataclass(frozen=True)
class TwoStates:
    """The state (h_t, c_t): bold vectors and 2 × 2 matrices (:mod:`two_states`)."""

    model: TwoStateModel
    states: tuple[sp.IndexedBase, ...] = (scalar.h, c)

    def symbolic(self, strategy_names: tuple[str, ...] = strategies.STRATEGIES) -> Derivation:
        return two_states.symbolic(self.model, strategy_names)

    def explicit(self, T: int, strategy_names: tuple[str, ...] = strategies.STRATEGIES,
                 tau: int = 2, k1: int = 2, k2: int = 3) -> Derivation:
        return two_states.explicit(self.model, T, strategy_names, tau, k1, k2)

    def unrolled(self, T: int) -> graph.UnrolledGraph:
        return two_states.unrolled(self.model, T)

    def sensitivities(self, T: int) -> dict[int, Expr]:
        """The first entry of E7's 𝐚_s, its products of 2 × 2 matrices taken latest first."""
        return {s: a_s[0] for s, a_s in enumerate(two_states.closed_forms(self.model, T), start=1)}


def of(cell: cells.Cell | None) -> SizeOne | None:
    """The analysis at size one of ``cell`` (None: the textbook's generic model); None for a cell whose state
    is neither h nor (h, c)."""
    if cell is None:
        return OneState(scalar.generic())
    if len(cell.state) == 1:
        return OneState(scalar.view(cell))
    if supports(cell):
        return TwoStates(view(cell))
    return None

