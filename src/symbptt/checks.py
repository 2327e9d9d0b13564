"""Numeric checks shipped with the package: central finite differences in float64."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np

from symbptt import arguments


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


def check_gradient(loss: Callable[[dict[str, np.ndarray]], float], params: Mapping[str, np.ndarray],
                   grads: Mapping[str, np.ndarray], *, directions: int = 3, eps: float = 1e-6,
                   rtol: float = 1e-6, seed: int = 0) -> None:
    """⟨∂L/∂θ, v⟩ against (L(θ + εv) − L(θ − εv)) / 2ε along random directions v, in float64.

    One projection checks every entry of every parameter at once (autograd's
    trick); an AssertionError prints both numbers. A NaN or infinite loss or
    gradient fails the check: it can never pass by comparing NaN with NaN.
    """
    if not callable(loss):
        msg = f"loss must be a function of the parameters, got {type(loss).__name__}"
        raise TypeError(msg)
    params = arguments.mapping(params, "params", "arrays by name")
    grads = arguments.mapping(grads, "grads", "arrays by name")
    arguments.positive_int(directions, "directions")
    eps, rtol = arguments.positive_number(eps, "eps"), arguments.positive_number(rtol, "rtol")
    seed = arguments.non_negative_int(seed, "seed")
    missing = [n for n in params if n not in grads]
    if missing:
        msg = f"grads has no gradient for {', '.join(map(str, missing))}; it must hold one per parameter"
        raise ValueError(msg)
    gradient = {n: arguments.numbers(grads[n], f"gradient {n!r}") for n in params}
    for name, value in gradient.items():
        if value.shape != np.shape(params[name]):
            msg = f"gradient {name!r} has shape {value.shape}, its parameter {np.shape(params[name])}"
            raise ValueError(msg)
        if not np.isfinite(value).all():
            msg = f"gradient check failed: the gradient of {name} holds NaN or infinite values"
            raise AssertionError(msg)
    for k, (analytic, numeric, scale) in enumerate(directional(loss, params, gradient, directions, eps, seed)):
        if not np.isfinite(numeric) or abs(analytic - numeric) > rtol * (abs(numeric) + scale) + 1e-9:
            msg = f"gradient check failed along direction {k}\nanalytic: {analytic!r}\nnumeric:  {numeric!r}"
            raise AssertionError(msg)


def directional(loss: Callable[[dict[str, np.ndarray]], float], params: Mapping[str, np.ndarray],
                grads: Mapping[str, np.ndarray], directions: int = 3, eps: float = 1e-6,
                seed: int = 0) -> Iterator[tuple[float, float, float]]:
    """For each random direction v: ⟨∂L/∂θ, v⟩, (L(θ + εv) − L(θ − εv)) / 2ε and ‖∂L/∂θ‖ (unchecked arguments)."""
    rng = np.random.default_rng(seed)
    for _ in range(directions):
        v = {n: rng.standard_normal(np.shape(p)) for n, p in params.items()}
        up = {n: np.asarray(p, dtype=np.float64) + eps * v[n] for n, p in params.items()}
        down = {n: np.asarray(p, dtype=np.float64) - eps * v[n] for n, p in params.items()}
        numeric = (float(loss(up)) - float(loss(down))) / (2 * eps)
        analytic = float(sum(np.sum(grads[n] * v[n]) for n in params))
        scale = float(np.sqrt(sum(np.sum(grads[n] ** 2) for n in params)))
        yield analytic, numeric, scale
