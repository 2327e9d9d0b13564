"""The backends a compiled gradient runs on, and which one a call takes.

- ``numpy``: the generated NumPy module (in place), always there;
- ``numba``: the same schedule compiled by Numba (``pip install 'symbptt[numba]'``),
  compiled once per model and cached on disk across processes;
- ``array_api``: the module written against the array API standard, for
  PyTorch, JAX and CuPy arrays (``pip install 'symbptt[array-api]'``);
- ``auto`` (the default): arrays of another library go to ``array_api``;
  NumPy arrays go to ``numba`` where it is the faster (the hidden size ``h``
  at most :data:`NARROW`, where the per-operation cost of NumPy counts, or a
  cell of :data:`WIDE` at any size) and the model's Numba code is compiled
  already (in this process, or cached on disk by an earlier
  ``backend="numba"``): auto never makes a call wait the 15-25 s of a first
  compilation. Else ``numpy``. On wide arrays both spend their time in the
  same BLAS products: Numba is 3-4% faster for Elman, 3-4% slower for the gated
  cells (``benchmarks/numba_vs_numpy_wide.py``).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from typing import Any, NamedTuple

import numpy as np

from symbptt.codegen import jit, module
from symbptt.codegen.dialects import ARRAY_API, NUMBA, NUMPY
from symbptt.codegen.loops import GRADIENTS_ONLY, Outputs
from symbptt.derive import reverse, strategies
from symbptt.errors import NotSupportedError
from symbptt.model import cells, losses, sequences

BACKENDS = ("auto", "numpy", "numba", "array_api")
NARROW = 64  # h up to which the Numba module beats the NumPy one for every cell (README): 0.85-0.93× at h = 64
WIDE = ("linear", "elman")  # the cells it beats the NumPy one with at h = 256 too (0.96×); the gated cells' five
# tanh per step cost it more there than NumPy's SIMD tanh (1.03-1.04×: benchmarks/numba_vs_numpy_wide.py)
log = logging.getLogger("symbptt")


def check_backend(backend: Any) -> str:
    """``backend``, or a one-line refusal listing the backends."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        msg = f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}"
        raise ValueError(msg)
    name = backend
    if name == "numba":
        jit.numba_module()
    if name == "array_api":
        array_api_compat()
    return name


def numba_installed() -> bool:
    """Numba and SciPy (whose BLAS Numba's matrix products call) are both installed."""
    return importlib.util.find_spec("numba") is not None and jit.scipy_version() is not None


def array_api_compat() -> Any:
    """array_api_compat, or a one-line error that says how to install it."""
    try:
        import array_api_compat as compat  # noqa: PLC0415  (optional)
    except ImportError:
        msg = ("arrays of other libraries need array-api-compat, which is not installed: "
               "pip install 'symbptt[array-api]'")
        raise NotSupportedError(msg) from None
    return compat


def foreign(value: Any) -> bool:
    """An array of another library (PyTorch, JAX, CuPy): it speaks DLPack and is not NumPy's."""
    return hasattr(value, "__dlpack__") and not isinstance(value, np.ndarray)


class Model(NamedTuple):
    """What a compiled gradient is compiled for: the key of every cache here."""

    cell: str | cells.Cell
    activation: str
    loss: str
    strategy: str  # a strategy's name: its lengths are run-time values
    outputs: Outputs = GRADIENTS_ONLY  # ∂L/∂h0, the final state
    loss_at: str = "every"  # or "last": one target per sequence
    padded: bool = False  # sequences of different lengths: the masked cell, the loss weighed per step


def choose(model: Model, backend: str, arrays_foreign: bool, h: int) -> str:
    """The backend a call of ``model`` runs on."""
    if arrays_foreign and backend in ("auto", "array_api"):
        return "array_api"
    if backend != "auto":
        return backend
    faster = h <= NARROW or model.cell in WIDE  # a built-in cell's name, or a formula cell
    return "numba" if faster and numba_ready(model) else "numpy"


def source(model: Model, dialect: Any, strategy: strategies.Strategy | None = None) -> str:
    """The generated module of ``model`` in ``dialect``; with ``strategy``, its lengths written in as defaults."""
    step = derived(model.cell, model.activation, model.loss, model.padded, model.loss_at)
    chosen = strategy or strategies.kind_of(model.strategy)()
    return module.module_source(step, chosen, dialect, model.outputs, model.loss_at)


@functools.cache
def numba_ready(model: Model) -> bool:
    """Numba is installed and this model's code was compiled (on disk) when a call first asked, or since in this
    process: asked once per model, since looking through the cache folder costs more than a small gradient."""
    return numba_installed() and jit.compiled(source(model, NUMBA))


@functools.cache
def derived(cell: str | cells.Cell, activation: str, loss: str, padded: bool = False, loss_at: str = "every"
            ) -> reverse.ReverseStep:
    """The reverse step of a model: derived once per process. Padded sequences mask the cell's states
    (:func:`sequences.masked`); they and a loss at the last step weigh each loss term by ω_t."""
    made = cells.make_cell(cell, activation)
    weight = sequences.WEIGHT if padded or loss_at == "last" else reverse.BATCH_WEIGHT
    return reverse.derive_step(sequences.masked(made) if padded else made, losses.sized(loss, made.readout), weight)


@functools.cache
def namespace(model: Model, backend: str) -> tuple[dict[str, Any], float]:
    """The generated module of a backend for a kind of strategy, and the seconds its compilation took."""
    step = derived(model.cell, model.activation, model.loss, model.padded, model.loss_at)
    kind = strategies.kind_of(model.strategy)
    name = f"symbptt_{step.cell.name}_{model.activation}_{model.loss}_{kind.name}_{backend}"
    if backend == "numba":
        loaded = jit.load(source(model, NUMBA))
        seconds = jit.compile_core(loaded, step, kind())
        numba_ready.cache_clear()  # auto may take this model from now on
        log.info("compiled the numba backend of %s in %.1f s (cached in %s)", name, seconds, jit.cache_folder())
        return vars(loaded), seconds
    if backend == "array_api":
        array_api_compat()
        return module.exec_module(source(model, ARRAY_API), name), 0.0
    return module.exec_module(source(model, NUMPY), name), 0.0
