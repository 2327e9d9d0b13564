"""Numeric checks shipped with the package: central finite differences in float64."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def central_difference(loss: Callable[[dict[str, float]], float], params: Mapping[str, float],
                       eps: float = 1e-6) -> dict[str, float]:
    """(L(θ + ε e_k) − L(θ − ε e_k)) / 2ε for every scalar parameter k."""
    out = {}
    for name in params:
        up, down = dict(params), dict(params)
        up[name] = params[name] + eps
        down[name] = params[name] - eps
        out[name] = (loss(up) - loss(down)) / (2 * eps)
    return out


def assert_gradients_close(analytic: Mapping[str, float], numeric: Mapping[str, float],
                           rtol: float = 1e-5, atol: float = 1e-7) -> None:
    """AssertionError naming the first parameter that differs, with both numbers."""
    for name, value in numeric.items():
        if not np.isclose(analytic[name], value, rtol=rtol, atol=atol):
            msg = f"gradient check of {name} failed\nanalytic: {analytic[name]!r}\nnumeric:  {value!r}"
            raise AssertionError(msg)
