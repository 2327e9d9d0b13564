"""symbptt: backpropagation through time derived symbolically, printed as LaTeX, compiled to NumPy.

Layering (each module imports only from those above it):
errors → ops → runtime → model → graph → chain → recurrence → strategies → derive →
matrices → cells → rules → adjoints → program → codegen → loopgen → gradient →
latex → checks → cli.
"""

from __future__ import annotations

__version__ = "0.1.0"

from symbptt.api import (
    Gradient,
    ScalarGradient,
    clip_norm,
    clip_value,
    compile_gradient,
    compile_scalar_gradient,
)
from symbptt.checks import assert_gradients_close, central_difference, check_gradient
from symbptt.derive.forward import explicit, symbolic
from symbptt.derive.recurrence import LinearRecurrence
from symbptt.derive.steps import Derivation, Step
from symbptt.errors import NotSupportedError, ProofError, SymbpttError
from symbptt.model.graph import UnrolledGraph, unroll
from symbptt.model.scalar import ScalarModel, make_model
from symbptt.strategies import STRATEGIES, Strategy

__all__ = [
    "STRATEGIES",
    "Derivation",
    "Gradient",
    "LinearRecurrence",
    "NotSupportedError",
    "ProofError",
    "ScalarGradient",
    "ScalarModel",
    "Step",
    "Strategy",
    "SymbpttError",
    "UnrolledGraph",
    "__version__",
    "assert_gradients_close",
    "central_difference",
    "check_gradient",
    "clip_norm",
    "clip_value",
    "compile_gradient",
    "compile_scalar_gradient",
    "explicit",
    "make_model",
    "symbolic",
    "unroll",
]


def __dir__() -> list[str]:
    return __all__
