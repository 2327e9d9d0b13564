"""Bad input answered with one line: empty sizes, clipping and the checker (towards issue 9)."""

import numpy as np
import pytest

import symbptt


def params(rng, d=2, h=3, q=2):
    return {"W_hx": rng.normal(size=(h, d)), "W_hh": rng.normal(size=(h, h)), "b_h": np.zeros(h),
            "W_qh": rng.normal(size=(q, h)), "b_q": np.zeros(q)}


@pytest.mark.parametrize(("shape", "names"), [((0, 2, 2), "T = 0"), ((3, 0, 2), "B = 0")])
def test_empty_dimensions_are_named(shape, names):
    grad = symbptt.compile_gradient("elman")
    with pytest.raises(ValueError, match=f"empty dimension: {names}"):
        grad(params(np.random.default_rng(0)), np.zeros(shape), np.zeros((*shape[:2], 2)))


def test_an_empty_parameter_dimension_is_named():
    rng = np.random.default_rng(0)
    p = params(rng, d=0)
    with pytest.raises(ValueError, match="empty dimension: d = 0"):
        symbptt.compile_gradient("elman")(p, np.zeros((3, 2, 0)), np.zeros((3, 2, 2)))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: symbptt.clip_norm([1.0, 2.0], 1.0),
     "clip_norm's grads must be a mapping of gradients by parameter name, got list"),
    (lambda: symbptt.clip_norm({"a": np.ones(2)}, True), "theta must be a finite number > 0, got True"),
    (lambda: symbptt.clip_norm({"a": np.ones(2)}, "1"), "theta must be a finite number > 0, got '1'"),
    (lambda: symbptt.clip_value({"a": np.ones(2)}, float("nan")), "c must be a finite number > 0, got nan"),
    (lambda: symbptt.clip_value({"a": np.array([np.nan])}, 1.0), "gradient 'a' holds NaN or infinite values"),
    (lambda: symbptt.clip_norm({"a": np.array([np.inf])}, 1.0), "gradient 'a' holds NaN or infinite values"),
    (lambda: symbptt.clip_value({"a": "x"}, 1.0), "gradient 'a' must be an array of numbers"),
])
def test_clipping_refuses_what_it_cannot_clip(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


ONE = {"a": np.ones(2)}


@pytest.mark.parametrize(("loss", "grads", "options", "error", "message"), [
    (lambda p: float("nan"), ONE, {}, AssertionError, "numeric:  nan"),
    (lambda p: 0.0, {"a": np.full(2, np.nan)}, {}, AssertionError, "the gradient of a holds NaN"),
    (lambda p: 0.0, {"a": np.zeros(2)}, {"directions": 0}, ValueError, "directions must be an integer >= 1, got 0"),
    (lambda p: 0.0, {"a": np.zeros(2)}, {"directions": -3}, ValueError, "directions must be an integer >= 1"),
    (lambda p: 0.0, {"a": np.zeros(2)}, {"rtol": float("nan")}, ValueError, "rtol must be a finite number > 0"),
    (lambda p: 0.0, {"a": np.zeros(2)}, {"eps": 0}, ValueError, "eps must be a finite number > 0, got 0"),
    (lambda p: 0.0, {}, {}, ValueError, "grads has no gradient for a"),
    (lambda p: 0.0, {"a": np.zeros(3)}, {}, ValueError, r"gradient 'a' has shape \(3,\), its parameter \(2,\)"),
])
def test_the_checker_fails_where_it_must(loss, grads, options, error, message):
    with pytest.raises(error, match=message):
        symbptt.check_gradient(loss, ONE, grads, **options)


def test_linear_recurrence_iterate_needs_one_multiplier_per_step():
    with pytest.raises(ValueError, match="iterate needs T = 3 multipliers m_1..m_T, got 1"):
        symbptt.LinearRecurrence().iterate(3, [1])


@pytest.mark.parametrize(("argv", "message"), [
    (["derive", "--steps", "101"], "must be an integer from 1 to 100, got '101'"),
    (["derive", "--steps", "0"], "must be an integer from 1 to 100, got '0'"),
    (["graph", "--steps", "100000"], "must be an integer from 1 to 500, got '100000'"),
])
def test_steps_are_bounded_where_the_work_or_the_document_would_not_be(argv, message, capsys):
    from symbptt.cli.commands import main

    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_unbiasedness_for_explicit_t_is_linear_in_t_past_the_summed_check():
    """E[z_T] by linearity (xi_t independent, E[xi_t] = 1); the 2^(T-1) sum only up to EXACT_SUM_T."""
    from symbptt.derive import one_state
    from symbptt.derive.chain import Partial
    from symbptt.model import scalar

    m = scalar.make_model("elman", "tanh")
    eq = one_state.randomized_expectation_exact(m, m.recurrent_weight, 20)
    assert eq.rhs == Partial(scalar.h[20], m.recurrent_weight)  # ProofError otherwise


# ------------------------------------------------------------------ files


def _write_input(path):
    rng = np.random.default_rng(0)
    np.savez(path, **params(rng), X=rng.normal(size=(3, 2, 2)), Y=rng.normal(size=(3, 2, 2)))


def _npy_bytes():
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    return buffer.getvalue()


def _huge_header(path):
    """A small .npz whose one array claims a shape of 2^40 entries."""
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2**20, 2**20)})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\x00" * 64)


