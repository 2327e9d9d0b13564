"""``symbptt grad`` and ``symbptt code`` per the contract, and bad input from the API and the CLI."""

import ast
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import symbptt
from symbptt.cli.commands import main

from ..gradient.test_api import _tiny, assert_same


def write_input(path, config=("elman", "tanh", "squared"), **extra):
    params, X, Y, initial = _tiny(config)
    arrays = {**params, "X": X, "Y": Y, "h0": initial[0]}
    if config[0] == "lstm":
        arrays["c0"] = initial[1]
    arrays.update(extra)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return params, X, Y, initial


def read(path):
    with np.load(path) as data:
        return {k: (float(data[k]) if k == "loss" else data[k]) for k in data.files}


def test_grad_writes_every_gradient_and_the_loss(tmp_path, capsys):
    inp, out = tmp_path / "in.npz", tmp_path / "g.npz"
    params, X, Y, initial = write_input(inp)
    assert main(["grad", str(inp), "--cell", "elman", "--strategy", "window", "--tau", "2", "--out", str(out)]) == 0
    expected = symbptt.compile_gradient("elman", strategy="window", tau=2)(params, X, Y, *initial)
    assert_same(read(out), expected)
    assert "wrote" in capsys.readouterr().err


def test_grad_two_dimensional_inputs_mean_one_sample(tmp_path):
    params, X, Y, initial = _tiny(("gru", "tanh", "cross_entropy"))
    np.savez(tmp_path / "in.npz", **params, X=X[:, 0], Y=Y[:, 0], h0=initial[0][0])
    out = tmp_path / "g.npz"
    args = ["grad", str(tmp_path / "in.npz"), "--cell", "gru", "--loss", "cross_entropy", "--out", str(out)]
    assert main(args) == 0
    expected = symbptt.compile_gradient("gru", loss="cross_entropy")(params, X[:, :1], Y[:, :1], initial[0][:1])
    assert_same(read(out), expected)


def test_xi_in_the_file_wins_over_pi_and_seed(tmp_path):
    inp, out = tmp_path / "in.npz", tmp_path / "g.npz"
    xi = np.array([1.0, 0.0, 2.0])
    params, X, Y, initial = write_input(inp, xi=xi)
    args = ["grad", str(inp), "--cell", "elman", "--strategy", "randomized", "--pi", "0.5", "--seed", "1"]
    assert main([*args, "--out", str(out)]) == 0
    expected = symbptt.compile_gradient("elman", strategy="randomized")(params, X, Y, *initial, xi=xi)
    assert_same(read(out), expected)


def test_pi_and_seed_sample_xi_when_the_file_has_none(tmp_path):
    inp = tmp_path / "in.npz"
    params, X, Y, initial = write_input(inp)
    outs = []
    for n in range(2):
        out = tmp_path / f"g{n}.npz"
        args = ["grad", str(inp), "--cell", "elman", "--strategy", "randomized", "--pi", "0.5", "--seed", "4"]
        assert main([*args, "--out", str(out)]) == 0
        outs.append(read(out))
    assert_same(*outs)
    expected = symbptt.compile_gradient("elman", strategy="randomized", pi=0.5, seed=4)(params, X, Y, *initial)
    assert_same(outs[0], expected)


@pytest.mark.parametrize(("flag", "check"), [
    (["--clip-norm", "0.01"], lambda g: np.sqrt(sum(np.sum(v**2) for k, v in g.items() if k != "loss"))),
    (["--clip-value", "0.001"], lambda g: max(np.max(np.abs(v)) for k, v in g.items() if k != "loss")),
])
def test_clipping_flags(tmp_path, flag, check):
    inp, out = tmp_path / "in.npz", tmp_path / "g.npz"
    params, X, Y, initial = write_input(inp, ("lstm", "tanh", "squared"))
    assert main(["grad", str(inp), "--cell", "lstm", *flag, "--out", str(out)]) == 0
    result = read(out)
    assert check(result) == pytest.approx(float(flag[1]))
    assert result["loss"] == symbptt.compile_gradient("lstm")(params, X, Y, *initial)["loss"]


