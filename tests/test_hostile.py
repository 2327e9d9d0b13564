"""Hostile input, in bulk: every one is refused in the contract's form ("Bad input" in docs/contract.md).

Command line (in process): exit 1 or 2, exactly one line on stderr starting
``symbptt``, naming the flag, argument or array, no traceback, and the folder
it ran in unchanged (no output created, an existing output neither removed
nor modified). Python: a ``ValueError`` or ``TypeError`` (the package's own
errors are subclasses) of one line naming the argument.

Written lists cross every flag and argument with the values that break it;
Hypothesis draws more (texts, bytes, arrays). Each distinct input is counted
and the count printed at the end of the run (``conftest.py``); the last test
asserts there were at least 300 when the whole module ran.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import symbptt
from symbptt.cli import main
from symbptt.model.cells import cell_names

SEEN: set[str] = set()  # every distinct hostile input run, CLI and Python
_RUN: set[str] = set()  # the tests of this module that ran, for the count's own test
KEEP = b"an existing output: a failed run must leave it as it is\n"


# ------------------------------------------------------------------ the contract's form


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _valid_input(path: Path, cell: str = "elman") -> None:
    rng = np.random.default_rng(0)
    T, B, d, h, q = 3, 2, 2, 3, 2
    arrays = {"W_hx": rng.normal(size=(h, d)), "W_hh": rng.normal(size=(h, h)) * 0.5, "b_h": rng.normal(size=h),
              "W_qh": rng.normal(size=(q, h)), "b_q": rng.normal(size=q),
              "X": rng.normal(size=(T, B, d)), "Y": rng.normal(size=(T, B, q))}
    if cell == "linear":
        del arrays["b_h"]
    np.savez(path, **arrays)


def refused_cli(argv: list[str], names: tuple[str, ...], setup=None, codes: tuple[int, ...] = (1, 2)) -> str:
    """Run ``symbptt argv`` in a fresh folder holding IN.npz, KEEP.out and KEEP.tex; assert the contract's form.

    ``{dir}`` in argv is the folder. ``names``: the line names at least one of them.
    """
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        _valid_input(folder / "IN.npz")
        for keep in ("KEEP.out", "KEEP.tex", "KEEP.npz", "KEEP.pdf"):
            (folder / keep).write_bytes(KEEP)
        if setup is not None:
            setup(folder)
        args = [a.replace("{dir}", name) for a in argv]
        before = _snapshot(folder)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as stop:
                code = stop.code
        text = err.getvalue()
        assert code in codes, (argv, code, text)
        lines = text.splitlines()
        assert len(lines) == 1 and lines[0].startswith("symbptt") and "Traceback" not in text, (argv, text)
        assert any(n in lines[0] for n in names), (argv, names, lines[0])
        assert _snapshot(folder) == before, (argv, "the folder changed")
    SEEN.add("cli " + repr(argv) + (repr(setup.__name__) if setup else ""))
    return lines[0]


def refused_api(key: str, call, names: tuple[str, ...]) -> str:
    """``call()`` raises ValueError or TypeError, one line naming one of ``names``."""
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and any(n in message for n in names), (key, message)
    SEEN.add("api " + key)
    return message


# ------------------------------------------------------------------ command line: flags

BAD_COUNTS = ["0", "-1", "-7", "2.5", "1e3", "nan", "inf", "-inf", "", " ", "abc", "0x10", "3 4", "--", "2,5"]
BAD_PROBABILITIES = ["0", "-0.5", "1.5", "2", "nan", "inf", "-inf", "", "abc", "true", "1/2"]
BAD_SEEDS = ["-1", "-100", "2.5", "abc", "", "nan", "1e3"]
BAD_THRESHOLDS = ["0", "-1", "-0.0", "nan", "inf", "-inf", "", "abc", "1,5"]
BAD_CHOICES = ["", "ELMAN", "elman ", "tanh2", "gru;rm", "Full", "none", "x" * 60, "élman"]

GRAD = ["grad", "{dir}/IN.npz", "--cell", "elman", "--out", "{dir}/KEEP.npz"]
CODE = ["code", "--cell", "elman", "--out", "{dir}/KEEP.out"]
DERIVE = ["derive", "--out", "{dir}/KEEP.tex"]
GRAPH = ["graph", "--out", "{dir}/KEEP.out"]

# (base command, flag, the other flags that make the flag apply, bad values)
FLAG_CASES = [
    (DERIVE, "--steps", [], BAD_COUNTS),
    (GRAPH, "--steps", [], BAD_COUNTS),
    (DERIVE, "--tau", ["--strategy", "window"], BAD_COUNTS),
    (DERIVE, "--k1", ["--strategy", "tbptt"], BAD_COUNTS),
    (DERIVE, "--k2", ["--strategy", "tbptt"], BAD_COUNTS),
    (CODE, "--tau", ["--strategy", "window"], BAD_COUNTS),
    (CODE, "--tau", ["--strategy", "chunked"], BAD_COUNTS[:6]),
    (CODE, "--tau", ["--strategy", "last"], BAD_COUNTS[:6]),
    (CODE, "--k1", ["--strategy", "tbptt", "--k2", "3"], BAD_COUNTS),
    (CODE, "--k2", ["--strategy", "tbptt", "--k1", "2"], BAD_COUNTS),
    (GRAD, "--tau", ["--strategy", "window"], BAD_COUNTS),
    (GRAD, "--k1", ["--strategy", "tbptt", "--k2", "3"], BAD_COUNTS[:8]),
    (CODE, "--pi", ["--strategy", "randomized"], BAD_PROBABILITIES),
    (GRAD, "--pi", ["--strategy", "randomized"], BAD_PROBABILITIES),
    (CODE, "--seed", ["--strategy", "randomized", "--pi", "0.5"], BAD_SEEDS),
    (GRAD, "--seed", ["--strategy", "randomized", "--pi", "0.5"], BAD_SEEDS),
    (GRAD, "--clip-norm", [], BAD_THRESHOLDS),
    (GRAD, "--clip-value", [], BAD_THRESHOLDS),
    (DERIVE, "--model", [], BAD_CHOICES),
    (GRAPH, "--model", [], BAD_CHOICES),
    (CODE, "--cell", [], BAD_CHOICES),
    (GRAD, "--cell", [], BAD_CHOICES),
    (CODE, "--activation", [], BAD_CHOICES),
    (CODE, "--loss", [], BAD_CHOICES),
    (CODE, "--strategy", [], BAD_CHOICES),
    (DERIVE, "--strategy", [], BAD_CHOICES),
    (DERIVE, "--activation", ["--model", "elman"], BAD_CHOICES),
    (GRAD, "--loss", [], BAD_CHOICES),
]


def _flag_cases():
    for base, flag, context, values in FLAG_CASES:
        for value in values:
            yield pytest.param([*base, *context, flag, value], flag, id=f"{base[0]} {flag} {value!r}")


@pytest.mark.parametrize(("argv", "flag"), list(_flag_cases()))
def test_a_bad_flag_value(argv, flag):
    _RUN.add("flags")
    refused_cli(argv, (flag, flag.lstrip("-")), codes=(2,))


@given(value=st.text(max_size=12).filter(lambda s: s.strip() not in ("window", "full", "chunked", "randomized",
                                                                     "tbptt", "last")),
       flag=st.sampled_from(["--strategy", "--cell", "--activation", "--loss"]))
def test_any_other_choice_is_refused(value, flag):
    _RUN.add("choices")
    if flag != "--strategy" and value.strip() in (*cell_names(), "tanh", "sigmoid", "relu", "identity",
                                                  "squared", "cross_entropy"):
        return
    refused_cli([*CODE[:1], *([] if flag == "--cell" else ["--cell", "elman"]), flag, value], (flag,), codes=(2,))


@given(value=st.one_of(st.integers(max_value=0), st.integers(min_value=101, max_value=10**30),
                       st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=8)))
def test_any_steps_outside_1_to_100_are_refused(value):
    _RUN.add("steps")
    text = str(value)
    with contextlib.suppress(ValueError):
        if 1 <= int(text) <= 100:
            return
    refused_cli(["derive", "--steps", text], ("--steps",), codes=(2,))


# flags that do not apply, outputs that cannot be written
MISUSE = [
    (["derive", "--strategy", "full", "--tau", "3"], "--tau"),
    (["derive", "--strategy", "window", "--k1", "2"], "--k1"),
    (["derive", "--model", "gru", "--activation", "relu"], "--activation"),
    (["derive", "--model", "generic", "--loss", "squared", "--out", "{dir}/KEEP.tex"], "--loss"),
    (["graph", "--model", "gru", "--activation", "relu"], "--activation"),
    (["code", "--cell", "elman", "--strategy", "full", "--tau", "3"], "--tau"),
    (["code", "--cell", "elman", "--strategy", "window", "--pi", "0.5", "--tau", "2"], "--pi"),
    (["code", "--cell", "elman", "--strategy", "full", "--seed", "3"], "--seed"),
    (["code", "--cell", "gru", "--activation", "relu"], "activation"),
    (["code", "--cell", "elman", "--strategy", "window"], "tau"),
    (["code", "--cell", "elman", "--strategy", "tbptt", "--k1", "2"], "k2"),
    (["derive", "--pdf"], "--pdf"),
    (["derive", "--out", ""], "--out"),
    (["derive", "--out", "{dir}"], "--out"),
    (["derive", "--out", "{dir}/"], "--out"),
    (["code", "--cell", "elman", "--out", "{dir}/no/such/folder/g.py"], "no/such/folder"),
    (["grad", "{dir}/IN.npz", "--cell", "elman", "--out", "{dir}/no/such/g.npz"], "no/such"),
    (["grad", "{dir}/IN.npz", "--cell", "elman", "--out", ""], "--out"),
    (["grad", "{dir}/IN.npz", "--cell", "elman"], "--out"),
    (["grad", "{dir}/MISSING.npz", "--cell", "elman", "--out", "{dir}/KEEP.npz"], "MISSING.npz"),
    (["grad", "{dir}", "--cell", "elman", "--out", "{dir}/KEEP.npz"], "is not a file"),
    (["grad", "{dir}/IN.npz", "--cell", "gru", "--out", "{dir}/KEEP.npz"], "W_"),
    (["grad", "{dir}/IN.npz", "--cell", "linear", "--out", "{dir}/KEEP.npz"], "b_h"),
    (["grad", "{dir}/IN.npz", "--cell", "elman", "--loss", "cross_entropy", "--out", "{dir}/KEEP.npz"], "Y"),
    (["grad", "{dir}/IN.npz", "--cell", "elman", "--strategy", "randomized", "--out", "{dir}/KEEP.npz"], "pi"),
    (["derive", "--cell-file", "{dir}/MISSING.txt"], "MISSING.txt"),
    (["derive", "--cell-file", "{dir}/KEEP.tex", "--model", "elman"], "--model"),
    (["nonsense"], "nonsense"),
    ([], "symbptt"),
    (["grad"], "INPUT"),
]


@pytest.mark.parametrize(("argv", "name"), MISUSE, ids=[" ".join(a) for a, _ in MISUSE])
def test_a_misused_command(argv, name):
    _RUN.add("misuse")
    refused_cli(argv, (name,))
