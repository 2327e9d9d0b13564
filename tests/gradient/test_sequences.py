"""The contract's "Models": sequences of different lengths (``lengths``) and one target per sequence
(``loss_at="last"``), against each sequence computed alone, and on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symbptt

from ..helpers import backend_available, targets
from .test_outputs import _problem

ALONE = (("full", {}), ("window", {"tau": 2}), ("chunked", {"tau": 3}), ("tbptt", {"k1": 2, "k2": 3}),
         ("randomized", {"pi": 0.6, "seed": 4}))


@settings(max_examples=12, deadline=None)
@given(st.sampled_from((("elman", "tanh"), ("gru", "tanh"), ("lstm", "tanh"))), st.sampled_from(ALONE),
       st.sampled_from(("squared", "cross_entropy", "bce")), st.integers(1, 6), st.integers(1, 3),
       st.integers(0, 2**32 - 1), st.data())
def test_padded_sequences_equal_each_sequence_alone(cell, strategy, loss, T, B, seed, data):
    """A padded step passes the state unchanged and adds no loss term: the gradient is each sequence's own,
    computed alone on its len_b steps, weighed by len_b / Σ len (the strategies whose cuts do not depend on T)."""
    (cell, activation), (name, lengths_of) = cell, strategy
    params, X, Y, initial = _problem(cell, activation, loss, T, B, seed)
    lengths = np.array(data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B)))
    grad = symbptt.compile_gradient(cell, loss=loss, strategy=name, backend="numpy", return_state=True,
                                    **lengths_of)
    xi = None
    if name == "randomized":
        xi = np.random.default_rng(seed).choice([0.0, 2.0], T)
        grad = symbptt.compile_gradient(cell, loss=loss, strategy=name, backend="numpy", return_state=True)
    out = grad(params, X, Y, *initial, xi=xi, lengths=lengths)
    total = lengths.sum()
    for b, n in enumerate(lengths):
        alone = grad(params, X[:n, b:b + 1], Y[:n, b:b + 1], *(s[b:b + 1] for s in initial),
                     xi=None if xi is None else xi[:n])
        for key in ("hT", "cT")[:len(initial)]:
            np.testing.assert_allclose(out[key][b], alone[key][0], rtol=1e-13, atol=1e-15)
        for key in params:
            out[key] = out[key] - alone[key] * n / total
        out["loss"] -= alone["loss"] * n / total
    for key in (*params, "loss"):
        np.testing.assert_allclose(out[key], 0.0, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("loss", ["squared", "cross_entropy"])
def test_one_target_per_sequence_is_the_loss_at_its_last_real_step(loss):
    """With lengths, L = 1/B Σ_b l(o_(len_b), y_b): each sequence alone, ending at its own last step."""
    params, X, _, initial = _problem("lstm", "tanh", loss, 5, 3, 2)
    Y = targets(np.random.default_rng(3), loss, (3, 2))
    lengths = np.array([5, 1, 3])
    last = symbptt.compile_gradient("lstm", loss=loss, loss_at="last", backend="numpy")
    out = last(params, X, Y, *initial, lengths=lengths)
    for b, n in enumerate(lengths):
        alone = last(params, X[:n, b:b + 1], Y[b:b + 1], *(s[b:b + 1] for s in initial))
        for key in (*params, "loss"):
            out[key] = out[key] - np.asarray(alone[key]) / 3
    for key in (*params, "loss"):
        np.testing.assert_allclose(out[key], 0.0, atol=1e-12, err_msg=key)


def test_the_last_strategy_counts_the_arrays_t_and_lengths_all_t_are_the_unpadded_model():
    params, X, Y, initial = _problem("elman", "tanh", "squared", 6, 2, 8)
    grad = symbptt.compile_gradient("elman", strategy="last", tau=2, backend="numpy")
    short = grad(params, X, Y, *initial, lengths=np.array([3, 4]))  # every real step before T - k + 1 = 5
    assert np.array_equal(short["W_hh"], np.zeros_like(short["W_hh"]))  # no loss term reaches a state
    plain = grad(params, X, Y, *initial)
    full_length = grad(params, X, Y, *initial, lengths=np.array([6, 6]))
    for key in (*params, "loss"):
        np.testing.assert_allclose(full_length[key], plain[key], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(("lengths", "message"), [
    (np.array([0, 2]), r"^lengths must be integers in 1..T = 1..4, got 0 at index 0$"),
    (np.array([2, 5]), r"^lengths must be integers in 1..T = 1..4, got 5 at index 1$"),
    (np.array([2.0, 3.0]), r"^lengths must hold integers, got dtype float64$"),
    (np.array([2, 3, 1]), r"^lengths has shape \(3,\), expected \(B,\) = \(2,\) \(B = 2 from X\)$"),
])
def test_bad_lengths_are_refused_in_one_line(lengths, message):
    params, X, Y, initial = _problem("elman", "tanh", "squared", 4, 2, 1)
    with pytest.raises(ValueError, match=message):
        symbptt.compile_gradient("elman", backend="numpy")(params, X, Y, *initial, lengths=lengths)


def test_loss_at_is_every_or_last_and_last_takes_one_target_per_sequence():
    with pytest.raises(ValueError, match=r"^loss_at must be one of every, last; got 'first'$"):
        symbptt.compile_gradient("elman", loss_at="first")
    params, X, Y, initial = _problem("elman", "tanh", "squared", 4, 2, 1)
    with pytest.raises(ValueError, match=r"^Y has shape \(4, 2, 2\), expected \(B, q\) = \(2, 2\)"):
        symbptt.compile_gradient("elman", loss_at="last", backend="numpy")(params, X, Y, *initial)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numba", "array_api"])
@pytest.mark.parametrize("loss_at", ["every", "last"])
def test_every_backend_gives_the_same_numbers_for_padded_sequences(request, backend, loss_at):
    backend_available(backend)
    if backend == "numba":
        request.getfixturevalue("numba_cache")
    params, X, Y, initial = _problem("lstm", "tanh", "cross_entropy", 5, 3, 6)
    Y = Y[-1] if loss_at == "last" else Y
    options = {"loss": "cross_entropy", "loss_at": loss_at, "return_state": True, "initial_state_grad": True}
    lengths = np.array([2, 5, 4])
    ours = symbptt.compile_gradient("lstm", backend=backend, **options)(params, X, Y, *initial, lengths=lengths)
    numpy_ = symbptt.compile_gradient("lstm", backend="numpy", **options)(params, X, Y, *initial, lengths=lengths)
    for key, value in numpy_.items():
        np.testing.assert_allclose(np.asarray(ours[key]), value, rtol=1e-12, atol=1e-14, err_msg=key)


def test_the_standalone_padded_module_gives_the_same_numbers(tmp_path, capsys):
    """symbptt code --padded: a module of NumPy alone whose grad takes lengths, equal to compile_gradient's."""
    from symbptt.cli.commands import main
    from symbptt.codegen import module

    assert main(["code", "--cell", "gru", "--loss", "bce", "--strategy", "window", "--tau", "2", "--padded",
                 "--initial-state-grad", "--return-state"]) == 0
    grad = module.compile_source(capsys.readouterr().out, "grad")
    params, X, Y, initial = _problem("gru", "tanh", "bce", 5, 3, 9)
    lengths = np.array([1, 5, 3])
    expected = symbptt.compile_gradient("gru", loss="bce", strategy="window", tau=2, backend="numpy",
                                        initial_state_grad=True, return_state=True)(params, X, Y, *initial,
                                                                                    lengths=lengths)
    ours = grad(params, X, Y, *initial, lengths=lengths)
    assert set(ours) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(ours[key], value, rtol=1e-15, atol=1e-300, err_msg=key)
