"""The checks every stage makes of its arguments, each one line naming the value and what is allowed."""

from __future__ import annotations

import math

import numpy as np
import sympy as sp


def positive_int(value: object, name: str, context: str = "") -> int:
    """``value`` as an int ≥ 1 (a bool is not one), or a ValueError: ``name must be an integer >= 1…``."""
    if isinstance(value, bool) or not isinstance(value, int | sp.Integer | np.integer) or int(value) < 1:
        msg = f"{name} must be an integer >= 1{context}, got {value!r}"
        raise ValueError(msg)
    return int(value)


def positive_number(value: object, name: str) -> float:
    """``value`` as a finite float > 0 (a bool is not one), or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) or not (
            math.isfinite(value) and value > 0):
        msg = f"{name} must be a finite number > 0, got {value!r}"
        raise ValueError(msg)
    return float(value)
