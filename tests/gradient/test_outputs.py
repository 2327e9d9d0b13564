"""The contract's "Models": ∂L/∂h0 (``initial_state_grad``) under every strategy's cut, and the final states
(``return_state``), against an independent reference (tests/reference.py) by central differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symbptt
from symbptt.derive import sampling
from symbptt.model import cells

from .. import reference
from ..helpers import backend_available, targets

STRATEGIES = (("full", {}), ("window", {"tau": 1}), ("window", {"tau": 3}), ("chunked", {"tau": 2}),
              ("tbptt", {"k1": 2, "k2": 3}), ("tbptt", {"k1": 3, "k2": 2}), ("last", {"tau": 2}),
              ("last", {"tau": 9}), ("randomized", {"pi": 0.5, "seed": 3}))
CELLS = (("elman", "tanh"), ("elman", "relu"), ("gru", "tanh"), ("lstm", "tanh"))
SIZES = {"d": 2, "h": 3, "q": 2}


def _problem(cell, activation, loss, T, B, seed):
    rng = np.random.default_rng(seed)
    grad_cell = cells.make_cell(cell, activation)
    params = {W.name: rng.uniform(-0.9, 0.9, tuple(SIZES[str(s)] for s in W.shape if str(s) != "1"))
              for W in grad_cell.params}
    X, Y = rng.standard_normal((T, B, 2)), targets(rng, loss, (T, B, 2))
    return params, X, Y, tuple(rng.uniform(-0.9, 0.9, (B, 3)) for _ in grad_cell.state)


def _central(f, initial, eps=1e-6):
    """∂f/∂initial[k] for each state k, entry by entry."""
    out = []
    for k, state in enumerate(initial):
        grad = np.zeros_like(state)
        for index in np.ndindex(state.shape):
            moved = [list(initial), list(initial)]
            for sign, states in zip((1, -1), moved, strict=True):
                shifted = state.copy()
                shifted[index] += sign * eps
                states[k] = shifted
            grad[index] = (f(tuple(moved[0])) - f(tuple(moved[1]))) / (2 * eps)
        out.append(grad)
    return out


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(CELLS), st.sampled_from(STRATEGIES), st.sampled_from(("squared", "cross_entropy")),
       st.integers(1, 6), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_the_initial_state_gradient_follows_the_strategy_s_cut(cell, strategy, loss, T, B, seed):
    (cell, activation), (name, lengths) = cell, strategy
    params, X, Y, initial = _problem(cell, activation, loss, T, B, seed)
    if activation == "relu":
        states = reference.states(cell, activation, params, X, initial)
        assert min(np.abs(X[t] @ params["W_hx"].T + states[t][0] @ params["W_hh"].T + params["b_h"]).min()
                   for t in range(T)) > 1e-4 or pytest.skip("too close to relu's kink for differences")
    grad = symbptt.compile_gradient(cell, activation=activation, loss=loss, strategy=name, backend="numpy",
                                    initial_state_grad=True, return_state=True, **lengths)
    out = grad(params, X, Y, *initial)
    xi = np.array(sampling.draw_xi(lengths["pi"], T, lengths["seed"])) if name == "randomized" else None
    contract = {k: v for k, v in lengths.items() if k in ("tau", "k1", "k2")}
    expected = _central(lambda s: reference.initial_state_loss((cell, activation, loss), name, contract, xi, params,
                                                               X, Y, s, initial), initial)
    for key, value in zip(("h0", "c0"), expected, strict=False):
        np.testing.assert_allclose(out[key], value, rtol=1e-6, atol=1e-9, err_msg=key)
    final = reference.states(cell, activation, params, X, initial)[-1]
    for key, value in zip(("hT", "cT"), final, strict=False):
        np.testing.assert_allclose(out[key], value, rtol=1e-13, atol=1e-15, err_msg=key)
    plain = symbptt.compile_gradient(cell, activation=activation, loss=loss, strategy=name, backend="numpy",
                                     **lengths)(params, X, Y, *initial)
    assert set(out) - set(plain) == ({"h0", "c0", "hT", "cT"} if cell == "lstm" else {"h0", "hT"})
    for key in plain:  # the other results are the same numbers (window, tbptt: summed in another grouping)
        np.testing.assert_allclose(out[key], plain[key], rtol=1e-12, atol=1e-15, err_msg=key)


@pytest.mark.slow  # each strategy a Numba compilation of its own
@pytest.mark.parametrize("backend", ["numba", "array_api"])
@pytest.mark.parametrize(("name", "lengths"), STRATEGIES, ids=lambda v: str(v))
def test_every_backend_gives_the_same_initial_state_gradient_and_final_state(request, backend, name, lengths):
    backend_available(backend)
    if backend == "numba":
        request.getfixturevalue("numba_cache")  # compiled once per machine, not once per run
    params, X, Y, initial = _problem("lstm", "tanh", "squared", 5, 2, 11)
    options = {"initial_state_grad": True, "return_state": True, **lengths}
    ours = symbptt.compile_gradient("lstm", strategy=name, backend=backend, **options)(params, X, Y, *initial)
    numpy_ = symbptt.compile_gradient("lstm", strategy=name, backend="numpy", **options)(params, X, Y, *initial)
    for key in ("h0", "c0", "hT", "cT"):
        np.testing.assert_allclose(np.asarray(ours[key]), numpy_[key], rtol=1e-12, atol=1e-14, err_msg=key)


def test_one_sample_gets_them_without_a_batch_axis_and_zero_where_s0_is_not_reached():
    params, X, Y, (h0,) = _problem("elman", "tanh", "squared", 4, 1, 5)
    grad = symbptt.compile_gradient("elman", strategy="last", tau=2, backend="numpy", initial_state_grad=True,
                                    return_state=True)
    out = grad(params, X[:, 0], Y[:, 0], h0[0])
    assert out["h0"].shape == (3,) and out["hT"].shape == (3,)
    assert np.array_equal(out["h0"], np.zeros(3))  # last(2) with T = 4: no loss term reaches s_0


@pytest.mark.parametrize("value", [1, "yes", None, np.array([True])])
def test_the_flags_must_be_true_or_false(value):
    with pytest.raises(ValueError, match=r"^initial_state_grad must be True or False, got "):
        symbptt.compile_gradient("elman", initial_state_grad=value)
    with pytest.raises(ValueError, match=r"^return_state must be True or False, got "):
        symbptt.compile_gradient("elman", return_state=value)
