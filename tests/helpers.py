import functools
import os
import shutil

import numpy as np
import pytest

import symbptt


@functools.cache
def compiled(cell, activation, T, strategy="full", tau=None):
    return symbptt.compile_scalar_gradient(cell, T, activation=activation, strategy=strategy, tau=tau)


def draw_inputs(grad, T, B, seed):
    rng = np.random.default_rng(seed)
    params = {n: float(v) for n, v in zip(grad.param_names, rng.uniform(-1, 1, len(grad.param_names)), strict=True)}
    x = rng.uniform(-1, 1, (T, B))
    y = rng.uniform(-1, 1, (T, B))
    h0 = rng.uniform(-1, 1, B)
    return params, x, y, h0


def library(name, reason=""):
    """An optional library, imported; skipped where it is missing, naming it, unless CI requires the backends
    (SYMBPTT_REQUIRE_BACKENDS: there a missing library fails the test)."""
    if os.environ.get("SYMBPTT_REQUIRE_BACKENDS"):
        return __import__(name)
    return pytest.importorskip(name, reason=reason or f"{name} is not installed")


def backend_available(backend):
    """``backend``, once the libraries it needs are there (skipped, naming them, where not: see :func:`library`)."""
    if backend == "numba":
        library("numba")
        library("scipy", "scipy is not installed: the Numba backend needs it for its matrix products")
    if backend == "array_api":
        library("array_api_compat")
    return backend


def _tex_required() -> bool:
    return bool(os.environ.get("SYMBPTT_REQUIRE_TEX"))


# CI sets SYMBPTT_REQUIRE_TEX: there a missing engine fails the TeX tests instead of skipping them.
needs_tex = pytest.mark.skipif(
    shutil.which("pdflatex") is None and not _tex_required(), reason="no TeX engine installed"
)
# and .ci/run installs Graphviz beside TeX: the same variable makes its tests required
needs_graphviz = pytest.mark.skipif(
    shutil.which("dot") is None and not _tex_required(), reason="Graphviz's dot is not installed"
)


def targets(rng, loss, shape):
    """Y for a loss, shaped (T, B, q) as the contract says: class ids, probabilities for bce, or any floats."""
    if loss == "cross_entropy":
        return rng.integers(0, shape[-1], shape[:-1])
    if loss == "bce":
        return rng.uniform(0, 1, shape)
    return rng.standard_normal(shape)
