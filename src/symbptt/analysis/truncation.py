"""Where each strategy cuts the gradient, read off the strategy objects (the textbook's Time Machine figure).

A strategy decides, for every loss term l_t, the first state its gradient
reaches (``start(t)``) and the weight of each transition s_{j-1} → s_j on
the way (``multiplier(j)``, xi_j for randomized). A *piece* is a run of
steps whose gradients stay inside it: ``full`` is one piece, ``chunked``
pieces of k, ``randomized`` pieces that end where xi_j = 0. ``tbptt`` and
``window`` overlap: each update backpropagates through its own span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import sympy as sp

from symbptt import arguments
from symbptt.derive import sampling, strategies


def excerpt() -> str:
    """The opening of The Time Machine (H. G. Wells, 1895; public domain) from its first chapter, one space apart."""
    text = resources.files("symbptt.data").joinpath("timemachine_opening.txt").read_text(encoding="ascii")
    return re.sub(r"\s+", " ", text.split("\n\n\n\nI\n", 1)[-1]).strip()


def opening(characters: int = 40) -> str:
    """The first ``characters`` characters of the excerpt."""
    characters = arguments.positive_int(characters, "characters")
    words = excerpt()
    if characters > len(words):
        msg = f"characters must be at most {len(words)} (the excerpt's length), got {characters}"
        raise ValueError(msg)
    return words[:characters]


@dataclass(frozen=True)
class Cuts:
    """One strategy on T steps: each transition's weight, and the span each update backpropagates through."""

    strategy: strategies.Strategy
    T: int
    weights: tuple[float, ...]  # weights[j - 1] of s_{j-1} → s_j, j = 1..T (j = 1: from the initial state)
    spans: tuple[tuple[int, int], ...]  # (first state reached, last loss term), one per update

    @property
    def cut_after(self) -> tuple[int, ...]:
        """The steps j after which no gradient flows back (transition s_j → s_{j+1} has weight 0)."""
        return tuple(j - 1 for j in range(2, self.T + 1) if self.weights[j - 1] == 0)


def by_update(strategy: strategies.Strategy) -> bool:
    """Whether the strategy is read by its updates' spans (they overlap, or drop loss terms), not by pieces."""
    return strategy.overlapping or strategy.drops_terms


def cuts(strategy: strategies.Strategy, T: int, xi: list[float] | None = None) -> Cuts:
    """Where ``strategy`` cuts T steps; randomized draws its xi from its pi and seed unless ``xi`` is given."""
    T = arguments.positive_int(T, "T")
    values = _xi(strategy, T, xi)
    starts = [int(strategy.start(sp.Integer(t), sp.Integer(T))) for t in range(1, T + 1)]
    spans: tuple[tuple[int, int], ...]
    if by_update(strategy):
        # each loss term reaches back to its start: one span per update
        spans = tuple(_updates(strategy, T, starts))
        weights = tuple(1.0 for _ in range(T))
    else:
        weights = tuple(float(sp.sympify(m).subs(values)) for m in strategy.forward_multipliers(T))
        pieces: list[tuple[int, int]] = []
        first = 1
        for j in range(2, T + 1):
            if weights[j - 1] == 0:
                pieces.append((first, j - 1))
                first = j
        spans = (*pieces, (first, T))
    return Cuts(strategy, T, weights, spans)


def _xi(strategy: strategies.Strategy, T: int, xi: list[float] | None) -> dict[sp.Basic, float]:
    if not isinstance(strategy, strategies.Randomized):
        return {}
    if xi is None:
        if strategy.pi is None:
            msg = "randomized needs pi (and a seed) to draw xi, or xi itself"
            raise ValueError(msg)
        xi = sampling.draw_xi(strategy.pi, T, strategy.seed)
    if len(xi) != T:
        msg = f"xi must have length T = {T}, got {len(xi)}"
        raise ValueError(msg)
    return {strategies.xi[j]: float(xi[j - 1]) for j in range(1, T + 1)}


def _updates(strategy: strategies.Strategy, T: int, starts: list[int]) -> list[tuple[int, int]]:
    """(first state reached, u) for each update u: the earliest start among the loss terms it takes."""
    spans: dict[int, int] = {}
    for t, start in enumerate(starts, start=1):
        if start <= t:  # tbptt and last drop the terms that reach no state
            u = strategy.update(t, T)
            spans[u] = min(spans.get(u, start), start)
    return sorted((start, u) for u, start in spans.items())


def encode(text: str) -> tuple[Any, Any, str]:
    """Characters as classes: X one-hot of characters 1..n−1 (T, 1, V), Y the ids of characters 2..n (T, 1)."""
    import numpy as np

    if not isinstance(text, str) or len(text) < 2:
        msg = f"text must be a string of at least 2 characters, got {text!r}"
        raise ValueError(msg)
    vocabulary = "".join(sorted(set(text)))
    ids = np.array([vocabulary.index(c) for c in text])
    X = np.eye(len(vocabulary))[ids[:-1]][:, None, :]
    return X, ids[1:, None], vocabulary