def test_code_writes_a_standalone_module_with_the_same_numbers(tmp_path):
    module_path = tmp_path / "gru_grad.py"
    assert main(["code", "--cell", "gru", "--strategy", "chunked", "--tau", "2", "--out", str(module_path)]) == 0
    source = module_path.read_text()
    imports = {alias.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Import | ast.ImportFrom)
               for alias in node.names}
    assert imports == {"numpy"}
    spec = importlib.util.spec_from_file_location("gru_grad", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params, X, Y, initial = _tiny(("gru", "tanh", "squared"))
    expected = symbptt.compile_gradient("gru", strategy="chunked", tau=2)(params, X, Y, *initial)
    assert_same(module.grad(params, X, Y, *initial), expected, rtol=0, atol=0)


@pytest.mark.parametrize(("cell", "options"), [
    ("lstm", ["--strategy", "window", "--tau", "2", "--loss", "cross_entropy"]),
    ("elman", ["--activation", "relu", "--strategy", "randomized", "--pi", "0.5", "--seed", "2"]),
    ("linear", []),
])
def test_code_to_stdout_runs_in_a_fresh_interpreter(tmp_path, capsys, cell, options):
    assert main(["code", "--cell", cell, *options]) == 0
    module_path = tmp_path / "m.py"
    module_path.write_text(capsys.readouterr().out)
    activation = "relu" if "relu" in options else "tanh"
    config = (cell, activation, "cross_entropy" if "cross_entropy" in options else "squared")
    params, X, Y, initial = _tiny(config)
    np.savez(tmp_path / "in.npz", **params, X=X, Y=Y, **{f"s{k}": s for k, s in enumerate(initial)})
    script = (f"import numpy as np, sys; sys.path.insert(0, {str(tmp_path)!r}); import m\n"
              f"d = np.load({str(tmp_path / 'in.npz')!r}); p = {{k: d[k] for k in m.PARAMS}}\n"
              f"s = [d[k] for k in sorted(d.files) if k.startswith('s')]\n"
              "out = m.grad(p, d['X'], d['Y'], *s); np.savez(sys.argv[1], **out)\n")
    result = tmp_path / "out.npz"
    subprocess.run([sys.executable, "-c", script, str(result)], check=True, cwd=tmp_path)
    index = options.index("--tau") + 1 if "--tau" in options else None
    kwargs = {"strategy": options[options.index("--strategy") + 1]} if "--strategy" in options else {}
    if index:
        kwargs["tau"] = int(options[index])
    if "--pi" in options:
        kwargs |= {"pi": 0.5, "seed": 2}
    expected = symbptt.compile_gradient(cell, activation=config[1], loss=config[2], **kwargs)(params, X, Y, *initial)
    assert_same(read(result), expected)


# ------------------------------------------------------------------ bad input


def _bad_cases():
    params, X, Y, initial = _tiny(("elman", "tanh", "squared"))
    wrong = dict(params, W_hh=np.zeros((2, 3)))
    return [
        ("missing", dict(params=dict(list(params.items())[1:])), "params of the elman cell are .*: missing W_hx"),
        ("extra", dict(params=dict(params, W_zz=np.zeros(2))), "unexpected W_zz"),
        ("shape", dict(params=wrong), r"W_hh has shape \(2, 3\), expected \(h, h\) = \(2, 2\)"),
        ("integer X", dict(X=X.astype(int)), "X must be an array of floats, got dtype int64"),
        ("NaN", dict(Y=np.where(Y > 0, np.nan, Y)), "Y contains NaN or infinite values"),
        ("inf h0", dict(h0=np.full((2, 2), np.inf)), "h0 contains NaN or infinite values"),
        ("h0 shape", dict(h0=np.zeros((3, 2))), r"h0 has shape \(3, 2\), expected \(B, h\) = \(2, 2\)"),
        ("X rank", dict(X=X[0, 0]), r"X must have shape \(T, B, d\) or \(T, d\), got \(2,\)"),
    ]


@pytest.mark.parametrize(("case", "change", "message"), _bad_cases(), ids=[c[0] for c in _bad_cases()])
def test_bad_arrays_are_named_by_the_api(case, change, message):
    params, X, Y, initial = _tiny(("elman", "tanh", "squared"))
    arguments = dict(params=params, X=X, Y=Y, h0=initial[0]) | change
    with pytest.raises(ValueError, match=message):
        symbptt.compile_gradient("elman")(**arguments)


def test_bad_class_ids_and_xi_are_named_by_the_api():
    params, X, Y, initial = _tiny(("gru", "tanh", "cross_entropy"))
    grad = symbptt.compile_gradient("gru", loss="cross_entropy")
    with pytest.raises(ValueError, match=r"Y holds class ids from 0 to 7; allowed: 0 to 1 \(q = 2\)"):
        grad(params, X, np.where(Y > 0, 7, Y))
    with pytest.raises(ValueError, match="Y must hold integer class ids"):
        grad(params, X, Y.astype(float))
    randomized = symbptt.compile_gradient("gru", loss="cross_entropy", strategy="randomized")
    with pytest.raises(ValueError, match=r"xi has shape \(2,\), expected \(T,\) = \(3,\)"):
        randomized(params, X, Y, xi=[1.0, 1.0])
    with pytest.raises(ValueError, match="xi must be >= 0, got -1.0 at index 2"):
        randomized(params, X, Y, xi=[1.0, 1.0, -1.0])
    with pytest.raises(ValueError, match="needs xi"):
        randomized(params, X, Y)
    with pytest.raises(ValueError, match="xi applies to the randomized strategy only"):
        grad(params, X, Y, xi=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="c0 is the initial value of a second state"):
        grad(params, X, Y, c0=np.zeros((2, 2)))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"strategy": "window"}, "needs tau"),
    ({"strategy": "window", "tau": 0}, "tau must be an integer >= 1 for strategy 'window', got 0"),
    ({"strategy": "chunked", "tau": 2.5}, "tau must be an integer >= 1 for strategy 'chunked', got 2.5"),
    ({"strategy": "full", "tau": 3}, "tau applies to the window, chunked, last strategies, not 'full'"),
    ({"strategy": "randomized", "pi": 0.0}, r"pi must be in \(0, 1\], got 0.0"),
    ({"strategy": "randomized", "pi": [0.5, 1.2]}, r"pi must be in \(0, 1\], got 1.2"),
    ({"pi": 0.5}, "pi applies to the randomized strategy, not 'full'"),
    ({"strategy": "tbptt", "k1": 2}, "strategy 'tbptt' needs k2"),
    ({"strategy": "window", "tau": 2, "k1": 3}, "k1 applies to the tbptt strategy, not 'window'"),
    ({"strategy": "nope"}, "unknown strategy 'nope'"),
    ({"loss": "hinge"}, "unknown loss 'hinge'; allowed: squared, cross_entropy"),
    ({"activation": "softplus"}, "unknown activation 'softplus'"),
])
def test_bad_options_are_named_by_compile_gradient(kwargs, message):
    with pytest.raises(ValueError, match=message):
        symbptt.compile_gradient("elman", **kwargs)


