"""Cells written as formulas: the same engine as the built-ins, every strategy right, hostile text refused unrun."""

import ast
import functools
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symbptt
from symbptt.cli.commands import main
from symbptt.derive import reverse
from symbptt.errors import FormulaError
from symbptt.model import cells, losses, symbols

from .. import reference
from ..helpers import backend_available, needs_tex

ROOT = Path(__file__).parents[2]
CELL_FILES = ROOT / "examples" / "cells"

GRU = """r = sigmoid(W_xr @ x + W_hr @ h + b_r)
z = sigmoid(W_xz @ x + W_hz @ h + b_z)
htilde = tanh(W_xh @ x + W_hh @ (r * h) + b_h)
h = z * h + (1 - z) * htilde"""
LSTM = """i = sigmoid(W_xi @ x + W_hi @ h + b_i)
f = sigmoid(W_xf @ x + W_hf @ h + b_f)
g = sigmoid(W_xo @ x + W_ho @ h + b_o)
ctilde = tanh(W_xc @ x + W_hc @ h + b_c)
c = f * c + i * ctilde
h = g * tanh(c)"""


@pytest.mark.parametrize(("text", "name"), [(GRU, "gru"), (LSTM, "lstm")])
@pytest.mark.parametrize("loss", ["squared", "cross_entropy"])
def test_gru_and_lstm_as_text_are_the_built_ins(text, name, loss):
    written, built_in = symbptt.cell_from_text(text, name=f"{name}_text"), cells.make_cell(name)
    assert written.params == built_in.params and written.state == built_in.state
    assert written.steps == built_in.steps  # the same step equations, term by term
    ours, theirs = (reverse.derive_step(c, losses.make_loss(loss)) for c in (written, built_in))
    assert (ours.adjoints, ours.gradients, ours.carries) == (theirs.adjoints, theirs.gradients, theirs.carries)
    rng = np.random.default_rng(2)
    params = {W.name: rng.uniform(-1, 1, (4, 3) if W.name.startswith("W_x") else (4, 4) if W.name.startswith("W_h")
                                  else (2, 4) if W.name == "W_qh" else (2,) if W.name == "b_q" else (4,))
              for W in built_in.params}
    X = rng.standard_normal((6, 2, 3))
    Y = rng.integers(0, 2, (6, 2)) if loss == "cross_entropy" else rng.standard_normal((6, 2, 2))
    for strategy, values in (("full", {}), ("tbptt", {"k1": 2, "k2": 3})):
        a = symbptt.compile_gradient(written, loss=loss, strategy=strategy, **values)(params, X, Y)
        b = symbptt.compile_gradient(name, loss=loss, strategy=strategy, **values)(params, X, Y)
        for key in b:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-14, err_msg=key)


# ------------------------------------------------------------------ the example cells, every strategy


def example(name):
    return symbptt.cell_from_text((CELL_FILES / f"{name}.txt").read_text(), name=name)


def example_problem(cell, seed, T=5, B=2, d=2, h=3, q=2):
    rng = np.random.default_rng(seed)
    sizes = {"d": d, "h": h, "q": q}
    params = {W.name: rng.uniform(-1, 1, tuple(sizes[str(s)] for s in W.shape if str(s) != "1"))
              for W in cell.params}
    if cell.name == "indrnn":  # keep relu off its kink: a positive drive
        params["b_h"] = rng.uniform(1.0, 2.0, h)
        params["W_hx"] = rng.uniform(0, 0.3, (h, d))
        params["w"] = rng.uniform(0, 0.5, h)
        X = rng.uniform(0, 1, (T, B, d))
    else:
        X = rng.standard_normal((T, B, d))
    initial = tuple(rng.uniform(0, 0.5, (B, h)) for _ in cell.state)
    return params, X, rng.standard_normal((T, B, q)), initial


STRATEGIES = [("full", {}), ("window", {"tau": 2}), ("chunked", {"tau": 2}), ("tbptt", {"k1": 2, "k2": 3}),
              ("last", {"tau": 3}), ("randomized", {})]


@pytest.mark.parametrize("name", ["mgu", "indrnn", "peephole_lstm"])
@pytest.mark.parametrize(("strategy", "values"), STRATEGIES, ids=[s for s, _ in STRATEGIES])
def test_example_cells_match_central_differences_of_an_independent_forward_pass(name, strategy, values):
    cell = example(name)
    params, X, Y, initial = example_problem(cell, seed=len(name) + len(strategy))
    config = (name, None, "squared")
    out = symbptt.compile_gradient(cell, strategy=strategy, **values)
    xi = np.array([1.0, 2.0, 0.0, 4.0 / 3.0, 2.0]) if strategy == "randomized" else None
    result = out(params, X, Y, *initial, xi=xi)
    assert result["loss"] == pytest.approx(reference.loss_value(config, params, X, Y, initial), rel=1e-12)
    if strategy == "randomized":
        loss = functools.partial(reference.strategy_loss, config, strategy, None, xi, p0=params, X=X, Y=Y,
                                 initial=initial)
    else:
        loss = functools.partial(reference.reached_loss, config, strategy, values, p0=params, X=X, Y=Y,
                                 initial=initial)
    symbptt.check_gradient(loss, params, result, rtol=1e-6)