BAD_FILES = {
    "empty": lambda p: p.write_bytes(b""),
    "text": lambda p: p.write_text("X = 1"),
    "npy": lambda p: p.write_bytes(_npy_bytes()),
    "truncated": lambda p: (_write_input(p), p.write_bytes(p.read_bytes()[:200])),
    "corrupted": lambda p: (_write_input(p), p.write_bytes(p.read_bytes()[:100] + b"\xff" * 50 + p.read_bytes()[150:])),
    "objects": lambda p: np.savez(p, X=np.array([{"a": 1}], dtype=object)),
    "huge header": _huge_header,
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_input_file_is_one_line_exit_1_and_no_output(tmp_path, capsys, kind):
    from symbptt.cli.commands import main

    inp, out = tmp_path / "in.npz", tmp_path / "g.npz"
    BAD_FILES[kind](inp)
    assert main(["grad", str(inp), "--cell", "elman", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("symbptt: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_a_failed_pdf_leaves_the_existing_document_intact(tmp_path, monkeypatch, capsys):
    from symbptt.cli.commands import main
    from symbptt.document import documents
    from symbptt.errors import SymbpttError

    tex = tmp_path / "d.tex"
    tex.write_text("my own notes")

    def fail(path, tex="pdflatex"):
        msg = "pdflatex failed on d.tex: ! Emergency stop."
        raise SymbpttError(msg)

    monkeypatch.setattr(documents, "compile_pdf", fail)
    assert main(["derive", "--out", str(tex), "--pdf"]) == 1
    assert tex.read_text() == "my own notes" and not tex.with_suffix(".pdf").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.tex"]  # no scratch left behind
    assert "pdflatex failed" in capsys.readouterr().err


@pytest.mark.parametrize("out", ["", ".", "/tmp/"])
def test_out_must_name_a_file(out, capsys):
    from symbptt.cli.commands import main

    with pytest.raises(SystemExit) as exit_:
        main(["derive", "--out", out])
    assert exit_.value.code == 2 and f"must name a file to write, got {out!r}" in capsys.readouterr().err


# ------------------------------------------------------------------ non-finite results


def _overflowing(tmp_path=None):
    rng = np.random.default_rng(0)
    p = {"W_hx": rng.normal(size=(3, 2)), "W_hh": 0.1 * rng.normal(size=(3, 3)), "W_qh": rng.normal(size=(2, 3))}
    X = rng.normal(size=(6, 2, 2))
    X[3:] *= 1e200  # h_4 ~ 1e200: its square overflows from step 4 on
    return p, X, rng.normal(size=(6, 2, 2))


def test_a_non_finite_result_warns_naming_its_first_time_step():
    p, X, Y = _overflowing()
    with pytest.warns(symbptt.NonFiniteWarning, match=r"not finite .* first appears at time step t = 4 of 6"):
        out = symbptt.compile_gradient("linear")(p, X, Y)
    assert not np.isfinite(out["loss"])


def test_the_command_line_says_so_in_one_line(tmp_path, capsys):
    from symbptt.cli.commands import main

    p, X, Y = _overflowing()
    np.savez(tmp_path / "in.npz", **p, X=X, Y=Y)
    assert main(["grad", str(tmp_path / "in.npz"), "--cell", "linear", "--out", str(tmp_path / "g.npz")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "symbptt: warning: the linear gradient is not finite" in err[-1] and "t = 4 of 6" in err[-1]


@pytest.mark.parametrize(("argv", "message"), [
    (["derive", "--strategy", "full", "--tau", "3"], "--tau applies to --strategy window or chunked or last"),
    (["derive", "--strategy", "window", "--k1", "2"], "--k1 applies to --strategy tbptt (or all), not window"),
    (["derive", "--cell", "gru", "--activation", "relu"], "--activation applies to the elman cell only, not gru"),
    (["derive", "--loss", "squared"], "--loss applies to a cell's matrix section"),
    (["graph", "--cell", "linear", "--activation", "relu"], "--activation applies to the elman cell only"),
])
def test_flags_that_do_not_apply_are_refused_not_ignored(argv, message, capsys):
    from symbptt.cli.commands import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("symbptt: error: ") and message in err and err.count("\n") == 1
