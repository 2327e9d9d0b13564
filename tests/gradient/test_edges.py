"""Where random values in [-1, 1] never go: the relu kink, logits in the hundreds, the xi sampler, normalisation."""

import math
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import symbptt
from symbptt.derive import sampling
from symbptt.model import matrices as mx

from .. import reference
from ..helpers import backend_available


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


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.slow), "array_api"])
def test_bce_with_logits_in_the_hundreds_is_exact_and_finite(request, backend):
    """o = (800, -700, 0), y = (0, 1, 0.5): softplus(o) − y o without overflow (e^800 is inf in float64), and
    σ(o) − y as gradient, σ(±800) exactly 1 and 0."""
    backend_available(backend)
    if backend == "numba":
        request.getfixturevalue("numba_cache")  # compiled once per machine
    p = {"W_hx": np.zeros((1, 1)), "W_hh": np.zeros((1, 1)), "b_h": np.zeros(1), "W_qh": np.zeros((3, 1)),
         "b_q": np.array([800.0, -700.0, 0.0])}
    X, Y = np.zeros((2, 1, 1)), np.array([[[0.0, 1.0, 0.5]], [[0.0, 1.0, 0.5]]])
    out = symbptt.compile_gradient("elman", loss="bce", backend=backend)(p, X, Y)
    assert out["loss"] == pytest.approx((800.0 + 700.0 + math.log(2.0)) / 3, rel=1e-15)
    np.testing.assert_allclose(out["b_q"], np.array([1.0, -1.0, 0.0]) / 3, rtol=1e-15, atol=1e-300)
    assert all(np.isfinite(v).all() for v in out.values())


def test_bce_targets_outside_zero_one_are_refused_in_one_line():
    grad = symbptt.compile_gradient("elman", loss="bce", backend="numpy")
    p = {"W_hx": np.zeros((1, 1)), "W_hh": np.zeros((1, 1)), "b_h": np.zeros(1), "W_qh": np.zeros((2, 1)),
         "b_q": np.zeros(2)}
    Y = np.array([[[0.5, 1.5]], [[0.0, 1.0]]])
    with pytest.raises(ValueError, match=r"^Y must hold probabilities in \[0, 1\] for the bce loss, got 1.5 at "
                                         r"index \(0, 0, 1\)$"):
        grad(p, np.zeros((2, 1, 1)), Y)


def test_the_xi_sampler_is_unbiased_in_distribution():
    """Mean of 4000 gradients with xi sampled at pi = 0.4 (seeds 0..3999) within 5 standard errors of full."""
    rng = np.random.default_rng(5)
    p = {"W_hx": rng.normal(size=(3, 2)), "W_hh": 0.5 * rng.normal(size=(3, 3)), "b_h": rng.normal(size=3),
         "W_qh": rng.normal(size=(2, 3)), "b_q": rng.normal(size=2)}
    X, Y = rng.normal(size=(6, 2, 2)), rng.normal(size=(6, 2, 2))
    full = symbptt.compile_gradient("elman")(p, X, Y)
    randomized = symbptt.compile_gradient("elman", strategy="randomized")
    draws = np.array([randomized(p, X, Y, xi=sampling.sample_xi(0.4, 6, seed))["W_hh"].ravel()
                      for seed in range(4000)])
    xis = np.array([sampling.sample_xi(0.4, 6, seed) for seed in range(4000)])
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


# ------------------------------------------------------------------ planted-bug kinds (issue 20, item 8)

BACKENDS_FOR_EDGES = ["numpy", "array_api", pytest.param("numba", marks=pytest.mark.slow)]


