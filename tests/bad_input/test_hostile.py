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
import os
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import symbptt
from symbptt import extend as ex
from symbptt.cli.commands import main
from symbptt.model.cells import cell_names

from ..helpers import compiled as helpers_compiled


class _Opaque:
    """An object of no use to anything, with a repr that is the same in every process (xdist compares ids)."""

    def __repr__(self) -> str:
        return "<an object>"


OPAQUE = _Opaque()
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


def run_cli(argv: list[str], setup=None) -> tuple[object, str, bool]:
    """Run ``symbptt argv`` in a fresh folder holding IN.npz and KEEP.* outputs; exit code, stderr, folder changed.

    ``{dir}`` in argv is the folder; ``setup(folder)`` may change it first.
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
        return code, err.getvalue(), _snapshot(folder) != before


def _one_line(text: str) -> bool:
    """One line; or, for a formula, the contract's one line followed by the formula and a caret under it."""
    lines = text.splitlines()
    return len(lines) == 1 or (len(lines) == 3 and lines[1].startswith("    ") and lines[2].strip() == "^")


def refused_cli(argv: list[str], names: tuple[str, ...], setup=None, codes: tuple[int, ...] = (1, 2)) -> str:
    """``symbptt argv`` is refused in the contract's form; the line names at least one of ``names``."""
    code, text, changed = run_cli(argv, setup)
    assert code in codes, (argv, code, text)
    lines = text.splitlines()
    assert _one_line(text) and lines[0].startswith("symbptt") and "Traceback" not in text, (argv, text)
    assert any(n in lines[0] for n in names), (argv, names, lines[0])
    assert not changed, (argv, "the folder changed")
    SEEN.add("cli " + repr(argv) + (repr(setup.__name__) if setup else ""))
    return lines[0]


def refused_api(key: str, call, names: tuple[str, ...]) -> str:
    """``call()`` raises ValueError or TypeError, one line naming one of ``names``."""
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    message = str(info.value)
    assert _one_line(message) and any(n in message.splitlines()[0] for n in names), (key, message)
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
    (DERIVE, "--cell", [], BAD_CHOICES),
    (GRAPH, "--cell", [], BAD_CHOICES),
    (GRAPH, "--format", [], [*BAD_CHOICES, "jpeg", "DOT"]),
    (CODE, "--cell", [], BAD_CHOICES),
    (GRAD, "--cell", [], BAD_CHOICES),
    (CODE, "--activation", [], BAD_CHOICES),
    (CODE, "--loss", [], BAD_CHOICES),
    (CODE, "--strategy", [], BAD_CHOICES),
    (DERIVE, "--strategy", [], BAD_CHOICES),
    (DERIVE, "--activation", ["--cell", "elman"], BAD_CHOICES),
    (GRAD, "--loss", [], BAD_CHOICES),
    (["analyze", "strategies", "--out", "{dir}/KEEP"], "--characters", [], [*BAD_COUNTS, "81"]),
    (["analyze", "strategies", "--out", "{dir}/KEEP"], "--pi", [], BAD_PROBABILITIES),
    (["analyze", "strategies", "--out", "{dir}/KEEP"], "--k2", [], BAD_COUNTS),
    (["analyze", "alignment", "--out", "{dir}/KEEP"], "--size", [], [*BAD_COUNTS, "1", "201"]),
    (["analyze", "alignment", "--out", "{dir}/KEEP"], "--seed", [], BAD_SEEDS),
    (["analyze", "estimators", "--out", "{dir}/KEEP"], "--draws", [], [*BAD_COUNTS, "10001"]),
    (["analyze", "spectrum", "--out", "{dir}/KEEP"], "--radii", [], BAD_THRESHOLDS),
    (["analyze", "spectrum", "--out", "{dir}/KEEP"], "--activation", [], BAD_CHOICES),
    (["analyze", "clipping", "--out", "{dir}/KEEP"], "--theta", [], BAD_THRESHOLDS),
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
    (["derive", "--cell", "gru", "--activation", "relu"], "--activation"),
    (["derive", "--cell", "generic", "--loss", "squared", "--out", "{dir}/KEEP.tex"], "--loss"),
    (["graph", "--cell", "gru", "--activation", "relu"], "--activation"),
    (["code", "--cell", "elman", "--strategy", "full", "--tau", "3"], "--tau"),
    (["code", "--cell", "elman", "--strategy", "window", "--pi", "0.5", "--tau", "2"], "--pi"),
    (["code", "--cell", "elman", "--strategy", "full", "--seed", "3"], "--seed"),
    (["code", "--cell", "gru", "--activation", "relu"], "activation"),
    (["code", "--cell", "elman", "--strategy", "window"], "tau"),
    (["code", "--cell", "elman", "--strategy", "tbptt", "--k1", "2"], "k2"),
    (["derive", "--cell", "lstm", "--activation", "relu"], "--activation"),
    (["derive", "--cell", "lstm", "--strategy", "window", "--k1", "2"], "--k1"),
    (["analyze"], "analysis"),
    (["analyze", "nonsense"], "nonsense"),
    (["analyze", "spectrum", "--radii", "1", "2", "3", "4", "5", "6", "7", "--out", "{dir}/KEEP"], "--radii"),
    (["analyze", "spectrum", "--weights", "{dir}/MISSING.npz", "--out", "{dir}/KEEP"], "MISSING.npz"),
    (["analyze", "spectrum", "--weights", "{dir}/IN.npz", "--radii", "0.9", "--out", "{dir}/KEEP"], "--radii"),
    (["analyze", "spectrum", "--weights", "{dir}/IN.npz", "--hidden", "4", "--out", "{dir}/KEEP"], "--hidden"),
    (["analyze", "spectrum", "--weights", "{dir}/KEEP.npz", "--out", "{dir}/KEEP"], "KEEP.npz"),
    (["analyze", "strategies", "--out", ""], "--out"),
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
    (["derive", "--cell-file", "{dir}/KEEP.tex", "--cell", "elman"], "--cell"),
    (["nonsense"], "nonsense"),
    (["grad"], "INPUT"),
]