@pytest.mark.parametrize("name", ["mgu", "indrnn", "peephole_lstm"])
def test_example_cells_derive_and_print(name):
    from symbptt.document import latex

    cell = example(name)
    derivation = reverse.derivation(cell, losses.make_loss("generic", allow_generic=True))
    text = latex.step_latex(derivation["eq_bptt_partial_L_ht_recur"])
    assert r"\frac{\partial L}{\partial h_{t}}" in text
    if len(cell.state) == 1:  # the textbook's scalar analysis for a single state
        from symbptt.model import scalar

        assert "eq_bptt_tbptt" in symbptt.symbolic(scalar.view(cell)).labels


def test_the_examples_script_runs():
    import runpy

    runpy.run_path(str(ROOT / "examples" / "formula_cells.py"), run_name="__main__")


# ------------------------------------------------------------------ shapes


def test_shapes_are_inferred_and_a_disagreement_names_both():
    with pytest.raises(FormulaError) as caught:
        symbptt.cell_from_text("f = sigmoid(W_hf @ h + b_f)\nh = f * tanh(W_hf @ x)")
    assert "W_hf @ x: W_hf is (h, h) from line 1, x is (d,)" in str(caught.value)
    assert str(caught.value).splitlines()[1:] == ["    h = f * tanh(W_hf @ x)", "                 ^"]
    cell = example("indrnn")
    assert {W.name: W.shape for W in cell.params}["w"] == (symbols.h, 1)
    params, X, Y, initial = example_problem(cell, 0)
    params["w"] = np.ones((3, 3))
    with pytest.raises(ValueError, match=r"w has shape \(3, 3\), expected \(h,\) = \(3,\)"):
        symbptt.compile_gradient(cell)(params, X, Y)


# ------------------------------------------------------------------ hostile text


SENTINEL = ROOT / "tests" / "PWNED"
HOSTILE = [
    "h = W.T @ x", "h = tanh(x.__class__)", "h = W[0] @ x", "h = (lambda: h)()", "h = [h for h in x]",
    "h = {h: 1}", "h = tanh(h, out=h)", "h = 'h'", "h = b'h'", "h = f'{h}'", "h = eval('h')", "h = exec('h')",
    "h = __import__('os')", f"h = __import__('os').system('touch {SENTINEL}')", "h = open('x')",
    "h = h ** 2", "h = h // 2", "h = h % 2", "h = h / h", "h = h / x", "h = h / 0", "h = h << 1", "h = h & h",
    "h = -h if h else h", "h = h and h", "h = h < x", "h = not h", "h = ~h", "h = (h := x)", "h = *h",
    "x = h", "h = x", "h = W_hh @ h\nh = h", "a = tanh(h)", "h = tanh", "h = o", "h = y + h", "import os",
    "from os import system", "del h", "h += 1", "h: int = 1", "if h: h = 1", "for i in h: pass", "while 1: pass",
    "def f(): pass", "class C: pass", "with h: pass", "try:\n h = 1\nexcept: pass", "assert h", "raise h",
    "global h", "lambda: 0", "h", "h = 1", "h = (", "h = )", "h == 1", "h = 1e999 * h", "h = W @ x + W @ h",
    "h = x @ W", "h = W @ W", "h = h @ h", "h = 2 @ h", "h = W @ 2", "h = x * h", "h = x + h", "h = tanh(x)",
    "h = W_qh @ h", "W_qh = h", "_h = h", "h = __h", "h = ħ", "h = h\t+ x @ W", "h = sigmoid()", "h = relu(h, h)",
    "h = getattr(h, 'T')", "h = numpy.tanh(h)", "h = tanh.__call__(h)", "h = h.real", "h = (h)(h)", "h = 1(h)",
    "h = tanh(**h)", "h = tanh(*h)", "h = h if 1 else 2", "h = ...", "h = None", "h = True * h", "h = 1j * h",
    "tanh = h", "sigmoid = sigmoid(h)", "o = h", "h = yield h", "h = await h", "async def f(): pass",
    "h = " + "(" * 40 + "h" + ")" * 40, "h = " + " + ".join(["h"] * 100), "h = tanh(h)\n" * 70, "h = h" + " " * 5000,
    "", "   \n\n", "# only a comment",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_formulas_are_refused_and_nothing_runs(text):
    with pytest.raises((FormulaError, ValueError, TypeError)) as caught:
        symbptt.cell_from_text(text)
    message = str(caught.value)
    first = message.splitlines()[0]
    assert first and "Traceback" not in message
    if isinstance(caught.value, FormulaError) and caught.value.source:
        line, caret = message.splitlines()[1:3]
        shown = "".join(c if c.isascii() and c.isprintable() else "?" for c in caught.value.source)
        assert line == f"    {shown}" and caret.strip() == "^"  # a control character is never echoed raw
        assert line.isascii() and line.isprintable()
        assert caret.index("^") - 4 == caught.value.column
    assert not SENTINEL.exists()


TOKENS = ["h", "x", "W", "b", "1", "2.5", "(", ")", "@", "*", "+", "-", "/", "**", ".", "[", "]", "'", ",", "=",
          "tanh(", "__import__(", "eval(", "lambda", ":", "for", "in", "if", "else", "\n", " ", "os", "system",
          "=", "h =", "c", "not", "%", "{", "}"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=30))