def test_bad_cell_and_activation_for_a_gated_cell():
    with pytest.raises(ValueError, match="unknown cell 'rnn'; allowed: linear, elman, gru, lstm"):
        symbptt.compile_gradient("rnn")
    with pytest.raises(ValueError, match="activation 'relu' applies to the elman cell only"):
        symbptt.compile_gradient("lstm", activation="relu")


@pytest.mark.parametrize(("extra_args", "file_change", "message"), [
    ([], {"W_hx": None}, "params of the elman cell are .*: missing W_hx"),
    ([], {"W_zz": np.zeros(2)}, "holds W_zz, not an input of the elman cell"),
    ([], {"X": np.zeros((3, 2, 2), dtype=int)}, "X must be an array of floats"),
    ([], {"Y": None}, "has no array 'Y'"),
    (["--strategy", "randomized"], {"xi": np.array([1.0, -2.0, 1.0])}, "xi must be >= 0"),
    (["--strategy", "randomized"], {"xi": np.ones(5)}, r"xi has shape \(5,\), expected \(T,\)"),
])
def test_cli_bad_input_is_one_line_exit_1_no_output(tmp_path, capsys, extra_args, file_change, message):
    """Bad data in the file: exit 1 (a bad flag value is exit 2: tests/bad_input/test_hostile.py)."""
    inp, out = tmp_path / "in.npz", tmp_path / "g.npz"
    write_input(inp, **file_change)
    assert main(["grad", str(inp), "--cell", "elman", *extra_args, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("symbptt: error: ") and "Traceback" not in err
    import re

    assert re.search(message, err), err
    assert not out.exists() and not list(tmp_path.glob(".*partial"))


def test_cli_missing_or_unreadable_input(tmp_path, capsys):
    out = tmp_path / "g.npz"
    assert main(["grad", str(tmp_path / "none.npz"), "--cell", "gru", "--out", str(out)]) == 1
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "text.npz").write_text("not an npz")
    assert main(["grad", str(tmp_path / "text.npz"), "--cell", "gru", "--out", str(out)]) == 1
    assert "is not an .npz archive (save the arrays with numpy.savez)" in capsys.readouterr().err and not out.exists()


def test_cli_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["grad", "in.npz", "--cell", "rnn", "--out", "g.npz"])
    assert info.value.code == 2 and "invalid choice: 'rnn'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["grad", "in.npz", "--cell", "gru", "--tau", "two", "--out", "g.npz"])
    assert info.value.code == 2