@pytest.mark.parametrize(("argv", "name"), MISUSE, ids=[" ".join(a) for a, _ in MISUSE])
def test_a_misused_command(argv, name):
    _RUN.add("misuse")
    refused_cli(argv, (name,))


# ------------------------------------------------------------------ command line: files


def _overwrite(name: str, data: bytes):
    def setup(folder: Path) -> None:
        (folder / name).write_bytes(data)

    setup.__name__ = f"{name}={data[:40]!r}:{len(data)}"
    return setup


@given(data=st.binary(max_size=300))
def test_any_bytes_as_the_input_file(data):
    _RUN.add("bytes")
    refused_cli(["grad", "{dir}/IN.npz", "--cell", "elman", "--out", "{dir}/KEEP.npz"],
                ("IN.npz",), _overwrite("IN.npz", data), codes=(1,))


@given(cut=st.integers(min_value=0, max_value=2000), flip=st.integers(min_value=0, max_value=2000))
def test_a_damaged_input_file(cut, flip):
    """A valid .npz, cut short at ``cut`` bytes or with the byte at ``flip`` changed."""
    _RUN.add("damaged")
    with tempfile.TemporaryDirectory() as name:
        _valid_input(Path(name) / "in.npz")
        valid = (Path(name) / "in.npz").read_bytes()
    damaged = [valid[:cut]] if cut < len(valid) else []
    if flip < len(valid):
        changed = bytearray(valid)
        changed[flip] ^= 0xFF
        damaged.append(bytes(changed))
    for data in damaged:
        setup = _overwrite("IN.npz", data)
        code, text, changed = run_cli(["grad", "{dir}/IN.npz", "--cell", "elman", "--out", "{dir}/G.npz"], setup)
        if code == 0:  # the change hit a byte no reader checks (a header's padding): a valid file, a written result
            assert changed and text.startswith("symbptt: wrote"), text
            continue
        refused_cli(["grad", "{dir}/IN.npz", "--cell", "elman", "--out", "{dir}/KEEP.npz"],
                    ("IN.npz", "X", "Y", "W_", "b_"), setup, codes=(1,))


SHAPES = {"W_hx": (3, 2), "W_hh": (3, 3), "b_h": (3,), "W_qh": (2, 3), "b_q": (2,), "X": (3, 2, 2), "Y": (3, 2, 2)}


def _bad_array(name: str, kind: str) -> np.ndarray | None:
    shape = SHAPES[name]
    return {
        "missing": None,
        "int": np.ones(shape, dtype=np.int64),
        "bool": np.ones(shape, dtype=bool),
        "complex": np.ones(shape, dtype=complex),
        "text": np.full(shape, "a"),
        "nan": np.full(shape, np.nan),
        "inf": np.full(shape, np.inf),
        "-inf at the end": np.concatenate([np.ones(int(np.prod(shape)) - 1), [-np.inf]]).reshape(shape),
        "scalar": np.array(1.0),
        "one more axis": np.ones((*shape, 1)),
        "transposed": np.ones(shape[::-1] + (1,) * 0) if len(shape) == 2 and shape[0] != shape[1] else None,
        "empty": np.ones((0, *shape[1:])),
        "too long": np.ones((shape[0] + 1, *shape[1:])),
        "longdouble": np.ones(shape, dtype=np.longdouble),
        "datetime": np.zeros(shape, dtype="datetime64[s]"),
        "timedelta": np.zeros(shape, dtype="timedelta64[s]"),
        "record": np.zeros(shape, dtype=[("a", "<f8")]),
    }[kind]


ARRAY_KINDS = ["missing", "int", "bool", "complex", "text", "nan", "inf", "-inf at the end", "scalar",
               "one more axis", "transposed", "empty", "too long", "longdouble", "datetime", "timedelta", "record"]


