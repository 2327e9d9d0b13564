"""Derivations as data: labelled steps, each one or more SymPy equations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

# How a step and a derivation show themselves in a notebook: filled by the document package (document.latex)
# when it is imported, as symbptt's own import does, so that derive never imports the stage that prints it.
DISPLAY: dict[str, Callable[[Any], str]] = {}


@dataclass(frozen=True)
class Step:
    """One labelled equation (or aligned group of equations) of a derivation."""

    label: str  # the textbook's label, e.g. "eq_bptt_at"
    equations: tuple[sp.Basic, ...]
    approximate: bool = False  # printed with ≈ instead of =
    blanks: tuple[tuple[str, str], ...] = ()  # what the narration's title fills in (a strategy's lengths, the cell)
    names_from: str = ""  # the label of the step defining the b_t, c_t this one prints by name ("" if written out)
    names_sentence: str = "names"  # the narration's sentence that says so (``pair``: vectors and a 2 × 2 matrix)
    elided: bool = True  # a long list of equations shows its ends around ⋮; False for definitions a reader needs
    # A step of the textbook's section takes its title and sentence from the narration tables, one per language
    # (document.narration); a step outside it (an exercise's proof) carries its own, in English.
    title: str = ""
    note: str = ""

    def _repr_latex_(self) -> str:
        """The step on its own, in a notebook (printed by the document package, which registers itself)."""
        return DISPLAY["step"](self)


@dataclass(frozen=True)
class Derivation:
    """An ordered list of steps from the model to the gradient."""

    model: object  # a model.ScalarModel, or a cells.Cell for the matrix-level derivation
    steps: tuple[Step, ...]
    T: int | None = None

    def __getitem__(self, label: str) -> Step:
        for step in self.steps:
            if step.label == label:
                return step
        msg = f"no step labelled {label!r}; have: {', '.join(s.label for s in self.steps)}"
        raise KeyError(msg)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(step.label for step in self.steps)

    def _repr_latex_(self) -> str:
        """Every step in a notebook: its title, then its aligned equations, one block."""
        return DISPLAY["derivation"](self)
