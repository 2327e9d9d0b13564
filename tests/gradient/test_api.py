"""compile_gradient against the contract: finite differences, the strategies' identities, exact expectations."""

import functools
import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import symbptt

from .. import reference
from ..helpers import targets
from ..strategies import CONFIGS, STRATEGY_NAMES, matrix_problems, quick

compiled = functools.cache(symbptt.compile_gradient)


def call(grad, problem, xi=None):
    params, X, Y, initial = problem
    return grad(params, X, Y, *initial, xi=xi)


def assert_same(a, b, rtol=1e-12, atol=1e-14):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=rtol, atol=atol, err_msg=name)


def away_from_kinks(config, problem):
    """relu'(0) = 0 holds by contract, not numerically: keep finite differences off the kink."""
    if config[1] == "relu" and config[0] == "elman":
        params, X, _, initial = problem
        assume(reference.preactivation_margin(params, X, initial) > 1e-3)


def xi_draw(draw, T):
    pis = [draw(st.sampled_from([0.25, 0.5, 1.0])) for _ in range(T)]
    return np.array([1.0] + [draw(st.sampled_from([0.0, 1.0 / p])) for p in pis[1:]])


# ------------------------------------------------------------------ numeric: finite differences


@pytest.mark.parametrize("config", quick(CONFIGS), ids="-".join)
@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@settings(max_examples=8)
@given(data=st.data())
def test_every_strategy_matches_finite_differences_of_an_independent_forward_pass(config, strategy, data):
    """The strategy's gradient = central differences of reference.strategy_loss (CONTRACT, Strategies)."""
    problem = data.draw(matrix_problems(config))
    away_from_kinks(config, problem)
    params, X, Y, initial = problem
    T = X.shape[0]
    tau = data.draw(st.integers(1, T + 1)) if strategy in ("window", "chunked") else None
    xi = xi_draw(data.draw, T) if strategy == "randomized" else None
    grad = compiled(config[0], activation=config[1], loss=config[2], strategy=strategy, tau=tau)
    out = grad(params, X, Y, *initial, xi=xi)
    assert out["loss"] == pytest.approx(reference.loss_value(config, params, X, Y, initial), rel=1e-12)
    loss = functools.partial(reference.strategy_loss, config, strategy, tau, xi, p0=params, X=X, Y=Y,
                             initial=initial)
    symbptt.check_gradient(lambda p: loss(p), params, out, rtol=1e-6)


@pytest.mark.parametrize("config", quick(CONFIGS), ids="-".join)
def test_every_entry_matches_central_differences_at_a_tiny_size(config):
    """Entry by entry, not only along directions: d = h = q = 2, T = 3, B = 2."""
    params, X, Y, initial = _tiny(config)
    out = compiled(config[0], activation=config[1], loss=config[2])(params, X, Y, *initial)
    eps = 1e-6
    for name, value in params.items():
        for index in np.ndindex(value.shape):
            up, down = dict(params), dict(params)
            up[name], down[name] = value.copy(), value.copy()
            up[name][index] += eps
            down[name][index] -= eps
            numeric = (reference.loss_value(config, up, X, Y, initial)
                       - reference.loss_value(config, down, X, Y, initial)) / (2 * eps)
            assert out[name][index] == pytest.approx(numeric, rel=1e-6, abs=1e-9), (name, index)


def _tiny(config, T=3, seed=7):
    rng = np.random.default_rng(seed)
    from symbptt.model import cells

    cell = cells.make_cell(config[0], config[1])
    params = {W.name: rng.uniform(-1, 1, tuple(2 for s in W.shape if str(s) != "1")) for W in cell.params}
    X = rng.standard_normal((T, 2, 2))
    Y = targets(rng, config[2], (T, 2, 2))
    initial = tuple(rng.uniform(-0.5, 0.5, (2, 2)) for _ in cell.state)
    if config[1] == "relu":
        assert reference.preactivation_margin(params, X, initial) > 1e-3
    return params, X, Y, initial


# ------------------------------------------------------------------ structural: the contract's identities