def _array_cases():
    for name in SHAPES:
        for kind in ARRAY_KINDS:
            if kind == "transposed" and _bad_array(name, kind) is None:
                continue
            if kind == "missing" and name == "b_h":
                continue  # b_h missing is a cell without a bias, tested with --cell linear above
            yield pytest.param(name, kind, id=f"{name} {kind}")


def _replace_array(name: str, kind: str):
    def setup(folder: Path) -> None:
        with np.load(folder / "IN.npz") as archive:
            arrays = dict(archive)
        value = _bad_array(name, kind)
        if value is None:
            del arrays[name]
        else:
            arrays[name] = value
        np.savez(folder / "IN.npz", **arrays)

    setup.__name__ = f"{name} {kind}"
    return setup


@pytest.mark.parametrize(("name", "kind"), list(_array_cases()))
def test_a_bad_array_in_the_input_file(name, kind):
    _RUN.add("arrays")
    refused_cli(["grad", "{dir}/IN.npz", "--cell", "elman", "--out", "{dir}/KEEP.npz"], (name,),
                _replace_array(name, kind), codes=(1,))


def _archive(members: list[tuple[str, bytes]]):
    """IN.npz replaced by a zip of these members (names as given: a path, a duplicate, no .npy)."""

    def setup(folder: Path) -> None:
        with zipfile.ZipFile(folder / "IN.npz", "w") as archive, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns of a duplicate name: that is the point
            for name, data in members:
                archive.writestr(name, data)

    setup.__name__ = "archive " + " ".join(name for name, _ in members)[:200]
    return setup


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _header(shape: tuple[int, ...]) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue()


MEMBERS = [
    ([("X.npy", _npy(np.zeros((3, 2, 2)))), ("../Y.npy", _npy(np.zeros((3, 2, 2))))], "'../Y.npy'"),
    ([("X.npy", _npy(np.zeros((3, 2, 2)))), ("/abs/Y.npy", _npy(np.zeros((3, 2, 2))))], "'/abs/Y.npy'"),
    ([("X.npy", _npy(np.zeros((3, 2, 2)))), ("d/Y.npy", _npy(np.zeros((3, 2, 2))))], "'d/Y.npy'"),
    ([("X.npy", _npy(np.zeros((3, 2, 2)))), ("Y", _npy(np.zeros((3, 2, 2))))], "'Y'"),
    ([("X.npy", _npy(np.zeros((3, 2, 2)))), ("Y.txt", b"1 2 3")], "'Y.txt'"),
    ([("X.npy", _npy(np.zeros((3, 2, 2)))), ("X.npy", _npy(np.ones((3, 2, 2))))], "two members named 'X.npy'"),
    ([("X.npy", _header((2**26 + 1,))), ("Y.npy", _header((2**26 + 1,)))], "all its arrays together"),
    ([(f"A{i}.npy", _npy(np.zeros(1))) for i in range(1100)], "members"),
]


@pytest.mark.parametrize(("members", "named"), MEMBERS, ids=[n for _, n in MEMBERS])
def test_a_hostile_archive_member(members, named):
    _RUN.add("members")
    refused_cli(["grad", "{dir}/IN.npz", "--cell", "elman", "--out", "{dir}/KEEP.npz"], (named,),
                _archive(members), codes=(1,))


def _special_output(kind: str):
    def setup(folder: Path) -> None:
        target = folder / "SPECIAL"
        if kind == "fifo":
            os.mkfifo(target)
        elif kind == "folder":
            target.mkdir()
        elif kind == "link to a folder":
            target.symlink_to(folder)
        elif kind == "missing folder":
            pass

    setup.__name__ = kind
    return setup


OUTPUTS = [(verb, kind) for verb in (["grad", "{dir}/IN.npz", "--cell", "elman", "--out"], ["derive", "--out"],
                                      ["code", "--cell", "lstm", "--out"], ["graph", "--out"],
                                      ["analyze", "alignment", "--tex"])
           for kind in ("fifo", "folder", "link to a folder", "missing folder")]


@pytest.mark.parametrize(("argv", "kind"), OUTPUTS, ids=[f"{' '.join(a[:2])} {k}" for a, k in OUTPUTS])
def test_an_output_that_is_not_a_regular_file(argv, kind):
    _RUN.add("outputs")
    target = "{dir}/no/such/folder/out" if kind == "missing folder" else "{dir}/SPECIAL"
    refused_cli([*argv, target], ("SPECIAL", "no such folder", "folder"), _special_output(kind), codes=(2,))


