"""Gradient clipping (the cheatsheet's): by the global norm, or entry by entry; ``loss`` passes through."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from symbptt import arguments


def _gradients(grads: object, what: str) -> dict[str, np.ndarray]:
    """The gradients by name, float and finite, or a ValueError naming the first that is not."""
    grads = arguments.mapping(grads, f"{what}'s grads", "gradients by parameter name")
    out = {}
    for name, value in grads.items():
        if name == "loss":
            continue
        array = arguments.numbers(value, f"{what}: gradient {name!r}")
        if not np.isfinite(array).all():
            msg = f"{what}: gradient {name!r} holds NaN or infinite values; clipping cannot make it finite"
            raise ValueError(msg)
        out[name] = array
    return out


def clip_norm(grads: Mapping[str, Any], theta: float) -> dict[str, Any]:
    """All gradients scaled together by min(1, θ/‖g‖), ‖g‖ the global L2 norm; ``loss`` passes through."""
    theta = arguments.positive_number(theta, "clip_norm threshold theta")
    params = _gradients(grads, "clip_norm")
    norm = global_norm(params.values())
    scale = min(1.0, theta / norm) if norm > 0 else 1.0  # all zero: nothing to scale (0/0 would be NaN)
    return {k: (v if k == "loss" else params[k] * scale) for k, v in grads.items()}


def global_norm(gradients: Iterable[np.ndarray]) -> float:
    """‖g‖ over all gradients together, without overflow: scaled by the largest entry before squaring (entries
    of 1e300 square to infinity, and θ/∞ would clip them all to zero)."""
    arrays = [np.abs(g) for g in gradients]
    largest = max((float(a.max()) for a in arrays if a.size), default=0.0)
    if largest == 0.0:
        return 0.0
    return largest * float(np.sqrt(sum(float(np.sum((a / largest) ** 2)) for a in arrays)))


def clip_value(grads: Mapping[str, Any], c: float) -> dict[str, Any]:
    """Every entry clipped to [−c, c]; ``loss`` passes through."""
    c = arguments.positive_number(c, "clip_value bound c")
    params = _gradients(grads, "clip_value")
    return {k: (v if k == "loss" else np.clip(params[k], -c, c)) for k, v in grads.items()}
