"""Randomized truncation's ξ: keep-probabilities checked, and ξ drawn from them.

``sample_xi`` is copied verbatim into every generated module, so that a module
draws the same ξ from the same ``pi`` and ``seed`` as the package.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy

from symbptt import arguments


def sample_xi(pi, T, seed):  # copied verbatim into generated modules
    """xi_t in {0, 1/pi_t} with P(xi_t = 1/pi_t) = pi_t; xi_1 (index 0) is unused and set to 1."""
    pi = numpy.broadcast_to(numpy.asarray(pi, dtype=float), (T,))
    keep = numpy.random.default_rng(seed).random(T) < pi
    xi = numpy.where(keep, 1.0 / pi, 0.0)
    xi[0] = 1.0
    return xi


def check_pis(value: object) -> float | tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, bool | str | bytes):
        return arguments.probability(value)  # refused with its message
    if numpy.ndim(value) == 0:  # type: ignore[arg-type]
        return arguments.probability(value)
    array = numpy.asarray(value, dtype=object)
    if array.ndim != 1 or array.size == 0:
        msg = f"pi must be a number or a 1-D sequence of length T >= 1, got shape {array.shape}"
        raise ValueError(msg)
    return tuple(arguments.probability(p) for p in array)


def draw_xi(pi_values: float | Sequence[float], T: int, seed: int | None) -> list[float]:
    """xi sampled from checked keep-probabilities (a number, or one per step)."""
    checked = check_pis(pi_values)
    pis = [checked] * T if isinstance(checked, float) else list(checked or ())
    if len(pis) != T:
        msg = f"pi must be a number or have length T = {T}, got length {len(pis)}"
        raise ValueError(msg)
    return [float(v) for v in sample_xi(pis, T, seed)]
