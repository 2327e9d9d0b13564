"""Clipping, shown on a short training run: characters of The Time Machine as classes, cross-entropy.

Plain gradient descent with the engine's compiled gradient, from the same
start three times: unclipped, with ``clip_norm`` and with ``clip_value``.
The recurrent weights start with a large spectral radius so the unclipped
run meets the explosions the section describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from symbptt import arguments
from symbptt.analysis.spectrum import to_spectral_radius
from symbptt.analysis.truncation import encode, excerpt
from symbptt.gradient import api, clipping


@dataclass
class Run:
    label: str
    losses: list[float] = field(default_factory=list)
    norms: list[float] = field(default_factory=list)  # the global gradient norm before clipping


HIDDEN, WINDOW, RATE, RADIUS = 16, 32, 3.0, 1.6  # the defaults, also named in the figure's title


def train(steps: int = 150, *, hidden: int = HIDDEN, T: int = WINDOW, rate: float = RATE, theta: float = 1.0,
          c: float = 0.1, radius: float = RADIUS, seed: int = 0) -> list[Run]:
    """Three runs of ``steps`` updates on windows of T characters: unclipped, clip_norm(θ), clip_value(c)."""
    steps, hidden, T = (arguments.positive_int(v, n) for v, n in ((steps, "steps"), (hidden, "hidden"), (T, "T")))
    rate = arguments.positive_number(rate, "rate")
    text = excerpt()
    X, Y, vocabulary = encode(text)
    start = _weights(hidden, len(vocabulary), radius, arguments.non_negative_int(seed, "seed"))
    grad = api.compile_gradient("elman", loss="cross_entropy")
    runs = [Run("no clipping"), Run(f"clip_norm(θ = {theta:g})"), Run(f"clip_value(c = {c:g})")]
    clip = [lambda g: g, lambda g: clipping.clip_norm(g, theta), lambda g: clipping.clip_value(g, c)]
    windows = np.random.default_rng(seed).integers(0, X.shape[0] - T, size=steps)
    for run, apply in zip(runs, clip, strict=True):
        params = {k: v.copy() for k, v in start.items()}
        for first in windows:
            g = grad(params, X[first:first + T], Y[first:first + T])
            run.losses.append(float(g["loss"]))
            run.norms.append(float(np.sqrt(sum(np.sum(g[n] ** 2) for n in params))))
            g = apply(g)
            for name in params:
                params[name] = params[name] - rate * g[name]
    return runs


def _weights(h: int, classes: int, radius: float, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    W = to_spectral_radius(rng.normal(size=(h, h)), radius)
    return {"W_hx": rng.normal(scale=0.5, size=(h, classes)), "W_hh": W, "b_h": np.zeros(h),
            "W_qh": rng.normal(scale=1 / np.sqrt(h), size=(classes, h)), "b_q": np.zeros(classes)}
