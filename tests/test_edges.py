"""Where random values in [-1, 1] never go: the relu kink, logits in the hundreds, the xi sampler, normalisation."""

import math

import numpy as np
import pytest

import symbptt
from symbptt import strategies

from . import reference


def test_relu_derivative_at_an_exact_zero_preactivation_is_zero():
    """CONTRACT: relu'(0) = 0. Unit 0's pre-activation is exactly 0 at every step; unit 1's is positive."""
    p = {"W_hx": np.zeros((2, 2)), "W_hh": np.zeros((2, 2)), "b_h": np.array([0.0, 0.5]),
         "W_qh": np.array([[1.0, 2.0]]), "b_q": np.zeros(1)}
    X, Y = np.ones((4, 3, 2)), np.full((4, 3, 1), -1.0)
    out = symbptt.compile_gradient("elman", activation="relu")(p, X, Y)
    assert out["b_h"][0] == 0.0 and out["W_hx"][0].tolist() == [0.0, 0.0] and out["W_hh"][0].tolist() == [0.0, 0.0]
    # unit 1: h = 0.5 at every step, o = 1, l = 2, dl/do = 2, dL/db_h1 = mean of 2 * W_qh[0, 1] = 4
    assert out["b_h"][1] == pytest.approx(4.0, rel=1e-15)
    assert out["loss"] == pytest.approx(2.0, rel=1e-15)


def test_cross_entropy_with_logits_in_the_hundreds_is_exact_and_finite():
    """o = (300, -250, 0): log Σ exp(o) − o_y computed without overflow, and softmax − onehot as gradient."""
    p = {"W_hx": np.zeros((1, 1)), "W_hh": np.zeros((1, 1)), "b_h": np.zeros(1), "W_qh": np.zeros((3, 1)),
         "b_q": np.array([300.0, -250.0, 0.0])}
    X, Y = np.zeros((2, 1, 1)), np.array([[1], [0]])
    out = symbptt.compile_gradient("elman", loss="cross_entropy")(p, X, Y)
    lse = 300.0 + math.log1p(math.exp(-550.0) + math.exp(-300.0))
    assert out["loss"] == pytest.approx(((lse + 250.0) + (lse - 300.0)) / 2, rel=1e-15)
    softmax = np.exp(np.array([300.0, -250.0, 0.0]) - lse)
    expected = (2 * softmax - np.array([1.0, 1.0, 0.0])) / 2
    np.testing.assert_allclose(out["b_q"], expected, rtol=1e-14, atol=1e-300)
    assert all(np.isfinite(v).all() for v in out.values())


def test_the_xi_sampler_is_unbiased_in_distribution():
    """Mean of 4000 gradients with xi sampled at pi = 0.4 (seeds 0..3999) within 5 standard errors of full."""
    rng = np.random.default_rng(5)
    p = {"W_hx": rng.normal(size=(3, 2)), "W_hh": 0.5 * rng.normal(size=(3, 3)), "b_h": rng.normal(size=3),
         "W_qh": rng.normal(size=(2, 3)), "b_q": rng.normal(size=2)}
    X, Y = rng.normal(size=(6, 2, 2)), rng.normal(size=(6, 2, 2))
    full = symbptt.compile_gradient("elman")(p, X, Y)
    randomized = symbptt.compile_gradient("elman", strategy="randomized")
    draws = np.array([randomized(p, X, Y, xi=strategies.sample_xi(0.4, 6, seed))["W_hh"].ravel()
                      for seed in range(4000)])
    xis = np.array([strategies.sample_xi(0.4, 6, seed) for seed in range(4000)])
    assert np.all(xis[:, 0] == 1.0) and set(np.unique(xis[:, 1:])) == {0.0, 2.5}
    assert abs((xis[:, 1:] > 0).mean() - 0.4) < 0.01  # P(xi_t = 1/pi) = pi
    standard_error = draws.std(axis=0, ddof=1) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - full["W_hh"].ravel()) < 5 * standard_error + 1e-12)


def test_the_scalar_api_averages_over_batch_and_time_like_the_contract():
    """L = 1/(B·T) Σ_b Σ_t ½(o − y)², against an independent forward pass of the scalar elman cell."""
    grad = symbptt.compile_scalar_gradient("elman", 5)
    rng = np.random.default_rng(1)
    params = {n: float(v) for n, v in zip(grad.param_names, rng.uniform(-1, 1, 5), strict=True)}
    x, y, h0 = rng.uniform(-1, 1, (5, 3)), rng.uniform(-1, 1, (5, 3)), rng.uniform(-1, 1, 3)
    p = {k: np.full((1, 1) if k.startswith("W") else (1,), v) for k, v in params.items()}
    expected = reference.loss_value(("elman", "tanh", "squared"), p, x[..., None], y[..., None], (h0[:, None],))
    assert grad(params, x, y, h0)["loss"] == pytest.approx(expected, rel=1e-14)