@given(name=st.sampled_from(sorted(SHAPES)), data=st.data())
def test_any_wrong_shape_is_named(name, data):
    _RUN.add("shapes")
    right = SHAPES[name]
    shape = data.draw(st.lists(st.integers(min_value=0, max_value=4), min_size=0, max_size=4).map(tuple)
                      .filter(lambda s: s != right and not (name in "XY" and s == right[::2])))
    if name == "X" and len(shape) == 3 and shape[0] == 3 and shape[2] == 2 and shape[1] >= 1:
        return  # another batch size for X alone: Y's shape is then the one named
    if name in "XY" and len(shape) == 3 and shape[0] >= 1 and shape[1:] == right[1:]:
        return  # another T, valid for X alone would name Y; skip the symmetric cases

    def setup(folder: Path) -> None:
        with np.load(folder / "IN.npz") as archive:
            arrays = dict(archive)
        arrays[name] = np.ones(shape)
        np.savez(folder / "IN.npz", **arrays)

    setup.__name__ = f"{name} shape {shape}"
    names = (name, "X", "Y") if name in "XY" else (name,)
    refused_cli(["grad", "{dir}/IN.npz", "--cell", "elman", "--out", "{dir}/KEEP.npz"], names, setup, codes=(1,))


@pytest.mark.slow
def test_every_single_byte_change_and_every_cut_of_an_input_file():
    """Exhaustive over one valid file: each byte changed in turn, and the file cut every 7 bytes."""
    _RUN.add("exhaustive")
    with tempfile.TemporaryDirectory() as name:
        _valid_input(Path(name) / "in.npz")
        valid = (Path(name) / "in.npz").read_bytes()
    for position in range(len(valid)):
        changed = bytearray(valid)
        changed[position] ^= 0xFF
        for data in (bytes(changed), *((valid[:position],) if position % 7 == 0 else ())):
            code, text, _ = run_cli(["grad", "{dir}/IN.npz", "--cell", "elman", "--out", "{dir}/KEEP.npz"],
                                    _overwrite("IN.npz", data))
            lines = text.splitlines()
            assert code in (0, 1) and len(lines) == 1 and "Traceback" not in text, (position, text)


# ------------------------------------------------------------------ command line: cells written as formulas

BAD_FORMULAS = [
    "", "   \n\n", "h = ", "= tanh(x)", "h = tanh(W @ x + U @ h", "h = tanh(W @ x))", "h = import os",
    "h = __import__('os').system('echo hi')", "h = eval('1')", "h = W ** 2 @ h", "h = lambda: h",
    "h = [h]", "h = {h}", "h = h if h else x", "h = h[0]", "h = h.T", "h = 'text'", "h = 1e999 * h",
    "h = tanh(W @ x + U @ h)\nh = tanh(h)", "x = tanh(W @ h)", "h = W @ x\no = h", "h = tanh(W @ x)",
    "h = tanh(W_hh @ x + W_hh @ h)", "h = frobnicate(W @ h)", "h = tanh(W @ h, x)", "h = tanh()",
    "h = W @ h @ x", "h = (W @ h) * (V @ x", "h = W @ h;; h = x", "h = W @ h\n\th = x",
    "h = W @ h  # fine\nc = ", "h = W" + "@ h" * 2000, "h = " + "(" * 40 + "h" + ")" * 40,
    "h = \u0127 @ h", "h = W @ h\x00", "h: int = W @ h", "h += W @ h", "h, c = W @ h, c", "del h",
    "if h: h = x", "h = W @ h\nreturn h", "h = sigmoid(W @ h) @ x", "h = relu(W @ x + U @ h) + 1j",
]


def _cell_file(text: str):
    def setup(folder: Path) -> None:
        (folder / "cell.txt").write_text(text, encoding="utf-8")

    setup.__name__ = f"cell {text!r}"
    return setup


@pytest.mark.parametrize("text", BAD_FORMULAS)
@pytest.mark.parametrize("verb", ["derive", "code"])
def test_a_bad_cell_file(text, verb):
    _RUN.add("formulas")
    argv = [verb, "--cell-file", "{dir}/cell.txt", "--out", "{dir}/KEEP.tex" if verb == "derive" else "{dir}/KEEP.out"]
    refused_cli(argv, ("cell.txt", "line", "h", "formula"), _cell_file(text), codes=(1,))


@given(text=st.text(alphabet=st.sampled_from(list("hxWUbc_ =+-*@()\n.,1tanhsigmoid#[]:'\"")), max_size=40))
def test_any_text_as_a_cell(text):
    """Any text is a valid cell or refused in a line; never a traceback."""
    _RUN.add("formula texts")
    try:
        symbptt.cell_from_text(text)
    except ValueError:
        refused_api(f"cell_from_text {text!r}", lambda: symbptt.cell_from_text(text), ("line", "cell", "formula",
                                                                                       "state", "h", "name"))


# ------------------------------------------------------------------ Python

BAD_LENGTHS = [0, -1, 2.5, "3", True, False, float("nan"), float("inf"), None, [2], np.float64(2.0), 1 + 0j]
BAD_PIS = [0, -0.5, 1.5, "0.5", True, float("nan"), float("inf"), np.ones((1, 3)) * 0.5, [0.5, "a"], [], {0.5},
           [0.5, 0.0, 0.5], b"0.5"]
BAD_SEEDS_API = [-1, 2.5, "1", True, float("nan"), [1], 2**70 * -1]
BAD_NAMES = ["", "ELMAN", "rnn", None, 3, b"elman", ["elman"], "elman ", "x" * 100]


