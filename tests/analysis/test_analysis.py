"""The analyses: numbers from the strategy objects and compiled gradients, agreeing with closed forms."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sympy import Rational

from symbptt.analysis import alignment, estimators, figures, spectrum, training, truncation
from symbptt.cli.commands import main
from symbptt.derive import strategies
from symbptt.errors import ProofError

# ------------------------------------------------------------------ truncation: where the gradient is cut


def test_the_text_is_the_opening_of_the_time_machine():
    assert truncation.opening(18) == "The Time Traveller"
    X, Y, vocabulary = truncation.encode("abca")
    assert vocabulary == "abc" and X.shape == (3, 1, 3) and Y[:, 0].tolist() == [1, 2, 0]
    assert (X.argmax(axis=2)[:, 0] == [0, 1, 2]).all()


@given(T=st.integers(1, 60), k=st.integers(1, 20))
def test_chunked_pieces_are_k_long(T, k):
    c = truncation.cuts(strategies.make("chunked", tau=k), T)
    assert c.cut_after == tuple(range(k, T, k))
    assert [last - first + 1 for first, last in c.spans[:-1]] == [k] * (len(c.spans) - 1)


@given(xi=st.lists(st.sampled_from([0.0, 1.0, 2.5]), min_size=1, max_size=40))
def test_randomized_cuts_exactly_where_xi_is_zero(xi):
    c = truncation.cuts(strategies.make("randomized", pi=0.4), len(xi), xi=xi)
    assert c.cut_after == tuple(j - 1 for j in range(2, len(xi) + 1) if xi[j - 1] == 0)
    # the pieces partition 1..T
    covered = [t for first, last in c.spans for t in range(first, last + 1)]
    assert covered == list(range(1, len(xi) + 1))


def test_tbptt_updates_every_k1_through_k2_states():
    c = truncation.cuts(strategies.make("tbptt", k1=4, k2=8), 20)
    assert c.spans == ((1, 4), (1, 8), (5, 12), (9, 16), (13, 20))
    assert truncation.cuts(strategies.make("full"), 7).spans == ((1, 7),)
    assert truncation.cuts(strategies.make("last", tau=3), 7).spans == ((5, 7),)


# ------------------------------------------------------------------ exercise 1


def test_exercise_one_is_proved_and_printed():
    d = alignment.derivation()
    assert d.labels == ("eq_ex1_2x2", "eq_ex1_3x3", "eq_ex1_induction")
    assert len(d["eq_ex1_3x3"].equations) == 3 and len(d["eq_ex1_induction"].equations) == 4


def test_in_two_dimensions_the_angle_shrinks_exactly_as_the_eigenvalue_ratio():
    M = np.array([[2.0, 1.0], [1.0, 1.5]])
    r = alignment.alignment(M, np.array([0.2, -1.0]), 12)
    np.testing.assert_allclose(r["tan"], r["tan"][0] * r["rate"], rtol=1e-9)


@given(n=st.integers(3, 6), seed=st.integers(0, 1000))
def test_in_more_dimensions_the_ratio_bounds_the_angle(n, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    M = (A + A.T) / 2
    values = np.sort(np.abs(np.linalg.eigvalsh(M)))[::-1]
    if values[0] - values[1] < 1e-3 * values[0]:
        return
    r = alignment.alignment(M, rng.normal(size=n), 15)
    assert (r["tan"] <= r["tan"][0] * r["rate"] * (1 + 1e-8) + 1e-12).all()


@pytest.mark.parametrize(("M", "message"), [
    (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
    (np.eye(2), "no single direction"),
    (np.ones(3), "square matrix"),
])
def test_alignment_refuses_what_exercise_one_does_not_cover(M, message):
    with pytest.raises(ValueError, match=message):
        alignment.alignment(M, np.ones(M.shape[0]), 5)


def test_a_wrong_eigenpair_is_caught(monkeypatch):
    monkeypatch.setattr(alignment, "orthonormal_basis", lambda n: alignment.sp.Matrix([[1, 1], [0, 1]]))
    with pytest.raises(ProofError):
        alignment.prove_powers(2)


# ------------------------------------------------------------------ estimators


def _model(T=12, h=4, d=3, q=3, seed=0):
    rng = np.random.default_rng(seed)
    params = {"W_hx": rng.normal(size=(h, d)), "W_hh": rng.normal(size=(h, h)) * 0.4, "b_h": np.zeros(h),
              "W_qh": rng.normal(size=(q, h)), "b_q": np.zeros(q)}
    return params, rng.normal(size=(T, 2, d)), rng.normal(size=(T, 2, q))


def test_bias_is_exactly_zero_once_the_length_covers_the_sequence():
    params, X, Y = _model()
    b = estimators.bias("elman", params, X, Y, [1, 3, 12, 20])
    for name in ("window", "chunked", "tbptt", "last"):
        assert b[name][-2:].tolist() == [0.0, 0.0], name
        assert b[name][0] > 0
    assert b["window"][1] < b["window"][0]


def test_randomized_is_unbiased_exactly_and_its_draws_agree():
    params, X, Y = _model()
    r = estimators.randomized("elman", params, X, Y, [0.5, 1.0], draws=400, seed=3)
    assert r["expectation"] == pytest.approx(1.0, abs=1e-12)  # the gradient at xi = 1 is full's
    assert r["std"][1] == 0 and r["mean"][1] == pytest.approx(1.0, abs=1e-12)
    # the mean of 400 draws is within 4 standard errors of the exact expectation (fixed seed)
    assert abs(r["mean"][0] - 1.0) < 4 * r["std"][0] / np.sqrt(400)


def test_transitions_walked():
    assert estimators.transitions(strategies.make("full"), 10) == 10
    assert estimators.transitions(strategies.make("window", tau=3), 10) == 1 + 2 + 3 * 8
    assert estimators.transitions(strategies.make("last", tau=4), 10) == 4
    assert estimators.transitions(strategies.make("tbptt", k1=5, k2=5), 10) == 10
    assert estimators.transitions(strategies.make("randomized", pi=0.5), 10) == 10


# ------------------------------------------------------------------ the command line and the figures


def _run(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


@pytest.mark.parametrize("argv", [
    ["analyze", "strategies", "--characters", "24"],
    ["analyze", "alignment", "--size", "3", "--steps", "10"],
    pytest.param(["analyze", "estimators", "--hidden", "4", "--draws", "10"], marks=pytest.mark.slow),
])
def test_each_analysis_writes_a_png_and_an_svg(tmp_path, argv):
    stem = tmp_path / "figure"
    code, err = _run([*argv, "--out", str(stem)])
    assert code == 0, err
    png, svg = (tmp_path / "figure.png").read_bytes(), (tmp_path / "figure.svg").read_text()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and "<svg" in svg
    assert f"wrote {stem}.png and {stem}.svg" in err


def test_without_matplotlib_the_hint_is_one_line(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    code, err = _run(["analyze", "alignment", "--out", str(tmp_path / "f")])
    assert code == 1 and err == "symbptt: error: the figures need matplotlib: pip install 'symbptt[plot]'\n"
    assert not list(tmp_path.iterdir())


def test_a_figure_stem_may_carry_its_suffix(tmp_path):
    plt = figures.pyplot()
    figure = plt.figure()
    png, svg = figures.save(figure, tmp_path / "f.png")
    assert (png.name, svg.name) == ("f.png", "f.svg")


# ------------------------------------------------------------------ vanishing and exploding


@pytest.mark.parametrize(("activation", "expected"), [
    pytest.param("tanh", 1, marks=pytest.mark.slow),  # SymPy's maximum: seconds each
    pytest.param("sigmoid", Rational(1, 4), marks=pytest.mark.slow), ("relu", 1), ("identity", 1)])
def test_gamma_is_derived_from_the_activation(activation, expected):
    assert spectrum.gamma(activation) == expected


@given(radius=st.floats(0.5, 1.5), seed=st.integers(0, 100))
def test_the_compiled_adjoints_of_the_linear_cell_are_e15s_powers(radius, seed):
    W = spectrum.with_spectral_radius(6, radius, seed)
    assert max(abs(np.linalg.eigvals(W))) == pytest.approx(radius)
    r = spectrum.spectrum(W, 12, seed=seed)
    np.testing.assert_allclose(r.norms, r.powers, rtol=1e-10, atol=1e-300)


@pytest.mark.slow  # gamma of tanh and sigmoid, derived: seconds
def test_the_conditions_are_reported_for_the_matrix():
    small = spectrum.spectrum(0.5 * np.eye(3), 5, cell="elman")
    assert "vanishes (sufficient condition met)" in small.conditions
    assert small.norms[-1] < small.norms[0] * 0.5 ** 4  # |tanh'| <= 1: at least as fast as 0.5^lag
    sigmoid = spectrum.spectrum(2.0 * np.eye(3), 5, cell="elman", activation="sigmoid")
    assert "2 < 1/γ = 4: the gradient vanishes" in sigmoid.conditions  # γ = 1/4 for sigmoid
    big = spectrum.spectrum(5.0 * np.eye(3), 5, cell="elman", activation="sigmoid")
    assert "1/γ = 4" in big.conditions and "necessary condition met" in big.conditions


def test_spectrum_refuses_what_it_cannot_measure():
    with pytest.raises(ValueError, match="W_hh must be a square matrix"):
        spectrum.spectrum(np.ones((2, 3)), 4)
    with pytest.raises(ValueError, match="cell must be linear or elman"):
        spectrum.spectrum(np.eye(2), 4, cell="gru")


# ------------------------------------------------------------------ clipping


def test_clipping_tames_the_explosion_of_the_unclipped_run():
    plain, by_norm, by_value = training.train(60)
    assert max(plain.norms) > 100  # the explosion (update 10 with these defaults, whatever the rounding)
    assert plain.losses[0] == by_norm.losses[0] == by_value.losses[0]  # one start for all three
    assert all(np.isfinite(run.losses).all() for run in (plain, by_norm, by_value))
    # which run ends lower after the explosion depends on the last bits of rounding (the runs are chaotic at
    # this rate): not asserted


@pytest.mark.slow  # γ's symbolic maximum and a training run: seconds each
@pytest.mark.parametrize("argv", [
    ["analyze", "spectrum", "--hidden", "6", "--steps", "10", "--radii", "0.9", "1.1"],
    ["analyze", "clipping", "--updates", "10"],
])
def test_spectrum_and_clipping_write_their_figures(tmp_path, argv):
    code, err = _run([*argv, "--out", str(tmp_path / "f")])
    assert code == 0, err
    assert (tmp_path / "f.png").exists() and (tmp_path / "f.svg").exists()


@pytest.mark.slow  # gamma of tanh, derived: seconds
def test_spectrum_of_a_given_matrix(tmp_path):
    np.savez(tmp_path / "w.npz", W_hh=0.8 * np.eye(4))
    code, err = _run(["analyze", "spectrum", "--weights", str(tmp_path / "w.npz"), "--steps", "8",
                      "--out", str(tmp_path / "f")])
    assert code == 0 and "largest singular value 0.8 < 1/γ = 1" in err


def test_spectrum_names_what_the_weights_file_lacks(tmp_path):
    np.savez(tmp_path / "w.npz", W_hx=np.eye(2))
    code, err = _run(["analyze", "spectrum", "--weights", str(tmp_path / "w.npz"), "--out", str(tmp_path / "f")])
    assert code == 1 and err == f"symbptt: error: {tmp_path / 'w.npz'} has no array 'W_hh'\n"
    assert not (tmp_path / "f.png").exists()


def test_the_proof_of_exercise_one_as_a_document(tmp_path):
    import shutil

    from symbptt.document import documents

    tex = tmp_path / "ex1.tex"
    code, err = _run(["analyze", "alignment", "--steps", "5", "--tex", str(tex), "--out", str(tmp_path / "f")])
    assert code == 0, err
    text = tex.read_text()
    assert r"\label{eq_ex1_induction}" in text and r"M^{k + 1} v_{i}" in text
    if shutil.which("pdflatex"):  # CI installs one
        assert documents.overfull_lines(tex) == []
