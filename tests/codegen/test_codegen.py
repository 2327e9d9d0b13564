import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import symbptt
from symbptt.derive import sensitivity, strategies
from symbptt.derive.chain import Partial
from symbptt.model import scalar as model
from symbptt.model.scalar import h

from ..helpers import compiled, draw_inputs
from ..strategies import CELLS, problems


@pytest.mark.parametrize(("cell", "activation"), CELLS)
@given(data=problems(max_T=7))
def test_full_gradient_matches_finite_differences(cell, activation, data):
    _, _, T, B, seed = data
    grad = compiled(cell, activation, T)
    params, x, y, h0 = draw_inputs(grad, T, B, seed)
    if activation == "relu":  # relu'(0) = 0 by contract, not numerically: keep away from the kink
        pre = _preactivations(params, x, h0)
        if np.min(np.abs(pre)) < 1e-3:
            return
    analytic = grad(params, x, y, h0)
    numeric = symbptt.central_difference(lambda p: grad(p, x, y, h0)["loss"], params)
    symbptt.assert_gradients_close(analytic, numeric, rtol=1e-5, atol=1e-8)


def _preactivations(params, x, h0):
    h_prev, pre = h0, []
    for x_t in x:
        z = params["W_hx"] * x_t + params["W_hh"] * h_prev + params["b_h"]
        pre.append(z)
        h_prev = np.maximum(z, 0)
    return np.array(pre)


@given(data=problems(max_T=7), extra=st.integers(0, 3), strategy=st.sampled_from(["window", "chunked"]))
def test_window_and_chunked_with_tau_at_least_T_equal_full(data, extra, strategy):
    cell, activation, T, B, seed = data
    full = compiled(cell, activation, T)
    truncated = compiled(cell, activation, T, strategy, T + extra)
    params, x, y, h0 = draw_inputs(full, T, B, seed)
    a, b = full(params, x, y, h0), truncated(params, x, y, h0)
    assert a == pytest.approx(b, rel=1e-12, abs=1e-14)


@given(data=problems(max_T=7))
def test_randomized_with_all_xi_one_equals_full(data):
    cell, activation, T, B, seed = data
    full, randomized = compiled(cell, activation, T), compiled(cell, activation, T, "randomized")
    params, x, y, h0 = draw_inputs(full, T, B, seed)
    assert randomized(params, x, y, h0, xi=np.ones(T)) == pytest.approx(full(params, x, y, h0), rel=1e-12, abs=1e-14)


@given(data=problems(max_T=8), k=st.integers(1, 4))
def test_chunked_equals_randomized_with_zeros_at_the_cuts(data, k):
    cell, activation, T, B, seed = data
    chunked, randomized = compiled(cell, activation, T, "chunked", k), compiled(cell, activation, T, "randomized")
    params, x, y, h0 = draw_inputs(chunked, T, B, seed)
    cuts = strategies.cut_transitions(strategies.make("chunked", tau=k), T)  # xi_s = 0 where chunked cuts
    xi = [0.0 if s in cuts else 1.0 for s in range(1, T + 1)]
    assert chunked(params, x, y, h0) == pytest.approx(randomized(params, x, y, h0, xi=xi), rel=1e-12, abs=1e-14)


@given(data=problems(max_T=6), tau=st.integers(1, 6))
def test_chunked_with_k_1_equals_window_1_and_loss_never_changes(data, tau):
    cell, activation, T, B, seed = data
    grads = [compiled(cell, activation, T, "chunked", 1), compiled(cell, activation, T, "window", 1),
             compiled(cell, activation, T, "window", tau), compiled(cell, activation, T)]
    params, x, y, h0 = draw_inputs(grads[0], T, B, seed)
    results = [g(params, x, y, h0) for g in grads]
    assert results[0] == pytest.approx(results[1], rel=1e-12, abs=1e-14)
    assert len({r["loss"] for r in results}) == 1