def test_random_text_is_parsed_or_refused_never_run(tokens):
    text = "".join(tokens)
    try:
        cell = symbptt.cell_from_text(text)
    except (FormulaError, ValueError, TypeError) as exc:
        message = str(exc)
    else:
        message = "accepted"
        assert isinstance(cell, cells.Cell) and cell.state[0].name == "h"
    assert message.splitlines()[0]
    assert not SENTINEL.exists()


def test_no_text_is_ever_evaluated():
    """The parser has no eval, exec, sympify or parse_expr; the package runs only its own generated code."""
    package = ROOT / "src" / "symbptt"
    parser = (package / "model" / "formula.py").read_text() + (package / "model" / "formula_text.py").read_text()
    for word in ("eval", "exec", "sympify", "parse_expr", "builtins"):
        assert not re.search(rf"\b{word}\b", parser), word
    assert not re.search(r"(?<!re\.)\bcompile\(", parser)  # only re.compile: no code is compiled
    for path in package.rglob("*.py"):
        text = path.read_text()
        calls_eval = re.search(r"(?<!def )(?<![.\w])eval\(", text)  # SymPy's `def eval` classmethods are not it
        assert "parse_expr" not in text and not calls_eval, path
        if "exec(" in text:
            assert path.name == "module.py", path  # exec of the generated module only


# ------------------------------------------------------------------ the command line, as README writes it