@pytest.mark.parametrize("backend", BACKENDS_FOR_EDGES)
@pytest.mark.parametrize("logit", [800.0, 5000.0, 1e6])
def test_cross_entropy_stays_exact_far_beyond_where_exp_overflows(backend, logit, request):
    """o = (logit, -logit, 0): exp(800) is inf already, so a naive log Σ exp or softmax gives inf or NaN."""
    if backend == "numba":
        request.getfixturevalue("numba_cache")
    p = {"W_hx": np.zeros((1, 1)), "W_hh": np.zeros((1, 1)), "b_h": np.zeros(1), "W_qh": np.zeros((3, 1)),
         "b_q": np.array([logit, -logit, 0.0])}
    X, Y = np.zeros((2, 1, 1)), np.array([[1], [2]])
    out = symbptt.compile_gradient("elman", loss="cross_entropy", backend=backend_available(backend))(p, X, Y)
    # log Σ exp(o) = logit (the others vanish in float64); l = lse − o_y
    assert out["loss"] == pytest.approx(((logit + logit) + (logit - 0.0)) / 2, rel=1e-15)
    np.testing.assert_allclose(out["b_q"], [1.0, -0.5, -0.5], rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("backend", BACKENDS_FOR_EDGES)
def test_saturated_gates_and_softplus_stay_finite_and_exact(backend, request):
    """Pre-activations of ±1000: σ is 0 or 1, tanh ±1, softplus(z) = z, and their derivatives 0 or 1 exactly."""
    if backend == "numba":
        request.getfixturevalue("numba_cache")
    cell = symbptt.cell_from_text("h = softplus(W @ h + U @ x + b) - softplus(V @ h + c)", name="saturated")
    grad = symbptt.compile_gradient(cell, backend=backend_available(backend))
    p = {"W": np.zeros((2, 2)), "U": np.zeros((2, 1)), "b": np.array([1000.0, -1000.0]), "V": np.zeros((2, 2)),
         "c": np.array([-1000.0, 1000.0]), "W_qh": np.ones((1, 2)), "b_q": np.zeros(1)}
    X, Y = np.zeros((3, 1, 1)), np.zeros((3, 1, 1))
    out = grad(p, X, Y)
    # h_t = (1000 − 0, 0 − 1000) at every step: o = 0, the loss 0, every gradient 0 exactly
    assert out["loss"] == 0.0 and all(np.all(np.asarray(v) == 0.0) for v in out.values())
    gates = symbptt.compile_gradient("lstm", backend=backend_available(backend))
    rng = np.random.default_rng(3)
    q = {f"{k}{g}": np.zeros(s) for g in "ifoc" for k, s in (("W_x", (2, 1)), ("W_h", (2, 2)), ("b_", (2,)))}
    q |= {"b_i": np.array([1000.0, -1000.0]), "b_f": np.array([-1000.0, 1000.0]), "b_o": np.array([1000.0, 1000.0]),
          "b_c": np.array([1000.0, -1000.0]), "W_qh": rng.normal(size=(1, 2)), "b_q": np.zeros(1)}
    lstm = gates(q, X, Y)
    assert all(np.isfinite(np.asarray(v)).all() for v in lstm.values())
    # i = (1, 0), f = (0, 1), g = 1, c̃ = (1, −1): c_t = (1, 0) from the first step on, h_t = tanh(c_t)
    h = np.tanh(np.array([1.0, 0.0]))
    assert lstm["loss"] == pytest.approx(0.5 * float((q["W_qh"] @ h)[0]) ** 2, rel=1e-14)


@st.composite
def _trees(draw, depth=0):
    """A random expression over the columns u, v, w and its value on arrays, built side by side."""
    leaves = {"u": U, "v": V, "w": W}
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from("uvw"))
        return mx.seq(name, 3), leaves[name]
    kind = draw(st.sampled_from(["add", "sub", "neg", "scale", "hadamard"]))
    a, x = draw(_trees(depth + 1))
    if kind == "neg":
        return mx.mul(-1, a), -x
    if kind == "scale":
        return mx.mul(sp.Rational(5, 2), a), 2.5 * x
    b, y = draw(_trees(depth + 1))
    if kind == "add":
        return mx.add(a, b), x + y
    if kind == "sub":
        return mx.add(a, mx.mul(-1, b)), x - y
    return mx.hadamard(a, b), x * y