@pytest.mark.parametrize("config", quick(CONFIGS), ids="-".join)
@settings(max_examples=10)
@given(data=st.data())
def test_truncations_that_cut_nothing_equal_full(config, data):
    """window with tau >= T, chunked with k >= T, randomized with all xi = 1: all equal full."""
    problem = data.draw(matrix_problems(config, max_T=7))
    T = problem[1].shape[0]
    tau = T + data.draw(st.integers(0, 3))
    name = dict(activation=config[1], loss=config[2])
    full = call(compiled(config[0], **name), problem)
    assert_same(call(compiled(config[0], strategy="window", tau=tau, **name), problem), full)
    assert_same(call(compiled(config[0], strategy="chunked", tau=tau, **name), problem), full)
    assert_same(call(compiled(config[0], strategy="randomized", **name), problem, xi=np.ones(T)), full)


@pytest.mark.parametrize("config", quick(CONFIGS), ids="-".join)
@settings(max_examples=10)
@given(data=st.data())
def test_chunked_is_randomized_with_zeros_at_the_cuts_and_k1_is_window1(config, data):
    problem = data.draw(matrix_problems(config, max_T=8))
    T = problem[1].shape[0]
    k = data.draw(st.integers(1, T + 1))
    name = dict(activation=config[1], loss=config[2])
    chunked = call(compiled(config[0], strategy="chunked", tau=k, **name), problem)
    cuts = np.array([0.0 if t > 1 and (t - 1) % k == 0 else 1.0 for t in range(1, T + 1)])
    assert_same(chunked, call(compiled(config[0], strategy="randomized", **name), problem, xi=cuts))
    assert_same(call(compiled(config[0], strategy="chunked", tau=1, **name), problem),
                call(compiled(config[0], strategy="window", tau=1, **name), problem))


@pytest.mark.parametrize("config", quick(CONFIGS), ids="-".join)
@settings(max_examples=8)
@given(data=st.data())
def test_the_loss_never_changes_with_the_strategy(config, data):
    problem = data.draw(matrix_problems(config))
    T = problem[1].shape[0]
    tau = data.draw(st.integers(1, T + 1))
    name = dict(activation=config[1], loss=config[2])
    losses = {call(compiled(config[0], **name), problem)["loss"],
              call(compiled(config[0], strategy="window", tau=tau, **name), problem)["loss"],
              call(compiled(config[0], strategy="chunked", tau=tau, **name), problem)["loss"],
              call(compiled(config[0], strategy="randomized", **name), problem, xi=xi_draw(data.draw, T))["loss"]}
    assert len(losses) == 1


@pytest.mark.parametrize("config", [("elman", "tanh", "squared"), ("gru", "tanh", "cross_entropy"),
                                    ("lstm", "tanh", "squared")], ids="-".join)
@pytest.mark.parametrize("T", [2, 4])
def test_randomized_is_unbiased_exactly(config, T):
    """Σ over all 2^{T-1} outcomes of xi, weighted by their probabilities, is the full gradient (E9)."""
    problem = _tiny(config, T)
    pi = np.array([1.0, 0.5, 0.25, 0.8])[:T]
    grad = compiled(config[0], activation=config[1], loss=config[2], strategy="randomized")
    expected = None
    for kept in itertools.product((False, True), repeat=T - 1):
        xi = np.array([1.0] + [1 / p if k else 0.0 for p, k in zip(pi[1:], kept, strict=True)])
        weight = np.prod([p if k else 1 - p for p, k in zip(pi[1:], kept, strict=True)])
        out = call(grad, problem, xi=xi)
        expected = {n: weight * v for n, v in out.items()} if expected is None else {
            n: expected[n] + weight * v for n, v in out.items()}
    assert_same(expected, call(compiled(config[0], activation=config[1], loss=config[2]), problem),
                rtol=1e-11, atol=1e-13)


def test_window_costs_at_most_tau_transitions_per_step():
    """window keeps at most tau - 1 travelling adjoints: with tau = 2 it differs from full, as the math says."""
    config = ("elman", "tanh", "squared")
    problem = _tiny(config)
    full = call(compiled("elman"), problem)
    window = call(compiled("elman", strategy="window", tau=2), problem)
    assert not np.allclose(full["W_hh"], window["W_hh"])
    assert full["W_qh"] == pytest.approx(window["W_qh"])  # the readout is never truncated


# ------------------------------------------------------------------ conventions


