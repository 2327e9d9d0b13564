"""symbptt: backpropagation through time derived symbolically, printed as LaTeX, compiled to NumPy.

One package per pipeline stage (``docs/architecture.md`` draws them); each imports only from those before it
(``LAYERS`` in ``tests/test_layering.py``):

    model/      what is differentiated: operations, the matrix vocabulary, cells, losses, the size-one views, the graph
    derive/     the symbolic work: the strategies, steps as data, the linear recurrence, E1-E9, VJP rules, E10-E18
    codegen/    from derived equations to source: names, the statement IR, runtimes, printers, passes, modules
    gradient/   the compiled gradients and what acts on them: compile_gradient, the scalar programs, the
                backends, clipping, central differences
    document/   the LaTeX output: notation, layout, narration, documents, the evidence lines, the handout
    analysis/   the section's claims measured and drawn
    cli/        the command line

and on the ground floor: ``errors``, ``arguments`` (the checks every stage makes), ``inputs`` and ``files``
(what the command line reads and writes), ``extend`` (the front door for new cells). This module re-exports the
public API, listed in ``__all__``.
"""

from __future__ import annotations

import symbptt.document.latex  # noqa: F401  (it tells derivations how to show themselves in a notebook)
from symbptt._version import __version__
from symbptt.derive.one_state import explicit, symbolic
from symbptt.derive.recurrence import LinearRecurrence
from symbptt.derive.steps import Derivation, Step
from symbptt.derive.strategies import STRATEGIES, Strategy
from symbptt.errors import NotSupportedError, ProofError, SymbpttError
from symbptt.gradient.api import Gradient, NonFiniteWarning, compile_gradient
from symbptt.gradient.checks import assert_gradients_close, central_difference, check_gradient
from symbptt.gradient.clipping import clip_norm, clip_value
from symbptt.gradient.pytorch import from_torch, to_torch
from symbptt.gradient.scalar_api import ScalarGradient, compile_scalar_gradient
from symbptt.model.formula import cell_from_formulas, cell_from_text
from symbptt.model.graph import UnrolledGraph, unroll
from symbptt.model.scalar import ScalarModel, make_model

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
    "from_torch",
    "make_model",
    "symbolic",
    "to_torch",
    "unroll",
]


def __dir__() -> list[str]:
    return __all__