U, V, W = (np.random.default_rng(k).normal(size=(4, 3)) for k in range(3))  # (B, 3): a column per sample


_u, _v, _w = (mx.seq(n, 3) for n in "uvw")


@given(_trees())
@example((mx.add(_u, mx.mul(-1, mx.add(_v, _w))), U - (V + W)))
@example((mx.add(_u, mx.mul(-1, mx.add(_v, mx.mul(-1, _w)))), U - (V - W)))
@example((mx.hadamard(_u, mx.add(_v, mx.mul(-1, _w))), U * (V - W)))
@example((mx.mul(-1, mx.hadamard(mx.add(_u, _v), _w)), -((U + V) * W)))
@settings(max_examples=200)  # each example prints and evaluates three small expressions: milliseconds
def test_every_dialect_prints_sums_products_and_differences_with_their_parentheses(tree):
    """a − (b + c), a ⊙ (b − c), −(a − b): the printed code evaluates to the expression's value."""
    from symbptt.codegen.dialects import DIALECTS
    from symbptt.codegen.printing import RowPrinter

    expr, value = tree
    assume(not isinstance(expr, sp.ZeroMatrix))  # u − u: nothing to print
    for dialect in DIALECTS.values():
        code = RowPrinter(lambda leaf: leaf.name, stacked=False, dialect=dialect).doprint(expr)
        got = eval(code, {"u": U, "v": V, "w": W})  # noqa: S307  (code the printer wrote, on our own arrays)
        np.testing.assert_allclose(got, value, rtol=1e-13, atol=1e-13, err_msg=f"{dialect.name}: {code}")


@pytest.mark.parametrize("zeros", [{"a": np.zeros(3)}, {"a": np.zeros((2, 2)), "b": np.zeros(1), "loss": 0.5},
                                   {"a": 0.0}, {"a": np.zeros(0), "b": np.zeros(2)}])
def test_clip_norm_leaves_an_all_zero_gradient_zero(zeros):
    """‖g‖ = 0: nothing to scale; θ/‖g‖ would be a division by zero, 0·∞ a NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = symbptt.clip_norm(zeros, 1.0)
    assert set(out) == set(zeros)
    for name, value in zeros.items():
        assert np.array_equal(np.asarray(out[name]), np.asarray(value)) and np.isfinite(out[name]).all()


def test_clip_norm_of_huge_gradients_keeps_their_direction():
    """Entries of 1e300 square to infinity: the norm is computed scaled, so clipping keeps g/‖g‖·θ."""
    out = symbptt.clip_norm({"a": np.array([3e300, 4e300]), "b": np.array([0.0])}, 1.0)
    np.testing.assert_allclose(out["a"], [0.6, 0.8], rtol=1e-15)
    assert out["b"].tolist() == [0.0]
    tiny = symbptt.clip_norm({"a": np.array([3e-310, 4e-310])}, 1.0)  # subnormal: below θ, unchanged
    assert tiny["a"].tolist() == [3e-310, 4e-310]


def test_the_command_line_clips_an_all_zero_gradient(tmp_path):
    from symbptt.cli.commands import main

    p = {"W_hx": np.zeros((2, 1)), "W_hh": np.zeros((2, 2)), "b_h": np.zeros(2), "W_qh": np.zeros((1, 2)),
         "b_q": np.zeros(1)}
    np.savez(tmp_path / "in.npz", X=np.zeros((3, 1, 1)), Y=np.zeros((3, 1, 1)), **p)
    assert main(["grad", str(tmp_path / "in.npz"), "--cell", "elman", "--clip-norm", "1", "--out",
                 str(tmp_path / "g.npz")]) == 0
    with np.load(tmp_path / "g.npz") as out:
        assert all(np.all(out[k] == 0.0) for k in p)
