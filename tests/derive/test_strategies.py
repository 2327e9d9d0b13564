"""The strategy family: the contract's identities, tbptt and last against an independent reference,
PyTensor's figure, and the forward form equal to the reverse form for every strategy."""

import functools

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import symbptt
from symbptt.derive import strategies

from .. import reference
from ..gradient.test_api import assert_same, away_from_kinks, call, compiled
from ..strategies import CONFIGS, matrix_problems, quick

lengths = st.integers(1, 9)


# ------------------------------------------------------------------ the forms


@given(t=st.integers(1, 40), T=st.integers(1, 40), tau=lengths, k1=lengths, k2=lengths)
def test_start_is_the_contracts_and_the_identities_hold(t, T, tau, k1, k2):
    """window(tau) = tbptt(1, tau), chunked(k) = tbptt(k, k), full = tbptt(1, T), last(k) = tbptt(T, k)."""
    assume(t <= T)

    def start(strategy):
        return int(strategy.start(sp.Integer(t), sp.Integer(T)))

    tbptt = functools.partial(strategies.make, "tbptt")
    assert start(strategies.make("window", tau=tau)) == start(tbptt(k1=1, k2=tau))
    assert start(strategies.make("chunked", tau=tau)) == start(tbptt(k1=tau, k2=tau))
    assert start(strategies.make("full")) == start(tbptt(k1=1, k2=T)) == 1
    assert start(strategies.make("last", tau=tau)) == start(tbptt(k1=T, k2=tau))
    for name, values in (("window", {"tau": tau}), ("chunked", {"tau": tau}), ("last", {"tau": tau}),
                         ("tbptt", {"k1": k1, "k2": k2})):
        assert start(strategies.make(name, **values)) == reference.first_state(name, t, T, **values)


def test_every_strategy_is_a_frozen_object_with_its_arguments():
    made = strategies.make("tbptt", k1=2, k2=5)
    assert made.values() == {"k1": 2, "k2": 5} and made.describe() == "tbptt(k1=2, k2=5)"
    with pytest.raises(AttributeError):
        made.k1 = 3  # type: ignore[misc]
    assert strategies.STRATEGIES == ("full", "window", "chunked", "randomized", "tbptt", "last")


# ------------------------------------------------------------------ compiled: numbers


@pytest.mark.parametrize("config", quick(CONFIGS), ids="-".join)
@pytest.mark.parametrize("strategy", ["tbptt", "last"])
@settings(max_examples=6)
@given(data=st.data())
def test_tbptt_and_last_match_finite_differences_of_the_reference(config, strategy, data):
    """Central differences of reference.reached_loss, written from the contract's words alone."""
    problem = data.draw(matrix_problems(config, max_T=7))
    away_from_kinks(config, problem)
    params, X, Y, initial = problem
    T = X.shape[0]
    values = ({"k1": data.draw(st.integers(1, T + 1)), "k2": data.draw(st.integers(1, T + 1))}
              if strategy == "tbptt" else {"tau": data.draw(st.integers(1, T + 1))})
    out = call(compiled(config[0], activation=config[1], loss=config[2], strategy=strategy, **values), problem)
    loss = functools.partial(reference.reached_loss, config, strategy, values, p0=params, X=X, Y=Y,
                             initial=initial)
    symbptt.check_gradient(loss, params, out, rtol=1e-6)


@pytest.mark.parametrize("config", quick(CONFIGS), ids="-".join)
@settings(max_examples=8)
@given(data=st.data())
def test_the_identities_hold_for_compiled_gradients(config, data):
    problem = data.draw(matrix_problems(config, max_T=8))
    T = problem[1].shape[0]
    k, k1, k2 = (data.draw(st.integers(1, T + 1)) for _ in range(3))
    name = dict(activation=config[1], loss=config[2])

    def grad(strategy, **values):
        return call(compiled(config[0], strategy=strategy, **name, **values), problem)

    assert_same(grad("window", tau=k), grad("tbptt", k1=1, k2=k))
    assert_same(grad("chunked", tau=k), grad("tbptt", k1=k, k2=k))
    assert_same(grad("full"), grad("tbptt", k1=1, k2=T))
    assert_same(grad("last", tau=k), grad("tbptt", k1=T, k2=k))
    assert_same(grad("last", tau=T), grad("full"))
    tbptt = grad("tbptt", k1=k1, k2=k2)
    assert tbptt["loss"] == grad("full")["loss"]  # forward values never change


