"""The Numba backend: the same numbers as the NumPy backend to 1e-12, for every cell (every strategy:
``test_numba_strategies.py``; two files, so that CI's two workers share the compiling).

Compiling one model takes 15-25 s, so each cell is checked under ``full`` and
each strategy on elman-tanh, plus the pairs that exercise the most code (two
states travelling under window and tbptt, the randomized carry of a gated
cell, a formula cell's truncation). Sizes and values are Hypothesis's.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbptt

from ..backend_cases import CELLS, arrays, assert_close, make, numba_equals_numpy
from ..helpers import library

pytestmark = pytest.mark.slow

@pytest.mark.parametrize("cell", CELLS)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), T=st.integers(1, 9), B=st.integers(1, 3), sizes=st.tuples(
    st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)))
def test_numba_equals_numpy_for_every_cell(numba_cache, cell, seed, T, B, sizes):
    numba_equals_numpy(cell, "full", seed, T, B, sizes)


def test_cross_entropy_and_one_sample_without_a_batch_axis(numba_cache):
    numba_grad, numpy_grad = (make("lstm", "window", "cross_entropy", backend=b) for b in ("numba", "numpy"))
    params, X, Y, initial = arrays(numpy_grad, 5, B=1, loss="cross_entropy")
    assert_close(numba_grad(params, X[:, 0], Y[:, 0]), numpy_grad(params, X[:, 0], Y[:, 0]))
    assert_close(numba_grad(params, X, Y, *initial), numpy_grad(params, X, Y, *initial))


def test_auto_takes_the_compiled_numba_module_narrow_and_for_elman_wide(numba_cache):
    make("elman-tanh", backend="numba")  # compiled: in the cache folder from now on
    grad = make("elman-tanh", backend="auto")
    narrow = arrays(grad, 0, B=1, h=4)
    grad(narrow[0], narrow[1], narrow[2], *narrow[3])
    assert "numba" in grad.compile_seconds
    wide = make("elman-tanh", backend="auto")
    params, X, Y, initial = arrays(wide, 0, B=2, h=80)  # h = 80 > backends.NARROW, but elman is in backends.WIDE
    wide(params, X, Y, *initial)
    assert "numba" in wide.compile_seconds


def test_a_second_process_loads_the_compiled_code_from_the_cache(numba_cache):
    make("elman-sigmoid", backend="numba")
    script = ("import symbptt\n"
              "g = symbptt.compile_gradient('elman', activation='sigmoid', backend='numba')\n"
              "print(g.compile_seconds['numba'])\n")
    run = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True,
                         env={**os.environ, "SYMBPTT_CACHE": str(numba_cache)})
    assert float(run.stdout) < 5.0  # loading, not compiling (15-25 s)


def test_large_weights_overflow_the_same_way(numba_cache):
    numba_grad, numpy_grad = make("elman-tanh", backend="numba"), make("elman-tanh")
    params, X, Y, initial = arrays(numpy_grad, 2)
    params = {n: 300.0 * v for n, v in params.items()}  # tanh saturates: ±1 exactly, no NaN
    assert_close(numba_grad(params, X, Y, *initial), numpy_grad(params, X, Y, *initial))
    assert all(np.isfinite(v).all() for v in numba_grad(params, X, Y, *initial).values())


@pytest.mark.parametrize(("strategy", "arguments"), [("full", {}), ("window", {"tau": 2}),
                                                     ("randomized", {"pi": 0.5, "seed": 3}), ("last", {"tau": 3})])
def test_the_compiled_straight_line_program_equals_the_numpy_one(numba_cache, strategy, arguments):
    jitted = symbptt.compile_scalar_gradient("elman", 8, strategy=strategy, backend="numba", **arguments)
    plain = symbptt.compile_scalar_gradient("elman", 8, strategy=strategy, **arguments)
    assert jitted.compile_seconds > 0
    rng = np.random.default_rng(8)
    params = dict(zip(plain.param_names, rng.uniform(-1, 1, 5), strict=True))
    x, y = rng.uniform(-1, 1, (8, 3)), rng.uniform(-1, 1, (8, 3))
    for inputs in ((x, y), (x[:, 0], y[:, 0])):
        a, b = jitted(params, *inputs), plain(params, *inputs)
        for name in a:
            assert a[name] == pytest.approx(b[name], rel=1e-12, abs=1e-14)


def test_the_command_line_says_it_compiles(numba_cache, tmp_path, capsys):
    from symbptt.cli.commands import main

    grad = make("elman-tanh")
    params, X, Y, initial = arrays(grad, 9)
    np.savez(tmp_path / "in.npz", X=X, Y=Y, h0=initial[0], **params)
    assert main(["grad", str(tmp_path / "in.npz"), "--cell", "elman", "--backend", "numba",
                 "--out", str(tmp_path / "g.npz")]) == 0
    err = capsys.readouterr().err
    assert "symbptt: compiling the numba backend" in err and "numba backend ready in" in err
    assert_close(dict(np.load(tmp_path / "g.npz")), grad(params, X, Y, *initial))


EDGES = np.array([0.0, -0.0, 1e-300, -1e-300, 5e-324, 1e-8, -1e-8, 0.625, -0.625, np.nextafter(0.625, 0), 19.06, 20.0,
                  -20.0, 354.0, 709.78, 709.79, 710.0, -708.5, -745.1, -745.2, -1e4, 1e4, 1e308, -1e308,
                  np.inf, -np.inf, np.nan])


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    """The Numba module's helpers alone, compiled (tanh and exp written so that LLVM vectorizes them)."""
    library("numba")
    library("scipy")
    from symbptt.codegen import jit, module
    from symbptt.codegen.dialects import NUMBA

    imports = "\n".join(module.PREAMBLE[NUMBA][1])
    with pytest.MonkeyPatch.context() as patch:  # compiled in a few seconds: no cache kept
        patch.setenv("SYMBPTT_CACHE", str(tmp_path_factory.mktemp("kernels")))
        return jit.load(f"{imports}\n\n{module.helpers_source(NUMBA)}")


