"""Stacked layers (``layers=L``): every strategy on a stacked model against an independent reference that
detaches every layer's recurrent state where the contract cuts (tests/reference.py, from the contract's words),
by central differences; the names and shapes; every backend."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symbptt
from symbptt.model import cells, stacked

from .. import reference
from ..helpers import backend_available, targets

SIZES = {"d": 2, "h": 3, "q": 2}


def _problem(cell, L, loss, T, B, seed):
    rng = np.random.default_rng(seed)
    model = stacked.stack(cells.make_cell(cell), L)
    params = {W.name: rng.uniform(-0.9, 0.9, tuple(SIZES[str(s)] for s in W.shape if str(s) != "1"))
              for W in model.params}
    X, Y = rng.standard_normal((T, B, 2)), targets(rng, loss, (T, B, 2))
    kinds = len(model.state) // L
    initial = tuple(rng.uniform(-0.5, 0.5, (L, B, 3)) for _ in range(kinds))
    return params, X, Y, initial


def _reference_states(initial):
    """(L, B, h) per kind -> the reference's state tuple (h_l1..h_lL, c_l1..c_lL)."""
    return tuple(layer for kind in initial for layer in kind)


LENGTHS = st.integers(1, 7)


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(("elman", "gru", "lstm")), st.integers(2, 3),
       st.sampled_from(("full", "window", "chunked", "tbptt", "last", "randomized")),
       st.sampled_from(("squared", "cross_entropy")), st.integers(1, 6), st.integers(1, 2),
       st.integers(0, 2**32 - 1), st.data())
def test_every_strategy_on_a_stacked_model_detaches_every_layer_where_the_contract_cuts(
        cell, L, strategy, loss, T, B, seed, data):
    params, X, Y, initial = _problem(cell, L, loss, T, B, seed)
    name = f"{cell}_x{L}"
    config = (name, "tanh", loss)
    start = _reference_states(initial)
    if strategy == "tbptt":
        values = {"k1": data.draw(LENGTHS), "k2": data.draw(LENGTHS)}
    elif strategy in ("window", "chunked", "last"):
        values = {"tau": data.draw(LENGTHS)}
    else:
        values = {}
    xi = np.random.default_rng(seed).choice([0.0, 0.5, 2.0], T) if strategy == "randomized" else None
    grad = symbptt.compile_gradient(cell, loss=loss, strategy=strategy, layers=L, backend="numpy", **values)
    out = grad(params, X, Y, *initial, xi=xi)
    if strategy in ("tbptt", "last", "window"):
        lengths = values
        loss_of = functools.partial(reference.reached_loss, config, strategy, lengths, p0=params, X=X, Y=Y,
                                    initial=start)
    else:
        loss_of = functools.partial(reference.strategy_loss, config, strategy, values.get("tau"), xi, p0=params,
                                    X=X, Y=Y, initial=start)
    symbptt.check_gradient(lambda p: loss_of(p), params, out, rtol=1e-6)
    assert out["loss"] == pytest.approx(reference.loss_value(config, params, X, Y, start), rel=1e-12)


def test_names_and_shapes_of_a_stacked_model():
    grad = symbptt.compile_gradient("lstm", layers=2, backend="numpy", initial_state_grad=True, return_state=True)
    assert grad.param_names[:3] == ("W_xi_l1", "W_hi_l1", "b_i_l1") and grad.param_names[-2:] == ("W_qh", "b_q")
    params, X, Y, initial = _problem("lstm", 2, "squared", 4, 3, 1)
    assert params["W_xi_l2"].shape == (3, 3) and params["W_xi_l1"].shape == (3, 2)  # layer 2 reads h
    out = grad(params, X, Y, *initial)
    assert all(out[k].shape == (2, 3, 3) for k in ("h0", "c0", "hT", "cT"))
    one = grad(params, X[:, 0], Y[:, 0], *(s[:, 0] for s in initial))  # one sample: (L, h)
    assert one["h0"].shape == (2, 3)
    np.testing.assert_allclose(one["hT"], grad(params, X[:, :1], Y[:, :1], *(s[:, :1] for s in initial))["hT"][:, 0])
    with pytest.raises(ValueError, match=r"^h0 has shape \(3, 3\), expected \(L, B, h\) = \(2, 3, 3\)"):
        grad(params, X, Y, initial[0][0], initial[1])
    with pytest.raises(ValueError, match=r"^layers must be an integer >= 1, got 0$"):
        symbptt.compile_gradient("elman", layers=0)
    relu = symbptt.compile_gradient("elman", activation="relu", layers=3, backend="numpy")
    assert relu.activation == "relu" and relu.step.cell.title == "3-layer elman (relu)"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numba", "array_api"])
def test_every_backend_gives_the_same_numbers_for_a_stacked_model(request, backend):
    backend_available(backend)
    if backend == "numba":
        request.getfixturevalue("numba_cache")
    params, X, Y, initial = _problem("gru", 3, "cross_entropy", 5, 2, 4)
    options = {"loss": "cross_entropy", "layers": 3, "initial_state_grad": True, "return_state": True,
               "strategy": "window", "tau": 2}
    ours = symbptt.compile_gradient("gru", backend=backend, **options)(params, X, Y, *initial)
    numpy_ = symbptt.compile_gradient("gru", backend="numpy", **options)(params, X, Y, *initial)
    for key, value in numpy_.items():
        np.testing.assert_allclose(np.asarray(ours[key]), value, rtol=1e-12, atol=1e-14, err_msg=key)
