"""symbptt: backpropagation through time derived symbolically, printed as LaTeX, compiled to NumPy.

The pipeline, one package or module per stage (``docs/architecture.md``):

    model/      operations, the matrix vocabulary, cells (one registry), losses, the scalar view, the graph
    strategies  the truncation strategies, each owning its forward and reverse form
    derive/     steps as data, the linear recurrence, the chain rule, E1-E9, VJP rules, E10-E16
    codegen/    names, the statement IR, runtime helpers, printing, passes, storage, loops, modules
    notation    the textbook's notation for one expression
    latex       derivations laid out as LaTeX (long sums broken, long lists elided)
    api         compile_gradient, compile_scalar_gradient, clipping
    checks      central differences
    extend      the front door for new cells, activations and VJP rules
    cli         the command line

Each module imports only from the modules listed before it (``LAYERS`` in
``tests/test_layering.py``); the CLI and this file sit on top.
"""

from __future__ import annotations

from symbptt._version import __version__
from symbptt.api import Gradient, NonFiniteWarning, compile_gradient
from symbptt.checks import assert_gradients_close, central_difference, check_gradient
from symbptt.clipping import clip_norm, clip_value
from symbptt.derive.forward import explicit, symbolic
from symbptt.derive.recurrence import LinearRecurrence
from symbptt.derive.steps import Derivation, Step
from symbptt.errors import NotSupportedError, ProofError, SymbpttError
from symbptt.model.formula import cell_from_formulas, cell_from_text
from symbptt.model.graph import UnrolledGraph, unroll
from symbptt.model.scalar import ScalarModel, make_model
from symbptt.scalar_api import ScalarGradient, compile_scalar_gradient
from symbptt.strategies import STRATEGIES, Strategy

__all__ = [
    "STRATEGIES",
    "Derivation",
    "Gradient",
    "LinearRecurrence",
    "NonFiniteWarning",
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
    "cell_from_formulas",
    "cell_from_text",
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