def test_python_dash_m_grad(tmp_path):
    inp, out = tmp_path / "in.npz", tmp_path / "g.npz"
    write_input(inp)
    run = subprocess.run([sys.executable, "-m", "symbptt", "grad", str(inp), "--cell", "elman", "--out", str(out)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0 and out.exists(), run.stderr


@pytest.mark.parametrize(("flags", "values"), [(["--strategy", "tbptt", "--k1", "2", "--k2", "3"], {"k1": 2, "k2": 3}),
                                               (["--strategy", "last", "--tau", "2"], {"tau": 2})])
def test_grad_and_code_take_tbptt_and_last(tmp_path, flags, values):
    inp, out, module = tmp_path / "in.npz", tmp_path / "g.npz", tmp_path / "m.py"
    params, X, Y, initial = write_input(inp, config=("lstm", "tanh", "squared"))
    assert main(["grad", str(inp), "--cell", "lstm", *flags, "--out", str(out)]) == 0
    expected = symbptt.compile_gradient("lstm", strategy=flags[1], **values)(params, X, Y, *initial)
    assert_same(read(out), expected)
    assert main(["code", "--cell", "lstm", *flags, "--out", str(module)]) == 0
    spec = importlib.util.spec_from_file_location("m", module)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    assert_same(loaded.grad(params, X, Y, *initial), expected, rtol=0, atol=0)


def test_derive_prints_the_truncated_sums_of_tbptt_and_last(capsys):
    assert main(["derive", "--cell", "elman", "--strategy", "tbptt", "--k1", "2", "--k2", "3"]) == 0
    text = capsys.readouterr().out
    assert r"\label{eq_bptt_tbptt}" in text and r"\label{eq_bptt_tbptt_T3}" in text
    assert r"\left\lceil" in text or "lceil" in text  # u(t) = k1 ⌈t/k1⌉
    assert main(["derive", "--cell", "gru", "--strategy", "last", "--tau", "2"]) == 0
    text = capsys.readouterr().out
    assert r"\label{eq_bptt_last}" in text and r"\label{eq_bptt_partial_L_ht_recur}" in text
