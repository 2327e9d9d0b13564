"""Numeric checks shipped with the package: central finite differences in float64."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np

from symbptt import arguments

MAX_DIRECTIONS = 10_000  # each direction evaluates the loss twice: more asks for hours of work


def central_difference(loss: Callable[[dict[str, float]], float], params: Mapping[str, float],
                       eps: float = 1e-6) -> dict[str, float]:
    """(L(θ + ε e_k) − L(θ − ε e_k)) / 2ε for every scalar parameter k."""
    _check_loss(loss)
    values = _scalars(params, "params")
    eps = arguments.positive_number(eps, "eps")
    out = {}
    for name, value in values.items():
        up, down = dict(values), dict(values)
        up[name], down[name] = value + eps, value - eps
        above, below = _value(loss(up)), _value(loss(down))
        if not (np.isfinite(above) and np.isfinite(below)):
            msg = (f"the central difference of {name} is not finite: the loss is {above!r} at {name} + eps and "
                   f"{below!r} at {name} - eps (eps = {eps!r})")
            raise ValueError(msg)
        out[name] = (above - below) / (2 * eps)
    return out


def assert_gradients_close(analytic: Mapping[str, float], numeric: Mapping[str, float],
                           rtol: float = 1e-5, atol: float = 1e-7) -> None:
    """AssertionError naming the first parameter that differs, with both numbers; NaN never passes.

    Both mappings must name the same parameters (``analytic`` may also hold the compiled gradient's ``loss``): a
    check that compares nothing, or leaves a parameter out, is refused, never passed.
    """
    analytic = arguments.mapping(analytic, "analytic", "numbers by name")
    analytic = _scalars({k: v for k, v in analytic.items() if k != "loss"} or analytic, "analytic")
    numeric = _scalars(numeric, "numeric")
    rtol = arguments.positive_number(rtol, "rtol")
    atol = 0.0 if atol == 0 and not isinstance(atol, bool) else arguments.positive_number(atol, "atol")
    if set(analytic) != set(numeric):
        only = sorted(set(analytic) ^ set(numeric))
        msg = f"analytic and numeric must name the same parameters; only one of them has {', '.join(only)}"
        raise ValueError(msg)
    for name, value in numeric.items():
        if not np.isclose(analytic[name], value, rtol=rtol, atol=atol):
            msg = f"gradient check of {name} failed\nanalytic: {analytic[name]!r}\nnumeric:  {value!r}"
            raise AssertionError(msg)


def _check_loss(loss: object) -> None:
    if not callable(loss):
        msg = f"loss must be a function of the parameters, got {type(loss).__name__}"
        raise TypeError(msg)


def _scalars(values: object, name: str) -> dict[str, float]:
    """A mapping of names (strings) to real numbers, at least one: a ValueError or TypeError of one line."""
    values = arguments.mapping(values, name, "numbers by name")
    if not values:
        msg = f"{name} is empty: there is nothing to check"
        raise ValueError(msg)
    out = {}
    for key, value in values.items():
        if not isinstance(key, str):
            msg = f"{name} must be keyed by parameter names (strings), got the key {key!r}"
            raise TypeError(msg)
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) or (
                isinstance(value, float | np.floating) and np.isnan(value)):
            msg = f"{name}[{key!r}] must be a real number, got {value!r}"
            raise ValueError(msg)
        out[key] = float(value)
    return out


def _value(loss_value: object) -> float:
    """The loss a user's function returned, as a float: a NaN fails the check later, a non-number here."""
    array = np.asarray(loss_value)
    if array.shape != () or array.dtype.kind not in "iuf" or isinstance(loss_value, bool):
        msg = f"loss must return one real number, got {type(loss_value).__name__} {loss_value!r:.60}"
        raise ValueError(msg)
    return float(array)


def check_gradient(loss: Callable[[dict[str, np.ndarray]], float], params: Mapping[str, np.ndarray],
                   grads: Mapping[str, np.ndarray], *, directions: int = 3, eps: float = 1e-6,
                   rtol: float = 1e-6, seed: int = 0) -> None:
    """⟨∂L/∂θ, v⟩ against (L(θ + εv) − L(θ − εv)) / 2ε along random directions v, in float64.

    One projection checks every entry of every parameter at once (autograd's
    trick); an AssertionError prints both numbers. A NaN or infinite loss or
    gradient fails the check: it can never pass by comparing NaN with NaN.
    """
    _check_loss(loss)
    params = arguments.mapping(params, "params", "arrays by name")
    if not params:
        msg = "params is empty: there is nothing to check"
        raise ValueError(msg)
    grads = arguments.mapping(grads, "grads", "arrays by name")
    arguments.positive_int(directions, "directions", at_most=MAX_DIRECTIONS)
    eps, rtol = arguments.positive_number(eps, "eps"), arguments.positive_number(rtol, "rtol")
    seed = arguments.non_negative_int(seed, "seed")
    missing = [n for n in params if n not in grads]
    if missing:
        msg = f"grads has no gradient for {', '.join(map(str, missing))}; it must hold one per parameter"
        raise ValueError(msg)
    params = {n: arguments.numbers(params[n], f"params[{n!r}]") for n in params}
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
        numeric = (_value(loss(up)) - _value(loss(down))) / (2 * eps)
        analytic = float(sum(np.sum(grads[n] * v[n]) for n in params))
        scale = float(np.sqrt(sum(np.sum(grads[n] ** 2) for n in params)))
        yield analytic, numeric, scale