def _api_cases():
    for value in BAD_LENGTHS:
        for strategy, name in (("window", "tau"), ("chunked", "tau"), ("last", "tau"), ("tbptt", "k1"),
                               ("tbptt", "k2")):
            lengths = {"k1": 2, "k2": 3} if strategy == "tbptt" else {}
            if value is None and strategy != "tbptt":
                lengths = {}
            yield (f"compile_gradient strategy={strategy} {name}={value!r}",
                   lambda s=strategy, n=name, v=value, rest=lengths: symbptt.compile_gradient(
                       "elman", strategy=s, **{**rest, n: v}), (name,))
    for value in BAD_PIS:
        yield (f"compile_gradient pi={value!r}",
               lambda v=value: symbptt.compile_gradient("elman", strategy="randomized", pi=v), ("pi",))
    for value in BAD_SEEDS_API:
        yield (f"compile_gradient seed={value!r}",
               lambda v=value: symbptt.compile_gradient("elman", strategy="randomized", pi=0.5, seed=v), ("seed",))
    for value in BAD_NAMES:
        yield f"compile_gradient cell={value!r}", lambda v=value: symbptt.compile_gradient(v), ("cell",)
        yield (f"compile_gradient activation={value!r}",
               lambda v=value: symbptt.compile_gradient("elman", activation=v), ("activation",))
        yield f"compile_gradient loss={value!r}", lambda v=value: symbptt.compile_gradient("elman", loss=v), ("loss",)
        yield (f"compile_gradient strategy={value!r}", lambda v=value: symbptt.compile_gradient("elman", strategy=v),
               ("strategy",))
    for strategy, kwargs in (("full", {"tau": 2}), ("window", {"pi": 0.5, "tau": 2}), ("full", {"seed": 1}),
                             ("window", {}), ("tbptt", {"k1": 2}), ("randomized", {"tau": 2})):
        yield (f"compile_gradient {strategy} {kwargs}",
               lambda s=strategy, k=kwargs: symbptt.compile_gradient("elman", strategy=s, **k),
               ("k2",) if kwargs == {"k1": 2} else tuple(kwargs) or ("tau",))
    yield "compile_gradient gru activation=relu", lambda: symbptt.compile_gradient("gru", activation="relu"), \
        ("activation",)


API_CASES = list(_api_cases())


@pytest.mark.parametrize(("key", "call", "names"), API_CASES, ids=[k for k, _, _ in API_CASES])
def test_a_bad_argument_to_compile_gradient(key, call, names):
    _RUN.add("api")
    refused_api(key, call, names)


def _arrays():
    rng = np.random.default_rng(1)
    return ({"W_hx": rng.normal(size=(3, 2)), "W_hh": rng.normal(size=(3, 3)) * 0.5, "b_h": rng.normal(size=3),
             "W_qh": rng.normal(size=(2, 3)), "b_q": rng.normal(size=2)},
            rng.normal(size=(4, 2, 2)), rng.normal(size=(4, 2, 2)))


ELMAN = symbptt.compile_gradient("elman")
RANDOMIZED = symbptt.compile_gradient("elman", strategy="randomized")
BAD_VALUES = [None, "abc", b"\x00", 3, 2.5, True, [[1, 2], [3]], {"a": 1}, np.array([1, 2], dtype=object),
              np.ones(3, dtype=np.int32), np.ones(3, dtype=complex), np.array(np.nan), np.ones((0,)),
              np.full((4, 2, 2), np.inf), np.ones((4, 2)), np.ones((4, 2, 2, 1)), np.ones((2, 4, 2))]


def _call_cases():
    for value in BAD_VALUES:
        for name in ("X", "Y", "h0", "W_hx", "W_hh", "b_h", "W_qh", "b_q"):
            def call(n=name, v=value):
                params, X, Y = _arrays()
                if n in params:
                    params[n] = v
                    return ELMAN(params, X, Y)
                return ELMAN(params, v if n == "X" else X, v if n == "Y" else Y, **({"h0": v} if n == "h0" else {}))
            if value is None and name == "h0":
                continue  # h0 = None is the default: zeros
            yield f"grad {name}={value!r}", call, (name, "X") if name in ("Y", "h0", "W_hx") else (name,)
    for params in (None, [], "W_hx", [("W_hx", 1)], {}, {"W_hx": 1}):
        yield f"grad params={params!r}", lambda p=params: ELMAN(p, *_arrays()[1:]), ("params",)
    params, X, Y = _arrays()
    yield "grad extra parameter", lambda: ELMAN({**params, "W_zz": np.ones(2)}, X, Y), ("W_zz",)
    yield "grad c0 for elman", lambda: ELMAN(params, X, Y, c0=np.zeros((2, 3))), ("c0",)
    yield "grad xi for full", lambda: ELMAN(params, X, Y, xi=np.ones(4)), ("xi",)
    for xi in (None, np.ones(3), np.ones(5), -np.ones(4), np.full(4, np.nan), np.ones((4, 1)), "1111", [1, 1, 1]):
        yield f"randomized xi={xi!r}", lambda v=xi: RANDOMIZED(params, X, Y, xi=v), ("xi",)