def test_readme_commands_for_a_formula_cell(tmp_path, capsys):
    mgu = str(CELL_FILES / "mgu.txt")
    cell = example("mgu")
    params, X, Y, initial = example_problem(cell, 4, T=9)
    np.savez(tmp_path / "in.npz", **params, X=X, Y=Y, h0=initial[0])
    out = tmp_path / "g.npz"
    assert main(["grad", str(tmp_path / "in.npz"), "--cell-file", mgu, "--strategy", "tbptt", "--k1", "4",
                 "--k2", "8", "--out", str(out)]) == 0
    expected = symbptt.compile_gradient(cell, strategy="tbptt", k1=4, k2=8)(params, X, Y, *initial)
    with np.load(out) as data:
        for name, value in expected.items():
            np.testing.assert_allclose(data[name], value, rtol=1e-13)
    assert main(["code", "--cell-file", mgu]) == 0
    assert "def core(W_xf, W_hf, b_f, W_xh, W_hh, b_h, W_qh, b_q, x, y, h0):" in capsys.readouterr().out
    assert main(["derive", "--cell-file", mgu]) == 0
    assert r"\label{eq_bptt_partial_L_ht_recur}" in capsys.readouterr().out
    bad = tmp_path / "bad.txt"
    bad.write_text("h = W.T @ x\n")
    assert main(["code", "--cell-file", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("symbptt: error: line 1, column 5: attribute access is not allowed") and "^" in err
    assert main(["code", "--cell-file", str(tmp_path / "none.txt")]) == 1
    assert "no such file" in capsys.readouterr().err


@pytest.mark.slow  # the every-cell-in-every-language test compiles it too
@needs_tex
def test_derive_pdf_of_a_formula_cell(tmp_path):
    tex = tmp_path / "mgu.tex"
    assert main(["derive", "--cell-file", str(CELL_FILES / "mgu.txt"), "--out", str(tex), "--pdf"]) == 0
    assert tex.with_suffix(".pdf").stat().st_size > 10_000


# ------------------------------------------------------------------ a second state of any name (issue 20)

STACKED = "h1 = tanh(W_hh1 @ h1 + W_xh1 @ x)\nh = tanh(W_ih2 @ h1 + W_hh2 @ h)"


def _stacked_arrays(seed=0):
    rng = np.random.default_rng(seed)
    params = {"W_hh1": rng.normal(size=(3, 3)) / 2, "W_xh1": rng.normal(size=(3, 2)),
              "W_ih2": rng.normal(size=(3, 3)) / 2, "W_hh2": rng.normal(size=(3, 3)) / 2,
              "W_qh": rng.normal(size=(2, 3)), "b_q": rng.normal(size=2)}
    return params, rng.normal(size=(5, 2, 2)), rng.normal(size=(5, 2, 2)), rng.normal(size=(2, 3)), \
        rng.normal(size=(2, 3))


@pytest.mark.parametrize("backend", ["numpy", "array_api", pytest.param("numba", marks=pytest.mark.slow)])
def test_a_second_state_of_any_name_starts_from_c0_and_matches_central_differences(backend):
    cell = symbptt.cell_from_text(STACKED, name="stacked")
    assert [s.name for s in cell.state] == ["h", "h1"]
    grad = symbptt.compile_gradient(cell, backend=backend_available(backend))
    params, X, Y, h0, c0 = _stacked_arrays()
    out = grad(params, X, Y, h0, c0)
    symbptt.check_gradient(lambda p: grad(p, X, Y, h0, c0)["loss"], params, out, rtol=1e-6)
    assert out["loss"] != grad(params, X, Y, h0)["loss"]  # c0 reaches h1's start: it is not ignored
    namespace = {}
    exec(compile(grad.source, "stacked_grad.py", "exec"), namespace)  # noqa: S102  (the generated module)
    standalone = namespace["grad"](params, X, Y, h0, c0)
    assert all(np.allclose(standalone[k], out[k], rtol=1e-12, atol=1e-14) for k in out)


def test_a_third_state_is_refused_with_a_caret():
    with pytest.raises(FormulaError, match="m would be a third state") as caught:
        symbptt.cell_from_text("c = c * sigmoid(W @ h)\nm = m + tanh(U @ x)\nh = tanh(V @ h) * m + c")
    assert caught.value.line == 2 and caught.value.column == 4


@pytest.mark.parametrize(("text", "message", "line"), [
    ("h = tanh(W + W @ h)", "W is (h, h) from line 1 and (h,) here", 1),
    ("h = tanh(W @ h / 1e-320 + U @ x)", "the constant 1.00e+320 it makes is outside float64's range", 1),
    ("h = tanh(W @ h * 1e308 * 1e308 + U @ x)", "outside float64's range", 1),
    ("h = tanh(W @ h + U @ x) * 1e-200 * 1e-200", "outside float64's range", 1),
    ("h = h - h", "identically zero", 1),
    ("h = 0 * tanh(W @ h)", "identically zero", 1),
    ("h = 1 + 0 * h", "h must be a state, but its previous value cancels out", 1),
    ("h = tanh(U @ x) + h - h", "cancels out", 1),
    ("h = tanh(W @ h + U @ x) + 0 * b", "b cancels out of every step", 1),
    ("f = sigmoid(U @ x)\nh = tanh(W @ h + V @ x)", "f never reaches h", 1),
    ("c = c * 1 + h\nh = tanh(W @ h + V @ x)", "c never reaches h", 1),
])
def test_what_cannot_compile_is_refused_at_its_line(text, message, line):
    with pytest.raises(FormulaError, match=re.escape(message)) as caught:
        symbptt.cell_from_text(text)
    assert caught.value.line == line
    shown = str(caught.value).splitlines()
    assert len(shown) == 3 and shown[2].strip() == "^"


HOSTILE_NAMES = ['a"""; import os; os.system("touch PWNED"); """', "a\\b", "x\ny", "", "1cell", "a b", "a.b",
                 "../cell", "é", "a" * 49, "a'b", "a\x00b", "a{b}", "a%s"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_cell_name_is_refused_before_any_code_is_made(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="a cell's name must be") as caught:
        symbptt.cell_from_text("h = tanh(W @ h + U @ x)", name=name)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("stem", ['a"""; import os; os.system("touch PWNED"); """', "a\\b", "a b", "é"])
def test_a_cell_file_of_a_hostile_name_is_refused_on_the_command_line(stem, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / f"{stem}.txt"
    path.write_text("h = tanh(W @ h + U @ x)\n")
    for verb in (["code"], ["derive"], ["graph"]):
        assert main([*verb, "--cell-file", str(path)]) == 1
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and "named by its file's stem" in err
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("text", ['"""', 'a"""b', "\\", '\\"""', "x\x00y", "\x1b[31m", "tab\there", '"', "''' '''"])
def test_a_docstring_prints_any_text_as_data(text):
    from symbptt.codegen import ir

    literal = ir.docstring(f"cell {text} end")
    tree = ast.parse(f"def f():\n    {literal}\n")
    body = tree.body[0].body
    assert len(body) == 1 and ast.get_docstring(tree.body[0], clean=False) == f"cell {text} end"
