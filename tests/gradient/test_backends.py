"""The backends agree: the array API module (on NumPy arrays here) and the choice ``auto`` makes."""

import ast
import subprocess
import sys

import numpy as np
import pytest

import symbptt
from symbptt.errors import NotSupportedError
from symbptt.gradient import backends

from ..backend_cases import CELLS, STRATEGY_ARGUMENTS, arrays, assert_close, make

QUICK = {("lstm", "window", "squared"), ("formula", "tbptt", "cross_entropy"), ("elman-relu", "last", "squared"),
         ("gru", "randomized", "squared")}  # the rest of the product: the slow run


@pytest.mark.parametrize(("cell", "strategy", "loss"), [
    pytest.param(cell, strategy, loss, marks=() if (cell, strategy, loss) in QUICK else pytest.mark.slow)
    for cell in CELLS for strategy in STRATEGY_ARGUMENTS for loss in ("squared", "cross_entropy")])
def test_the_array_api_module_equals_the_numpy_module(cell, strategy, loss):
    numpy_grad, portable = make(cell, strategy, loss), make(cell, strategy, loss, backend="array_api")
    for seed, (T, B) in enumerate([(5, 2), (1, 1), (7, 3)]):
        params, X, Y, initial = arrays(numpy_grad, seed, T=T, B=B, loss=loss)
        assert_close(portable(params, X, Y, *initial), numpy_grad(params, X, Y, *initial))


def test_auto_takes_numpy_where_nothing_is_compiled():
    grad = make("elman-tanh")
    params, X, Y, initial = arrays(grad, 0)
    grad(params, X, Y, *initial)
    assert grad.compile_seconds == {"numpy": 0.0}  # no call waits for a compiler it did not ask for


@pytest.mark.parametrize(("foreign", "h", "expected"), [
    (True, 4, "array_api"), (False, 4, "numpy"), (False, 256, "numpy"),
])
def test_the_choice_of_auto(foreign, h, expected):
    assert backends.choose(backends.Model("elman", "tanh", "squared", "full"), "auto", foreign, h) == expected


@pytest.mark.parametrize(("cell", "h", "expected"), [
    ("elman", 4, "numba"), ("elman", 256, "numba"), ("linear", 256, "numba"), ("lstm", 64, "numba"),
    ("lstm", 256, "numpy"), ("gru", 256, "numpy"),
])
def test_auto_takes_numba_once_compiled_where_it_measured_faster(monkeypatch, cell, h, expected):
    """benchmarks/numba_vs_numpy_wide.py: faster at h <= 64 for every cell, at h = 256 for elman only."""
    monkeypatch.setattr(backends, "numba_ready", lambda model: True)
    assert backends.choose(backends.Model(cell, "tanh", "squared", "full"), "auto", False, h) == expected


def test_an_explicit_backend_is_kept_for_numpy_arrays():
    assert backends.choose(backends.Model("elman", "tanh", "squared", "full"), "numpy", False, 1) == "numpy"
    assert backends.choose(backends.Model("elman", "tanh", "squared", "full"), "array_api", False, 1) == "array_api"


@pytest.mark.parametrize("bad", ["cuda", "", "NUMPY", 3, None, ["numpy"]])
def test_an_unknown_backend_is_refused_in_one_line(bad):
    with pytest.raises(ValueError, match=r"backend must be one of auto, numpy, numba, array_api; got ") as caught:
        symbptt.compile_gradient("elman", backend=bad)
    assert "\n" not in str(caught.value)


def test_a_missing_numba_is_one_line_saying_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    with pytest.raises(NotSupportedError, match=r"backend 'numba' needs Numba, which is not installed: pip install"):
        symbptt.compile_gradient("elman", backend="numba")


def test_a_missing_scipy_is_one_line_saying_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)  # Numba's matrix products call SciPy's BLAS
    with pytest.raises(NotSupportedError, match=r"backend 'numba' needs SciPy for its matrix products .*: pip install "
                                                r"'symbptt\[numba\]'$") as caught:
        symbptt.compile_gradient("elman", backend="numba")
    assert "\n" not in str(caught.value)
    assert not backends.numba_installed()  # so auto never takes it