def test_pytensor_truncate_gradient_figure():
    """CONTRACT: h_t = tanh(w h_{t-1} + x_t), L = Σ_t h_t, T = 6, w = 0.7, h_0 = 0.3, last(2): 0.5957.

    The same model as a size-1 elman cell: W_hx = 1, W_hh = w, W_qh = 1, and a
    squared loss with y_t = h_t − 1 (so ∂l/∂o_t = 1); our L is the mean, so ×T.
    """
    T = 6
    x = np.random.default_rng(0).normal(size=6)
    params = {"W_hx": np.ones((1, 1)), "W_hh": np.full((1, 1), 0.7), "b_h": np.zeros(1),
              "W_qh": np.ones((1, 1)), "b_q": np.zeros(1)}
    h, h_prev = [], 0.3
    for x_t in x:
        h_prev = np.tanh(0.7 * h_prev + x_t)
        h.append(h_prev)
    Y = (np.array(h) - 1.0).reshape(T, 1)
    grad = symbptt.compile_gradient("elman", strategy="last", tau=2)
    out = grad(params, x.reshape(T, 1), Y, h0=np.array([0.3]))
    assert round(float(out["W_hh"][0, 0]) * T, 4) == 0.5957


# ------------------------------------------------------------------ forward form = reverse form


STRATEGY_DRAWS = {
    "full": st.just({}),
    "window": st.fixed_dictionaries({"tau": st.integers(1, 6)}),
    "chunked": st.fixed_dictionaries({"tau": st.integers(1, 6)}),
    "last": st.fixed_dictionaries({"tau": st.integers(1, 6)}),
    "tbptt": st.fixed_dictionaries({"k1": st.integers(1, 4), "k2": st.integers(1, 6)}),
    "randomized": st.just({}),
}


@pytest.mark.parametrize("strategy", list(STRATEGY_DRAWS))
@settings(max_examples=10)
@given(data=st.data(), T=st.integers(1, 6), activation=st.sampled_from(["tanh", "sigmoid", "identity"]))
def test_forward_form_equals_reverse_form(strategy, data, T, activation):
    """The straight-line program sums Σ_{i=start(t)}^{t} (Π m_j c_j) b_i forward in time (E7-E9);
    the compiled loop carries adjoints backward (E13-E15): at size 1 they are the same gradient."""
    values = data.draw(STRATEGY_DRAWS[strategy])
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    xi = None
    if strategy == "randomized":
        xi = np.array([1.0] + [data.draw(st.sampled_from([0.0, 2.0, 1.0])) for _ in range(T - 1)])
    forward = symbptt.compile_scalar_gradient("elman", T, activation=activation, strategy=strategy, **values)
    reverse = compiled("elman", activation=activation, strategy=strategy, **values)
    params = {n: float(v) for n, v in zip(forward.param_names, rng.uniform(-1, 1, 5), strict=True)}
    x, y, h0 = rng.uniform(-1, 1, T), rng.uniform(-1, 1, T), float(rng.uniform(-1, 1))
    ours = forward(params, x, y, h0, xi=xi)
    matrix_params = {n: np.full((1, 1) if n.startswith("W") else (1,), v) for n, v in params.items()}
    theirs = reverse(matrix_params, x.reshape(T, 1), y.reshape(T, 1), h0=np.array([h0]), xi=xi)
    for name in ours:
        assert ours[name] == pytest.approx(float(np.ravel(theirs[name])[0]), rel=1e-11, abs=1e-13), name


@pytest.mark.parametrize("name", ["linear", "elman", pytest.param("gru", marks=pytest.mark.slow)])
def test_every_strategy_written_out_at_an_explicit_T_has_no_sum_or_product_left(name):
    from symbptt.derive import one_state
    from symbptt.model import scalar

    derivation = one_state.explicit(scalar.make_model(name), 4, tau=2, k1=2, k2=3)
    for step in derivation.steps:
        for eq in step.equations:
            assert not eq.atoms(sp.Sum, sp.Product), (step.label, eq)


@pytest.mark.parametrize(("name", "lengths", "cuts"), [
    ("full", {}, []), ("window", {"tau": 1}, [2, 3, 4, 5, 6]), ("window", {"tau": 2}, []),
    ("chunked", {"tau": 2}, [3, 5]), ("chunked", {"tau": 4}, [5]), ("tbptt", {"k1": 2, "k2": 2}, [3, 5]),
    ("tbptt", {"k1": 2, "k2": 4}, []), ("last", {"tau": 2}, [2, 3, 4, 5]), ("last", {"tau": 6}, []),
])
def test_the_cut_transitions_of_each_strategy_at_T_6(name, lengths, cuts):
    assert sorted(strategies.cut_transitions(strategies.make(name, **lengths), 6)) == cuts
