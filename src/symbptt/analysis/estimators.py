"""Bias, variance and cost of every strategy against ``full``, from the engine's compiled gradients.

The section's claim, in numbers: regular truncation is biased, and its bias
falls as its length grows; randomized truncation is unbiased (its gradient
is multilinear in the independent xi_t, so its expectation is the gradient
at E[xi_t] = 1, which is ``full``'s, exactly) but pays in variance as the
keep-probability pi falls; and the strategies differ in how many
transitions the backward pass walks.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from symbptt import arguments
from symbptt.analysis.truncation import by_update, cuts
from symbptt.derive import sampling, strategies
from symbptt.gradient import api


def flat(grads: Mapping[str, Any], names: Sequence[str]) -> np.ndarray:
    """The gradients of ``names`` as one vector, in that order."""
    return np.concatenate([np.ravel(grads[n]) for n in names])


def _gradient(cell: str, strategy: str, activation: str, loss: str, **arguments_: Any) -> api.Gradient:
    return api.compile_gradient(cell, activation=activation, loss=loss, strategy=strategy, **arguments_)


def bias(cell: str, params: Mapping[str, Any], X: Any, Y: Any, lengths: Sequence[int], *,
         activation: str = "tanh", loss: str = "squared") -> dict[str, np.ndarray]:
    """‖g − g_full‖ / ‖g_full‖ for window(τ), chunked(τ), tbptt(k1 = ⌈τ/2⌉, k2 = τ), last(τ), τ in ``lengths``."""
    lengths = [arguments.positive_int(n, "length") for n in lengths]
    full = _gradient(cell, "full", activation, loss)
    names = full.param_names
    exact = flat(full(params, X, Y), names)
    scale = float(np.linalg.norm(exact)) or 1.0
    out: dict[str, np.ndarray] = {"length": np.array(lengths)}
    for name in (kind.name for kind in strategies.TRUNCATIONS):
        errors = []
        for n in lengths:
            options = {"k1": -(-n // 2), "k2": n} if name == "tbptt" else {"tau": n}
            g = flat(_gradient(cell, name, activation, loss, **options)(params, X, Y), names)
            errors.append(float(np.linalg.norm(g - exact)) / scale)
        out[name] = np.array(errors)
    return out


def randomized(cell: str, params: Mapping[str, Any], X: Any, Y: Any, pis: Sequence[float], draws: int = 200, *,
               seed: int = 0, activation: str = "tanh", loss: str = "squared") -> dict[str, np.ndarray]:
    """For each pi, ``draws`` sampled xi: the projection ⟨g, g_full⟩ / ‖g_full‖² of each draw (1 is exact).

    Also the exact expectation, the gradient at xi = 1 (E[xi_t] = 1, by linearity in each xi_t).
    """
    draws = arguments.positive_int(draws, "draws")
    seed = arguments.non_negative_int(seed, "seed")
    pis = [arguments.probability(p) for p in pis]
    T = np.shape(X)[0]
    full = _gradient(cell, "full", activation, loss)
    names = full.param_names
    exact = flat(full(params, X, Y), names)
    sampled = _gradient(cell, "randomized", activation, loss)
    expectation = flat(sampled(params, X, Y, xi=np.ones(T)), names)
    projections = np.empty((len(pis), draws))
    for i, p in enumerate(pis):
        for n in range(draws):
            xi = sampling.draw_xi(p, T, seed + 7919 * i + n)
            projections[i, n] = flat(sampled(params, X, Y, xi=np.asarray(xi)), names) @ exact / (exact @ exact)
    return {"pi": np.array(pis), "projections": projections, "mean": projections.mean(axis=1),
            "std": projections.std(axis=1, ddof=1), "expectation": float(expectation @ exact / (exact @ exact))}


def transitions(strategy: strategies.Strategy, T: int) -> int:
    """The transitions the backward pass walks: one per step for a single carried adjoint, more for overlaps."""
    c = cuts(strategy, T, xi=[1.0] * T if isinstance(strategy, strategies.Randomized) else None)
    if by_update(strategy):
        if isinstance(strategy, strategies.Window):  # each loss term travels its own tau steps
            return sum(min(int(strategy.tau), t) for t in range(1, T + 1))
        return sum(last - start + 1 for start, last in c.spans)
    return T


def cost(cell: str, params: Mapping[str, Any], X: Any, Y: Any, chosen: Sequence[strategies.Strategy], *,
         repeats: int = 20, activation: str = "tanh", loss: str = "squared") -> list[tuple[str, int, float]]:
    """(strategy, transitions walked, median seconds per gradient) for each strategy in ``chosen``."""
    repeats = arguments.positive_int(repeats, "repeats")
    T = np.shape(X)[0]
    rows = []
    for strategy in chosen:
        values = strategy.values()
        if isinstance(strategy, strategies.Randomized):
            values = {"pi": values["pi"] or 0.5, "seed": values["seed"] or 0}
        g = _gradient(cell, strategy.name, activation, loss, **{k: v for k, v in values.items() if v is not None})
        g(params, X, Y)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            g(params, X, Y)
            times.append(time.perf_counter() - start)
        rows.append((strategy.describe(), transitions(strategy, T), float(np.median(times))))
    return rows
