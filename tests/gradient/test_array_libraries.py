"""The array API module on PyTorch tensors and JAX arrays: NumPy's numbers to 1e-12, their arrays back.

Nothing of theirs differentiates: their autodiff entry points are made to
fail for the duration of each call. CI installs both (``.ci/run``) and sets
SYMBPTT_REQUIRE_BACKENDS, so there a missing library fails instead of skipping.
"""


import numpy as np
import pytest

import symbptt

from ..backend_cases import CELLS, STRATEGY_ARGUMENTS, arrays, assert_close, make
from ..helpers import library


def _library(name):
    return library(name)


def _no_autodiff(monkeypatch, torch=None, jax=None):
    def refuse(*args, **kwargs):
        msg = "autodiff was called"
        raise AssertionError(msg)

    if torch is not None:
        monkeypatch.setattr(torch.autograd, "grad", refuse)
        monkeypatch.setattr(torch.autograd, "backward", refuse)
        monkeypatch.setattr(torch.Tensor, "backward", refuse)
    if jax is not None:
        for name in ("grad", "vjp", "jvp", "value_and_grad", "jacrev", "jacfwd"):
            monkeypatch.setattr(jax, name, refuse)


@pytest.fixture(scope="module")
def torch():
    return _library("torch")


@pytest.fixture(scope="module")
def jax():
    jax = _library("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def _converted(problem, to):
    params, X, Y, initial = problem
    return {n: to(v) for n, v in params.items()}, to(X), to(Y), [to(s) for s in initial]


# importing PyTorch and JAX alone takes seconds of the quick loop's minute: all of this runs in CI's slow run
pytestmark = pytest.mark.slow
CASES = [(cell, strategy) for cell in CELLS for strategy in STRATEGY_ARGUMENTS]


def _agrees(cell, strategy, seed, convert, array_type):
    """The library's arrays in, the library's arrays out, NumPy's numbers to 1e-12."""
    grad = make(cell, strategy, backend="auto")
    problem = arrays(grad, seed)
    expected = make(cell, strategy)(problem[0], problem[1], problem[2], *problem[3])
    params, X, Y, initial = _converted(problem, convert)
    out = grad(params, X, Y, *initial)
    assert all(isinstance(v, array_type) for k, v in out.items() if k != "loss")
    assert_close({k: np.asarray(v) for k, v in out.items()}, expected)
    return out


@pytest.mark.parametrize(("cell", "strategy"), CASES)
def test_pytorch_tensors(torch, monkeypatch, cell, strategy):
    _no_autodiff(monkeypatch, torch=torch)
    out = _agrees(cell, strategy, 11, torch.from_numpy, torch.Tensor)
    assert not any(v.requires_grad for k, v in out.items() if k != "loss")


@pytest.mark.parametrize(("cell", "strategy"), CASES)
def test_jax_arrays(jax, monkeypatch, cell, strategy):
    _no_autodiff(monkeypatch, jax=jax)
    _agrees(cell, strategy, 12, jax.numpy.asarray, jax.Array)


def test_class_ids_and_one_sample_as_tensors(torch):
    grad = make("lstm", "tbptt", "cross_entropy", backend="auto")
    params, X, Y, _ = arrays(grad, 13, B=1, loss="cross_entropy")
    expected = make("lstm", "tbptt", "cross_entropy")(params, X[:, 0], Y[:, 0])
    tensors = {n: torch.from_numpy(v) for n, v in params.items()}
    out = grad(tensors, torch.from_numpy(X[:, 0]), torch.from_numpy(Y[:, 0]))
    assert_close({k: np.asarray(v) for k, v in out.items()}, expected)


def test_float32_tensors_are_refused_naming_the_array(torch):
    grad = make("elman-tanh", backend="auto")
    params, X, Y, initial = _converted(arrays(grad, 14), torch.from_numpy)
    with pytest.raises(ValueError, match=r"^X is a torch array of torch.float32; .* must be float64") as caught:
        grad(params, X.float(), Y, *initial)
    assert "\n" not in str(caught.value)


def test_nan_in_a_tensor_is_refused_naming_the_array(torch):
    grad = make("elman-tanh", backend="auto")
    params, X, Y, initial = _converted(arrays(grad, 15), torch.from_numpy)
    params["W_hh"][0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"W_hh contains NaN or infinite values"):
        grad(params, X, Y, *initial)


def test_randomized_xi_as_a_jax_array(jax):
    grad = make("gru", "randomized", backend="auto")
    problem = arrays(grad, 16)
    xi = np.array([1.0, 2.0, 0.0, 2.0, 2.0])
    expected = make("gru", "randomized")(problem[0], problem[1], problem[2], *problem[3], xi=xi)
    params, X, Y, initial = _converted(problem, jax.numpy.asarray)
    out = grad(params, X, Y, *initial, xi=jax.numpy.asarray(xi))
    assert_close({k: np.asarray(v) for k, v in out.items()}, expected)


@pytest.mark.parametrize("where", ["W_hh", "X", "h0"])
def test_a_tensor_that_requires_grad_is_refused_in_one_line(torch, where):
    """symbptt never calls autograd: a tensor that records a graph is named, with the cure."""
    grad = make("elman-tanh", backend="auto")
    params, X, Y, initial = _converted(arrays(grad, 17), torch.from_numpy)
    values = {"X": X, "h0": initial[0], **params}
    values[where] = values[where].clone().requires_grad_(True)
    params = {k: values[k] for k in params}
    message = rf"^{where} is a tensor that requires grad: pass {where}.detach\(\)"
    with pytest.raises(ValueError, match=message) as caught:
        grad(params, values["X"], Y, values["h0"], *initial[1:])
    assert "\n" not in str(caught.value)
    clipped = {"W_hh": torch.ones(2, requires_grad=True)}
    with pytest.raises((ValueError, TypeError), match="requires grad"):
        symbptt.clip_norm(clipped, 1.0)
