"""The checks of a compiled gradient's call beyond its parameters: the targets' axes, ``lengths``, ``xi``, and
the float64 that arrays of other libraries must be in. Each a one-line ValueError naming the value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from symbptt import arguments
from symbptt.derive import strategies
from symbptt.gradient import backends


def target_axes(X: np.ndarray, loss_at: str, last: tuple[str, ...]) -> tuple[str, ...]:
    """The letters of Y's shape: (T, B, …), or (B, …) for one target per sequence; without B for one sample."""
    return ("T",) * (loss_at == "every") + ("B",) * (X.ndim == 3) + last


def check_lengths(lengths: Any, T: int, B: int) -> np.ndarray:
    """``lengths`` as B integers in 1..T, or a one-line ValueError."""
    array = arguments.as_array(lengths, "lengths", "integers")
    if array.dtype.kind not in "iu":
        msg = f"lengths must hold integers, got dtype {array.dtype}"
        raise ValueError(msg)
    arguments.shape(array, "lengths", (B,), ("B",), {"B": "X"})
    if array.size and (array.min() < 1 or array.max() > T):
        index = int(np.argmax((array < 1) | (array > T)))
        msg = f"lengths must be integers in 1..T = 1..{T}, got {int(array[index])} at index {index}"
        raise ValueError(msg)
    return array


def check_float64(params: Any, *arrays: Any) -> None:
    """Arrays of another library are computed on as given: they must be float64 already (Y may hold class ids)."""
    named = dict(zip(("X", "Y", "h0", "c0", "xi"), arrays, strict=True))
    named |= dict(params) if isinstance(params, Mapping) else {}
    for name, value in named.items():
        dtype = str(getattr(value, "dtype", ""))
        if backends.foreign(value) and "float" in dtype and not dtype.endswith("float64"):
            msg = (f"{name} is a {type(value).__module__.split('.')[0]} array of {dtype}; arrays of other libraries "
                   "are computed on as given and must be float64 (JAX: jax.config.update('jax_enable_x64', True))")
            raise ValueError(msg)


def check_xi(xi: Any, T: int, chosen: strategies.Strategy) -> np.ndarray | None:
    """``xi`` checked against the strategy and T: None where pi samples it, else (T,) floats >= 0."""
    randomized = isinstance(chosen, strategies.Randomized)
    pi = getattr(chosen, "pi", None)
    if xi is None:
        if randomized and pi is None:
            msg = "strategy 'randomized' needs xi (length T) at call time, or pi at compile time"
            raise ValueError(msg)
        if randomized and isinstance(pi, tuple) and len(pi) != T:
            msg = f"pi must be a number or have length T = {T}, got length {len(pi)}"
            raise ValueError(msg)
        return None
    if not randomized:
        msg = f"xi applies to the randomized strategy only, not {chosen.name!r}"
        raise ValueError(msg)
    xi = arguments.float_array(xi, "xi")
    arguments.shape(xi, "xi", (T,), ("T",), {"T": "X"})
    if (xi < 0).any():
        msg = f"xi must be >= 0, got {float(xi.min())!r} at index {int(xi.argmin())}"
        raise ValueError(msg)
    return xi