@pytest.mark.parametrize("backend", ["numpy", "numba", "array_api"])
def test_every_module_is_python_and_names_what_it_needs(backend):
    source = make("lstm", "window").module_source(backend)
    tree = ast.parse(source)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in node.names} | {node.module for node in ast.walk(tree)
                                            if isinstance(node, ast.ImportFrom) and node.module}
    expected = {"numpy": {"numpy"}, "numba": {"numpy", "numba", "llvmlite"},  # llvmlite comes with Numba
                "array_api": {"numpy", "array_api_compat", "array_namespace", "device"}}
    assert imported <= expected[backend]
    assert "torch" not in source and "jax" not in source.replace("JAX", "")  # nothing of theirs differentiates


def test_the_array_api_module_runs_standalone(tmp_path):
    grad = make("gru", "window")
    (tmp_path / "generated.py").write_text(grad.module_source("array_api"))
    params, X, Y, initial = arrays(grad, 3)
    np.savez(tmp_path / "inputs.npz", X=X, Y=Y, h0=initial[0], **params)
    script = ("import numpy, generated\n"
              "data = dict(numpy.load('inputs.npz'))\n"
              "X, Y, h0 = data.pop('X'), data.pop('Y'), data.pop('h0')\n"
              "out = generated.grad(data, X, Y, h0)\n"
              "numpy.savez('out.npz', **out)\n")
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
    out = dict(np.load(tmp_path / "out.npz"))
    assert_close(out, grad(params, X, Y, *initial))


SCALAR_STRATEGIES = {"full": {}, "window": {"tau": 2}, "chunked": {"tau": 3}, "randomized": {"pi": 0.5, "seed": 2},
                     "tbptt": {"k1": 2, "k2": 3}, "last": {"tau": 2}}


@pytest.mark.parametrize("activation", ["identity", "tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("strategy", tuple(SCALAR_STRATEGIES))
def test_the_float_program_equals_the_numpy_program(activation, strategy):
    """One sample runs the straight-line program on Python floats; a batch of one runs it on NumPy."""
    grad = symbptt.compile_scalar_gradient("elman", 7, activation=activation, strategy=strategy,
                                           **SCALAR_STRATEGIES[strategy])
    rng = np.random.default_rng(5)
    params = dict(zip(grad.param_names, rng.uniform(-1, 1, len(grad.param_names)), strict=True))
    x, y = rng.uniform(-1, 1, 7), rng.uniform(-1, 1, 7)
    floats, arrays_ = grad(params, x, y, h0=0.2), grad(params, x[:, None], y[:, None], h0=np.array([0.2]))
    assert floats.keys() == arrays_.keys()
    for name in floats:
        assert floats[name] == pytest.approx(arrays_[name], rel=1e-12, abs=1e-14)


def test_the_float_program_takes_relus_derivative_at_zero_as_zero():
    grad = symbptt.compile_scalar_gradient("elman", 4, activation="relu")
    params = dict.fromkeys(grad.param_names, 0.0)  # every pre-activation is exactly 0
    floats, arrays_ = grad(params, np.zeros(4), np.ones(4)), grad(params, np.zeros((4, 1)), np.ones((4, 1)))
    assert floats == arrays_
    assert floats["W_hh"] == 0.0 and floats["b_h"] == 0.0  # relu'(0) = 0: nothing reaches the hidden weights


def test_a_scalar_program_refuses_an_unknown_backend():
    with pytest.raises(ValueError, match=r"backend of a scalar program must be numpy or numba; got 'jax'"):
        symbptt.compile_scalar_gradient("elman", 3, backend="jax")


def test_the_command_line_takes_a_backend(tmp_path, capsys):
    from symbptt.cli.commands import main

    grad = make("elman-tanh")
    params, X, Y, initial = arrays(grad, 6)
    np.savez(tmp_path / "in.npz", X=X, Y=Y, h0=initial[0], **params)
    assert main(["grad", str(tmp_path / "in.npz"), "--cell", "elman", "--backend", "numpy",
                 "--out", str(tmp_path / "g.npz")]) == 0
    assert_close(dict(np.load(tmp_path / "g.npz")), grad(params, X, Y, *initial))
    assert main(["code", "--cell", "elman", "--backend", "array_api", "--out", str(tmp_path / "m.py")]) == 0
    assert "from array_api_compat import array_namespace, device" in (tmp_path / "m.py").read_text()
    with pytest.raises(SystemExit) as usage:
        main(["grad", str(tmp_path / "in.npz"), "--cell", "elman", "--backend", "jax",
              "--out", str(tmp_path / "h.npz")])
    assert usage.value.code == 2 and "invalid choice: 'jax'" in capsys.readouterr().err
    assert not (tmp_path / "h.npz").exists()