@pytest.mark.parametrize("strategy", ["full", "window", "chunked"])
@given(T=st.integers(1, 5), tau=st.integers(1, 5), seed=st.integers(0, 1000))
def test_closed_form_equals_recurrence_equals_compiled(strategy, T, tau, seed):
    """Structural: the closed form E7 (or its truncation) evaluated at the forward values = compiled code."""
    m = model.make_model("elman", "tanh")
    grad = compiled("elman", "tanh", T, strategy, tau if strategy != "full" else None)
    params, x, y, h0 = draw_inputs(grad, T, 1, seed)
    # forward values, then E3 with ∂h_t/∂w from the closed form of the strategy
    values = {sp.Symbol(n, real=True): v for n, v in params.items()}
    values[h[0]] = h0[0]
    strat = strategies.make(strategy, tau=tau if strategy != "full" else None)
    for w in m.hidden_params:
        seq = sensitivity.sensitivity_sequence(m, w)
        total = 0.0
        env = dict(values)
        for t in range(1, T + 1):
            env[model.x[t]], env[model.y[t]] = x[t - 1, 0], y[t - 1, 0]
            env[h[t]] = float(m.step(model.x[t], h[t - 1]).xreplace(env))
            env[model.o[t]] = float(m.readout(h[t]).xreplace(env))
            closed = seq.closed_form(t, start=strat.start(sp.Integer(t)))
            a_closed = float(closed.xreplace(env))
            if not strat.overlapping:  # one forward recurrence serves every t
                a_recur = float(seq.iterate(t, strat.forward_multipliers(t))[-1].xreplace(env))
                assert a_closed == pytest.approx(a_recur, rel=1e-12, abs=1e-14)
            weight = sensitivity.loss_gradient(m, w, sp.Integer(t)).xreplace({Partial(h[t], w): a_closed})
            total += float(weight.xreplace(env))
        assert grad(params, x, y, h0)[str(w)] == pytest.approx(total / T, rel=1e-10, abs=1e-12)


def test_source_is_readable_and_linear_in_T():
    g3, g6 = compiled("elman", "tanh", 3), compiled("elman", "tanh", 6)
    assert "h_3 = numpy.tanh(" in g3.source and "shared0_3 = 1 - h_3 ** 2" in g3.source
    assert len(g6.source.splitlines()) - 7 == pytest.approx(2 * (len(g3.source.splitlines()) - 7), abs=10)


def test_randomized_samples_from_pi_with_seed():
    grad = symbptt.compile_scalar_gradient("elman", 6, strategy="randomized", pi=0.5, seed=3)
    params, x, y, h0 = draw_inputs(grad, 6, 2, 0)
    assert grad(params, x, y, h0) == grad(params, x, y, h0)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"strategy": "window"}, "needs tau"),
    ({"strategy": "window", "tau": 0}, "tau must be an integer >= 1"),
    ({"strategy": "chunked", "tau": -2}, "tau must be an integer >= 1 for strategy 'chunked'"),
    ({"strategy": "nope"}, "unknown strategy 'nope'"),
    ({"activation": "softplus"}, "unknown activation 'softplus'"),
    ({"strategy": "randomized", "pi": 0.0}, r"pi must be in \(0, 1\], got 0.0"),
    ({"strategy": "randomized", "pi": 1.5}, r"pi must be in \(0, 1\]"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        symbptt.compile_scalar_gradient("elman", 4, **kwargs)


def test_bad_arrays_are_named():
    grad = compiled("elman", "tanh", 4)
    params, x, y, h0 = draw_inputs(grad, 4, 2, 0)
    with pytest.raises(ValueError, match="missing"):
        grad({"W_hx": 1.0}, x, y)
    with pytest.raises(ValueError, match=r"x must have shape \(T,\) or \(T, B\) with T = 4"):
        grad(params, x[:3], y)
    with pytest.raises(ValueError, match="y contains NaN"):
        grad(params, x, np.full_like(y, np.nan))
    randomized = compiled("elman", "tanh", 4, "randomized")
    with pytest.raises(ValueError, match="needs xi"):
        randomized(params, x, y)
    with pytest.raises(ValueError, match=r"xi must have shape \(4,\) with entries >= 0"):
        randomized(params, x, y, xi=[1.0, -1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="xi must be an array of floats, got dtype int"):
        randomized(params, x, y, xi=[1, 1, 1, 1])  # one rule for integers, as in compile_gradient


def test_checker_catches_a_wrong_gradient():
    grad = compiled("elman", "tanh", 4)
    params, x, y, h0 = draw_inputs(grad, 4, 1, 1)
    analytic = grad(params, x, y, h0)
    analytic["W_hh"] *= 1.001
    numeric = symbptt.central_difference(lambda p: grad(p, x, y, h0)["loss"], params)
    with pytest.raises(AssertionError, match="gradient check of W_hh failed\nanalytic:"):
        symbptt.assert_gradients_close(analytic, numeric)