CALL_CASES = list(_call_cases())


@pytest.mark.parametrize(("key", "call", "names"), CALL_CASES, ids=[k for k, _, _ in CALL_CASES])
def test_a_bad_array_given_to_a_gradient(key, call, names):
    _RUN.add("calls")
    refused_api(key, call, names)


@given(data=st.data())
def test_any_misshapen_parameter(data):
    name = data.draw(st.sampled_from(["W_hx", "W_hh", "b_h", "W_qh", "b_q", "X", "Y"]))
    params, X, Y = _arrays()
    right = (params[name] if name in params else {"X": X, "Y": Y}[name]).shape
    shape = data.draw(st.lists(st.integers(0, 5), max_size=4).map(tuple).filter(lambda s: s != right))
    if name == "X" and len(shape) in (2, 3) and shape[-1] == 2 and shape[:-1] == Y.shape[:len(shape) - 1]:
        return
    value = np.ones(shape)
    _RUN.add("misshapen")

    def call():
        if name in params:
            return ELMAN({**params, name: value}, X, Y)
        return ELMAN(params, value if name == "X" else X, value if name == "Y" else Y)

    refused_api(f"grad {name} of shape {shape}", call, (name, "X", "Y", "W_hx", "W_qh", "empty dimension"))


HELPERS = [
    ("clip_norm list", lambda: symbptt.clip_norm([1.0], 1.0), ("grads", "clip_norm")),
    ("clip_norm None", lambda: symbptt.clip_norm(None, 1.0), ("grads", "clip_norm")),
    *[(f"clip_norm theta={v!r}", lambda v=v: symbptt.clip_norm({"a": np.ones(2)}, v), ("theta",))
      for v in (0, -1, float("nan"), float("inf"), True, "1", None, [1.0])],
    *[(f"clip_value c={v!r}", lambda v=v: symbptt.clip_value({"a": np.ones(2)}, v), ("c",))
      for v in (0, -1, float("nan"), float("inf"), False, "1", None)],
    ("clip_norm NaN gradient", lambda: symbptt.clip_norm({"a": np.array([np.nan])}, 1.0), ("a",)),
    ("clip_value NaN gradient", lambda: symbptt.clip_value({"a": np.array([1.0, np.nan])}, 1.0), ("a",)),
    ("clip_value text gradient", lambda: symbptt.clip_value({"a": "x"}, 1.0), ("a",)),
    *[(f"check_gradient {k}={v!r}", lambda k=k, v=v: symbptt.check_gradient(lambda p: 0.0, {"a": np.ones(2)},
                                                                                {"a": np.zeros(2)}, **{k: v}), (k,))
      for k, values in (("directions", (0, -1, 2.5, "3", True)), ("eps", (0, -1e-6, float("nan"), "1e-6")),
                        ("rtol", (0, float("nan"), -1.0, float("inf"))), ("seed", (-1, "0", 2.5)))
      for v in values],
    ("check_gradient missing gradient", lambda: symbptt.check_gradient(lambda p: 0.0, {"a": np.ones(2)}, {}), ("a",)),
    ("check_gradient params list", lambda: symbptt.check_gradient(lambda p: 0.0, [1.0], {}), ("params",)),
    ("check_gradient loss not callable", lambda: symbptt.check_gradient(3.0, {"a": np.ones(2)}, {"a": np.ones(2)}),
     ("loss",)),
    ("iterate too few", lambda: symbptt.LinearRecurrence().iterate(3, [1]), ("multipliers",)),
    *[(f"iterate T={v!r}", lambda v=v: symbptt.LinearRecurrence().iterate(v), ("T",)) for v in (-1, 2.5, "3", None)],
    *[(f"cell_from_formulas {v!r}", lambda v=v: symbptt.cell_from_formulas(v), ("formula", "step equations"))
      for v in (None, "h = h", [("h", "h")], {"h": 3}, {3: "h"}, {})],
    *[(f"cell_from_text {v!r}", lambda v=v: symbptt.cell_from_text(v), ("text", "formula"))
      for v in (None, 3, b"h = h", ["h = h"])],
    *[(f"compile_scalar_gradient T={v!r}", lambda v=v: symbptt.compile_scalar_gradient("elman", v), ("T",))
      for v in (0, -1, 2.5, "3", True, None)],
    *[(f"compile_scalar_gradient model={v!r}", lambda v=v: symbptt.compile_scalar_gradient(v, 3), ("model", "cell"))
      for v in ("rnn", None, 3)],
    *[(f"compile_scalar_gradient T={v!r} (too many steps)", lambda v=v: symbptt.compile_scalar_gradient("elman", v),
       ("T must be at most",)) for v in (10**4 + 1, 2**63, 10**100)],
    *[(f"compile_gradient {k}={v!r}", lambda k=k, v=v, s=s: symbptt.compile_gradient("elman", strategy=s, **{k: v}),
       (k,)) for k, s in (("tau", "window"), ("tau", "last")) for v in (2**62 + 1, 2**63, 10**30)],
    *[(f"central_difference eps={v!r}", lambda v=v: symbptt.central_difference(_square, {"a": 1.0}, eps=v), ("eps",))
      for v in (0, 0.0, -1e-6, float("nan"), float("inf"), "1e-6", None, True, 1j)],
    *[(f"central_difference params={v!r}", lambda v=v: symbptt.central_difference(_square, v), ("params",))
      for v in ({}, {1: 1.0}, {"a": "x"}, {"a": float("nan")}, {"a": None}, {"a": 1j}, [1.0], None)],
    *[(f"central_difference loss={v!r}", lambda v=v: symbptt.central_difference(v, {"a": 1.0}), ("loss",))
      for v in (None, 3, "loss")],
    *[(f"central_difference loss returns {v!r}", lambda v=v: symbptt.central_difference(lambda p: v, {"a": 1.0}),
       ("loss",)) for v in ("1", None, [1.0, 2.0], np.ones(2), 1j, {"loss": 1.0})],
    *[(f"central_difference at an overflow {v!r}", lambda v=v: symbptt.central_difference(_square, {"a": v}),
       ("not finite",)) for v in (1e200, 1e308, -1e300)],
    *[(f"assert_gradients_close {a!r} {b!r}", lambda a=a, b=b: symbptt.assert_gradients_close(a, b),
       ("analytic", "numeric")) for a, b in (({}, {"a": 1.0}), ({"a": 1.0}, {}), ({"a": 1.0}, {"b": 1.0}),
                                              ({"a": 1.0, "b": 2.0}, {"a": 1.0}), ({}, {}), (None, {"a": 1.0}),
                                              ({"a": "1"}, {"a": 1.0}), ({"a": float("nan")}, {"a": 1.0}),
                                              ({1: 1.0}, {1: 1.0}))],
    *[(f"assert_gradients_close {k}={v!r}", lambda k=k, v=v: symbptt.assert_gradients_close({"a": 1.0}, {"a": 1.0},
                                                                                              **{k: v}), (k,))
      for k in ("rtol", "atol") for v in (-1.0, float("nan"), float("inf"), "1e-5", None, True)],
    *[(f"check_gradient {what}", call, names) for what, call, names in (
        ("params={}", lambda: symbptt.check_gradient(_square, {}, {}), ("params",)),
        ("a string parameter", lambda: symbptt.check_gradient(_square, {"a": "x"}, {"a": 1.0}), ("params",)),
        ("a complex gradient", lambda: symbptt.check_gradient(_square, {"a": np.ones(2)}, {"a": np.ones(2) * 1j}),
         ("gradient",)),
        ("a ragged gradient", lambda: symbptt.check_gradient(_square, {"a": np.ones(2)}, {"a": [1.0, [2.0]]}),
         ("gradient",)),
        ("a loss returning text", lambda: symbptt.check_gradient(lambda p: "1", {"a": np.ones(2)}, {"a": np.ones(2)}),
         ("loss",)),
        ("a loss returning an array", lambda: symbptt.check_gradient(lambda p: np.ones(2), {"a": np.ones(2)},
                                                                     {"a": np.ones(2)}), ("loss",)))],
    *[(f"clip_norm gradient {v!r:.40}", lambda v=v: symbptt.clip_norm({"a": v}, 1.0), ("gradient 'a'",))
      for v in (np.ones(2) * 1j, np.array(["a"]), [1.0, [2.0]], "1.0", None, np.array([1.0, np.nan]),
                np.array([np.inf]), np.array([1, None], dtype=object))],
    *[(f"clip_value gradient {v!r:.40}", lambda v=v: symbptt.clip_value({"a": v}, 1.0), ("gradient 'a'",))
      for v in (np.ones(2) * 1j, np.array(["a"]), [1.0, [2.0]], None)],
    *[(f"scalar gradient {what}", call, names) for what, call, names in (
        ("a batch of parameters", lambda: _scalar()({n: np.ones(2) for n in _scalar().param_names}, np.zeros((3, 2)),
                                                    np.zeros((3, 2))), ("must be a number",)),
        ("h0 of another batch", lambda: _scalar()(_scalar_params(), np.zeros((3, 2)), np.zeros((3, 2)), h0=np.ones(5)),
         ("h0",)),
        ("x and y of two batches", lambda: _scalar()(_scalar_params(), np.zeros((3, 2)), np.zeros((3, 4))), ("x", "y")),
        ("xi without randomized", lambda: _scalar()(_scalar_params(), np.zeros(3), np.zeros(3), xi=np.ones(3)),
         ("xi",)),
        ("params as a list", lambda: _scalar()([0.1] * 5, np.zeros(3), np.zeros(3)), ("params",)),
        ("an int key", lambda: _scalar()({**_scalar_params(), 1: 0.1}, np.zeros(3), np.zeros(3)), ("unexpected",)))],
    *[(f"gradient {what}", call, names) for what, call, names in (
        ("an int key", lambda: _elman()({**_elman_params(), 1: np.ones(2)}, *_elman_data()), ("unexpected 1",)),
        ("a tuple key", lambda: _elman()({**_elman_params(), (1, 2): np.ones(2)}, *_elman_data()), ("unexpected",)),
        ("ragged class ids", lambda: _elman("cross_entropy")(_elman_params(), _elman_data()[0], [[0, 1], [1]]),
         ("Y",)),
        ("longdouble X", lambda: _elman()(_elman_params(), _elman_data()[0].astype(np.longdouble), _elman_data()[1]),
         ("X",)),
        ("a ragged h0", lambda: _elman()(_elman_params(), *_elman_data(), h0=[[0.0, 1.0], [1.0]]), ("h0",)))],
    *[(f"{f.__name__}({v!r:.30})", lambda f=f, v=v: f(v), ("model",)) for f in (symbptt.symbolic,)
      for v in (None, 0, 1.5, b"x", [], {}, OPAQUE)],
    *[(f"explicit model={v!r:.30}", lambda v=v: symbptt.explicit(v, 3), ("model",)) for v in (None, 0, [], OPAQUE)],
    *[(f"unroll model={v!r:.30}", lambda v=v: symbptt.unroll(v, 3), ("model",)) for v in (None, 0, [], OPAQUE)],
    *[(f"ex.{name}({v!r:.30})", lambda call=call, v=v: call(v), names) for name, call, names in (
        ("param", lambda v: ex.param(v, ex.h), ("name",)), ("param rows", lambda v: ex.param("W", v), ("rows",)),
        ("param cols", lambda v: ex.param("W", ex.h, v), ("cols",)), ("seq", lambda v: ex.seq(v, ex.h), ("name",)),
        ("seq offset", lambda v: ex.seq("u", ex.h, v), ("offset",)),
        ("add", ex.add, ("ex.add",)), ("mul", lambda v: ex.mul(v, ex.h_prev), ("ex.mul",)),
        ("hadamard", lambda v: ex.hadamard(v, ex.h_prev), ("ex.hadamard",)), ("transpose", ex.transpose, ("ex.",)),
        ("activate", lambda v: ex.activate("tanh", v), ("ex.activate",)),
        ("gate", lambda v: ex.gate(v, v, v), ("ex.gate",)),
        ("register_activation fn", lambda v: ex.register_activation("myact", v), ("activation",)),
        ("register_cell build", lambda v: ex.register_cell("mycell", v), ("build",)),
        ("vjp_rule", ex.vjp_rule, ("vjp_rule",)),
        ("Cell readout", lambda v: ex.Cell("c", None, (ex.W_qh,), (ex.h_t,), ((ex.h_t, ex.h_prev),), v), ("readout",)),
    ) for v in (None, 0, -1, 1.5, "", "a b", b"x", [], (), OPAQUE, 1j, 2**63)
      if not (name == "seq offset" and v in (0, -1)) and not (name == "mul" and isinstance(v, int | float))
      and not (name.startswith("param") and v == 2**63)],  # valid: this step, the previous one, a scale
]