def assert_same_function(ours, numpys):
    """Within 2 ulp where the result is a normal number; exactly the same 0, ±inf, NaN, and the sign of a zero."""
    special = ~np.isfinite(numpys) | (numpys == 0)
    np.testing.assert_array_equal(ours[special], numpys[special])
    zero = numpys == 0
    assert np.array_equal(np.signbit(ours[zero]), np.signbit(numpys[zero]))
    normal = ~special & (np.abs(numpys) >= np.finfo(float).tiny)
    assert np.all(np.abs(ours[normal] - numpys[normal]) <= 2 * np.spacing(np.abs(numpys[normal])))
    subnormal = ~special & ~normal  # e^x below 2.2e-308: relative precision is lost there, in NumPy too
    assert np.all(np.abs(ours[subnormal] - numpys[subnormal]) <= 4 * np.finfo(float).smallest_subnormal)


@pytest.mark.parametrize("name", ["tanh", "exp"])
def test_the_vectorized_tanh_and_exp_equal_numpys_over_the_whole_range(kernels, name):
    rng = np.random.default_rng(0)
    ours, numpys = getattr(kernels, f"_{name}"), getattr(np, name)
    samples = [EDGES, rng.standard_normal(200_000) * 3, rng.uniform(-800, 800, 10_000), rng.uniform(-1e-3, 1e-3, 1000),
               np.linspace(0.62, 0.63, 1001), rng.standard_normal((4, 3, 5)), rng.standard_normal((6, 5)).T]
    with np.errstate(over="ignore", invalid="ignore"):
        for x in samples:
            got = ours(x)
            assert got.shape == x.shape
            assert_same_function(got, numpys(x))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(width=64), min_size=1, max_size=40))
def test_the_vectorized_tanh_and_exp_for_any_floats(kernels, values):
    x = np.array(values)
    with np.errstate(over="ignore", invalid="ignore"):
        assert_same_function(kernels._tanh(x), np.tanh(x))
        assert_same_function(kernels._exp(x), np.exp(x))


def test_tanh_writes_into_a_slice_and_bias_rows_add_as_numpy_broadcasts(kernels):
    """The forward step's forms: ``_tanh(z, h[t])`` fills h_t in place, ``_sigmoid`` a gate; ``_add_rows(stack, b)``
    is stack += b."""
    rng = np.random.default_rng(1)
    h = np.zeros((4, 3, 5))
    z = rng.standard_normal((3, 5)) * 4
    assert kernels._tanh(z, h[2]) is not None
    np.testing.assert_array_equal(h[2], kernels._tanh(z))
    assert not h[[0, 1, 3]].any()  # nothing written outside the slice
    with np.errstate(over="ignore"):
        for x in (EDGES, rng.standard_normal(1000) * 30):  # σ in one pass: the three passes' numbers, bit for bit
            np.testing.assert_array_equal(kernels._sigmoid(x), 0.5 + 0.5 * kernels._tanh(0.5 * x))
    kernels._sigmoid(z, h[1])
    np.testing.assert_array_equal(h[1], 0.5 + 0.5 * kernels._tanh(0.5 * z))
    stack, b = rng.standard_normal((6, 3, 5)), rng.standard_normal(5)
    expected = stack[1:] + b
    kernels._add_rows(stack[1:], b)
    np.testing.assert_array_equal(stack[1:], expected)


def _vm_flags(address: int) -> list[str]:
    """The VmFlags of the mapping holding ``address`` in this process (Linux's /proc/self/smaps)."""
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()[0]
        if "-" in head and not head.endswith(":"):
            low, high = (int(part, 16) for part in head.split("-"))
            inside = low <= address < high
        elif inside and head == "VmFlags:":
            return line.split()[1:]
    return []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise(MADV_HUGEPAGE) is Linux's")
def test_large_buffers_are_advised_onto_huge_pages_as_numpys_are(kernels):
    """A (T, B, h) buffer of 4 MiB or more asks for transparent huge pages (VmFlags ``hg``), as NumPy's own do:
    without it the compiled backend's products ran 1.5 ms slower at (100, 32, 256), in TLB misses."""
    large = kernels._empty((101, 32, 256))  # 6.6 MB
    assert large.shape == (101, 32, 256)
    assert "hg" in _vm_flags(large.ctypes.data + large.nbytes // 2)
    small = kernels._empty((8, 8))
    assert small.shape == (8, 8)


def test_the_vectorized_tanh_is_within_one_and_a_half_ulp_of_the_exact_tanh(kernels):
    """Against tanh to 120 bits (mpmath), where the two forms meet (0.625) and where the rational form was worst
    (0.54): x + x z P/Q and 1 − 2/(e + 1) add a small correction; (e − 1)/(e + 1) and the whole fraction reached
    2.1 ulp there, 3 ulp from NumPy's."""
    from mpmath import mp, mpf
    from mpmath import tanh as exact_tanh

    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(0.5, 0.7, 1500), -rng.uniform(0.5, 0.7, 500), rng.standard_normal(1000) * 3])
    ours = kernels._tanh(x)
    with mp.workprec(120):
        error = [abs(float((mpf(float(o)) - exact_tanh(mpf(float(v)))) / mpf(float(np.spacing(abs(np.tanh(v)))))))
                 for v, o in zip(x, ours, strict=True)]
    assert max(error) <= 1.5
