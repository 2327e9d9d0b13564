"""The checks every stage makes of its arguments, each one line naming the value and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

MAX_LENGTH = 2**62  # a strategy's length: compiled code adds it to a time step in int64 arithmetic


def positive_int(value: object, name: str, context: str = "", at_most: int | None = None) -> int:
    """``value`` as an int ≥ 1 (a bool is not one), or a ValueError: ``name must be an integer >= 1…``.

    ``at_most`` bounds the work a number asks for (the steps written out) or what an int64 holds."""
    if isinstance(value, bool) or not isinstance(value, int | sp.Integer | np.integer) or int(value) < 1:
        msg = f"{name} must be an integer >= 1{context}, got {value!r}"
        raise ValueError(msg)
    if at_most is not None and int(value) > at_most:
        msg = f"{name} must be at most {at_most}{context}, got {value!r}"
        raise ValueError(msg)
    return int(value)


def flag(value: object, name: str) -> bool:
    """``value`` if it is True or False (NumPy's bool too), or a ValueError: ``name must be True or False…``."""
    if not isinstance(value, bool | np.bool_):
        msg = f"{name} must be True or False, got {value!r}"
        raise ValueError(msg)
    return bool(value)


def non_negative_int(value: object, name: str) -> int:
    """``value`` as an int ≥ 0 (a bool is not one), or a ValueError: ``name must be an integer >= 0…``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < 0:
        msg = f"{name} must be an integer >= 0, got {value!r}"
        raise ValueError(msg)
    return int(value)


def mapping(value: object, name: str, holding: str) -> Mapping[Any, Any]:
    """``value`` if it is a mapping (a dict), or a TypeError: ``name must be a mapping of <holding>…``."""
    if not isinstance(value, Mapping):
        msg = f"{name} must be a mapping of {holding}, got {type(value).__name__}"
        raise TypeError(msg)
    return value


def positive_number(value: object, name: str) -> float:
    """``value`` as a finite float > 0 (a bool is not one), or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) or not (
            math.isfinite(value) and value > 0):
        msg = f"{name} must be a finite number > 0, got {value!r}"
        raise ValueError(msg)
    return float(value)


def as_array(value: Any, name: str, holding: str = "floats") -> np.ndarray:
    """``np.asarray(value)``, or a ValueError of one line: a ragged list, a tensor that requires grad."""
    if getattr(value, "requires_grad", False):  # PyTorch refuses to share it with NumPy
        msg = (f"{name} is a tensor that requires grad: pass {name}.detach() (symbptt derives the gradient "
               "itself; no autograd is needed)")
        raise ValueError(msg)
    try:
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError):
        msg = f"{name} must be an array of {holding} (a rectangular one), got {type(value).__name__}"
        raise ValueError(msg) from None


def numbers(value: object, name: str) -> np.ndarray:
    """``value`` as a float64 array of real numbers, or a TypeError: ``name must be an array of numbers…``."""
    try:
        arr = as_array(value, name, "numbers")
    except ValueError as exc:
        raise TypeError(str(exc)) from None
    if arr.dtype.kind not in "iuf":
        msg = f"{name} must be an array of numbers (real), got {type(value).__name__} of dtype {arr.dtype}"
        raise TypeError(msg)
    return arr.astype(np.float64)


def float_array(value: Any, name: str) -> np.ndarray:
    """A float64 array, or a ValueError naming the array: integers, NaN and infinities are refused."""
    arr = as_array(value, name)
    if arr.dtype.kind != "f" or arr.dtype.itemsize > 8:  # longdouble would lose digits silently
        msg = f"{name} must be an array of floats, got dtype {arr.dtype}"
        raise ValueError(msg)
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        first = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        at = f" at index {first}" if first else ""
        msg = f"{name} contains NaN or infinite values (the first: {float(arr[first])!r}{at})"
        raise ValueError(msg)
    return arr


def shape(arr: np.ndarray, name: str, expected: tuple[int, ...], symbolic: tuple[str, ...],
          origins: Mapping[str, str] | None = None) -> np.ndarray:
    """``arr`` of shape ``expected``; the refusal says where each size was read (``h = 4 from W_hx``)."""
    if arr.shape != tuple(expected):
        read = [f"{s} = {n} from {origins[s]}" for s, n in zip(symbolic, expected, strict=True)
                if origins and origins.get(s, name) != name]
        where = f" ({', '.join(dict.fromkeys(read))})" if read else ""
        letters = f"({symbolic[0]},)" if len(symbolic) == 1 else f"({', '.join(symbolic)})"
        msg = f"{name} has shape {arr.shape}, expected {letters} = {tuple(expected)}{where}"
        raise ValueError(msg)
    return arr


def probability(value: object) -> float:
    """A keep-probability in (0, 1]."""
    if isinstance(value, bool | str | bytes):  # float("0.5") and float(b"0.5") would read them
        p = math.nan
    else:
        try:
            p = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            p = math.nan
    if not 0 < p <= 1:  # also False for NaN
        msg = f"keep-probability pi must be in (0, 1], got {value!r}"
        raise ValueError(msg)
    return p