def test_two_dimensional_inputs_mean_one_sample():
    grad = compiled("lstm", loss="cross_entropy")
    params, X, Y, initial = _tiny(("lstm", "tanh", "cross_entropy"))
    batched = grad(params, X[:, :1], Y[:, :1], initial[0][:1], initial[1][:1])
    single = grad(params, X[:, 0], Y[:, 0], initial[0][0], initial[1][0])
    assert_same(batched, single)
    assert_same(batched, grad(params, X[:, 0], Y[:, 0], initial[0][:1], initial[1][:1]))


def test_initial_states_default_to_zeros():
    grad = compiled("gru")
    params, X, Y, _ = _tiny(("gru", "tanh", "squared"))
    assert_same(grad(params, X, Y), grad(params, X, Y, np.zeros((2, 2))))


def test_gradients_have_the_parameters_names_and_shapes():
    params, X, Y, initial = _tiny(("elman", "tanh", "squared"))
    out = compiled("elman")(params, X, Y, *initial)
    assert set(out) == {*params, "loss"}
    assert all(out[n].shape == params[n].shape for n in params) and isinstance(out["loss"], float)


def test_randomized_samples_xi_from_pi_with_the_seed():
    params, X, Y, initial = _tiny(("elman", "tanh", "squared"))
    grad = symbptt.compile_gradient("elman", strategy="randomized", pi=0.5, seed=3)
    first, second = grad(params, X, Y, *initial), grad(params, X, Y, *initial)
    assert_same(first, second)
    per_step = symbptt.compile_gradient("elman", strategy="randomized", pi=[1.0, 1.0, 1.0], seed=3)
    assert_same(per_step(params, X, Y, *initial), call(compiled("elman"), (params, X, Y, initial)))
    explicit = grad(params, X, Y, *initial, xi=np.ones(3))  # xi at call time wins
    assert_same(explicit, call(compiled("elman"), (params, X, Y, initial)))


def test_clipping():
    grads = {"W": np.array([[3.0, 0.0]]), "b": np.array([4.0]), "loss": 99.0}
    clipped = symbptt.clip_norm(grads, 1.0)
    assert clipped["loss"] == 99.0
    np.testing.assert_allclose(clipped["W"], [[0.6, 0.0]])
    np.testing.assert_allclose(clipped["b"], [0.8])
    assert_same(symbptt.clip_norm(grads, 10.0), grads)
    clipped = symbptt.clip_value(grads, 3.5)
    np.testing.assert_allclose(clipped["b"], [3.5])
    assert clipped["loss"] == 99.0 and grads["b"][0] == 4.0  # a new mapping, the input untouched
    with pytest.raises(ValueError, match="theta must be a finite number > 0"):
        symbptt.clip_norm(grads, 0.0)


def test_the_checker_catches_a_wrong_gradient():
    config = ("gru", "tanh", "squared")
    params, X, Y, initial = _tiny(config)
    out = compiled("gru")(params, X, Y, *initial)
    out["W_hz"] = out["W_hz"] * 1.001
    with pytest.raises(AssertionError, match=r"gradient check failed along direction \d\nanalytic: "):
        symbptt.check_gradient(lambda p: reference.loss_value(config, p, X, Y, initial), params, out)


def test_source_is_readable():
    grad = compiled("elman")
    assert "for t in range(1, T + 1):" in grad.source
    assert "h[t] = numpy.tanh(h[t] + h[t - 1] @ W_hh.T)" in grad.source
    assert "dL_dW_hh += _flat(block_delta_h[:n]).T @ _flat(h[t - 1:t - 1 + n])  # E16" in grad.source
    assert "dL_dh = carry_h + dL_do[t - 1] @ W_qh  # E13, E14" in grad.source
    assert repr(compiled("elman", strategy="window", tau=3)).endswith("strategy=window(tau=3)>")


def test_derivation_is_cached_and_independent_of_tau():
    a, b = compiled("lstm", strategy="window", tau=2), compiled("lstm", strategy="window", tau=5)
    assert a.step is b.step and a._module("numpy") is b._module("numpy")  # one derivation, one module for every tau
    assert "TAU = 2" in a.source and "TAU = 5" in b.source  # each source with its own tau written in