def _square(p):
    with np.errstate(over="ignore"):  # the user's loss overflows: the check must say so, not return NaN
        return float(sum(np.sum(np.asarray(v) ** 2) for v in p.values()))


def _scalar():
    return helpers_compiled("elman", "tanh", 3)


def _scalar_params():
    return {n: 0.1 for n in _scalar().param_names}


def _elman(loss="squared"):
    return symbptt.compile_gradient("elman", loss=loss, backend="numpy")


def _elman_params():
    rng = np.random.default_rng(0)
    return {"W_hx": rng.normal(size=(3, 2)), "W_hh": rng.normal(size=(3, 3)) / 3, "b_h": np.zeros(3),
            "W_qh": rng.normal(size=(2, 3)), "b_q": np.zeros(2)}


def _elman_data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(4, 2, 2)), rng.normal(size=(4, 2, 2))


@pytest.mark.parametrize(("key", "call", "names"), HELPERS, ids=[k for k, _, _ in HELPERS])
def test_a_bad_argument_to_a_helper(key, call, names):
    _RUN.add("helpers")
    refused_api(key, call, names)


# ------------------------------------------------------------------ the count

WRITTEN = {"flags", "misuse", "arrays", "formulas", "api", "calls", "helpers", "members", "outputs"}


def test_at_least_300_distinct_hostile_inputs(record_property):
    """Runs last in this module (pytest keeps a file's order; xdist's loadfile keeps a file on one worker)."""
    if not WRITTEN <= _RUN:
        pytest.skip(f"only part of the module ran ({', '.join(sorted(_RUN)) or 'nothing'})")
    record_property("hostile_inputs", len(SEEN))  # printed at the end of the run by conftest.py
    quoted = re.search(r"more than (\d+) distinct bad inputs", (Path(__file__).parents[2] / "README.md").read_text())
    assert quoted and len(SEEN) > int(quoted[1]), "README.md quotes a count this run does not reach"
