import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symbptt
from symbptt.cli import commands as cli
from symbptt.cli.commands import main

from ..helpers import needs_graphviz, needs_tex

ROOT = Path(__file__).parents[2]


def test_derive_writes_the_document(tmp_path, capsys):
    out = tmp_path / "d.tex"
    assert main(["derive", "--cell", "elman", "--steps", "2", "--out", str(out)]) == 0
    assert r"\label{eq_bptt_partial_ht_wh_gen}" in out.read_text()


def test_derive_to_stdout(capsys):
    assert main(["derive", "--strategy", "window"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(r"\documentclass") and "eq_bptt_window" in text and "eq_bptt_randomized" not in text


@pytest.mark.parametrize(("args", "message"), [
    (["--steps", "0"], "argument --steps: must be an integer from 1 to 100, got '0'"),
    (["--steps", "2.5"], "argument --steps: must be an integer from 1 to 100, got '2.5'"),
    (["--cell", "rnn"], "argument --cell: invalid choice: 'rnn'"),
    (["--activation", "softplus"], "argument --activation: invalid choice: 'softplus'"),
    (["--strategy", "nope"], "argument --strategy: invalid choice: 'nope'"),
    (["--tau", "0"], "argument --tau: must be an integer >= 1, got '0'"),
])
def test_bad_input_is_one_line_exit_2_no_file(tmp_path, capsys, args, message):
    out = tmp_path / "d.tex"
    with pytest.raises(SystemExit) as exit_info:
        main(["derive", *args, "--out", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not out.exists()


def test_derive_gated_cells_refuse_an_activation(capsys):
    assert main(["derive", "--cell", "gru", "--activation", "relu"]) == 2  # a flag that does not apply: a usage error
    assert "--activation applies to the elman cell only, not gru" in capsys.readouterr().err


def test_derive_matrix_section(capsys):
    assert main(["derive", "--cell", "linear", "--steps", "2"]) == 0
    text = capsys.readouterr().out
    for label in ("eq_bptt_partial_L_ot", "eq_bptt_partial_L_hT_final_step", "eq_bptt_partial_L_ht_recur",
                  "eq_bptt_partial_L_ht", "eq_bptt_partial_ht_wh_gen"):
        assert rf"\label{{{label}}}" in text


@needs_tex
@pytest.mark.slow
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_derive_gated_cell_pdf(tmp_path, cell):
    out = tmp_path / f"{cell}.tex"
    assert main(["derive", "--cell", cell, "--loss", "cross_entropy", "--out", str(out), "--pdf"]) == 0
    assert (tmp_path / f"{cell}.pdf").read_bytes()[:5] == b"%PDF-"


def test_pdf_needs_out(capsys):
    assert main(["derive", "--pdf"]) == 2
    assert capsys.readouterr().err == "symbptt: error: --pdf needs --out FILE.tex\n"


@needs_tex
def test_derive_pdf(tmp_path):
    out = tmp_path / "d.tex"
    assert main(["derive", "--out", str(out), "--pdf"]) == 0
    assert (tmp_path / "d.pdf").read_bytes()[:5] == b"%PDF-"


def test_graph(capsys):
    assert main(["graph", "--steps", "2"]) == 0
    assert "digraph unrolled" in capsys.readouterr().out


def test_python_dash_m_is_wired():
    run = subprocess.run([sys.executable, "-m", "symbptt", "derive", "--steps", "-1"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2 and "Traceback" not in run.stderr


@pytest.mark.parametrize("verb", [[], ["derive"], ["grad"], ["code"], ["graph"], ["analyze"], ["analyze", "spectrum"],
                                  ["analyze", "alignment"], ["analyze", "strategies"], ["analyze", "estimators"],
                                  ["analyze", "clipping"]])
def test_every_subcommand_helps_with_an_example(verb, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*verb, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "example" in text and f"symbptt {' '.join(verb)}".strip() in text


@pytest.mark.parametrize("verb", ["derive", "graph", "code"])
def test_the_cell_flag_has_one_name_across_commands(verb, capsys):
    assert main([verb, "--cell", "linear"]) == 0
    assert capsys.readouterr().out


def test_the_graph_is_drawn_as_the_textbook_draws_it(capsys):
    assert main(["graph", "--steps", "3"]) == 0
    dot = capsys.readouterr().out
    assert "{rank=same; h_0; op_h_1; h_1; op_h_2; h_2; op_h_3; h_3;}" in dot  # the recurrence along one row
    assert "{rank=same; x_1; x_2; x_3; w_h;}" in dot and "{rank=same; o_1; o_2; o_3;}" in dot
    assert "h_1 [label=<<i>h</i><sub>1</sub>>, shape=box];" in dot  # subscripts as subscripts
    assert 'w_h [label=<<i>w</i><sub>h</sub>>, shape=box, style=filled, fillcolor="#dde8f5"];' in dot
    assert 'op_h_1 [label="f", shape=circle' in dot


@pytest.mark.parametrize("cell", [["--cell", "linear"], ["--cell", "elman"], ["--cell", "gru"], ["--cell", "lstm"],
                                  ["--cell-file", "examples/cells/mgu.txt"]])
def test_every_cell_draws_the_three_step_figure(cell, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).parents[2])
    assert main(["graph", *cell]) == 0
    dot = capsys.readouterr().out
    for k in (1, 2, 3):
        assert f"x_{k} -> op_h_{k};" in dot and f"op_h_{k} -> h_{k};" in dot and f"h_{k} -> op_o_{k};" in dot
    if cell[1] == "lstm":  # both states, side by side along the recurrence's row, each carried to the next f
        assert "{rank=same; h_0; c_0; op_h_1; h_1; c_1; op_h_2; h_2; c_2; op_h_3; h_3; c_3;}" in dot
        assert "c_2 -> op_h_3;" in dot and "op_h_3 -> c_3;" in dot
    if cell[1] in ("gru", "lstm"):  # many parameters: one shaded box, not one per parameter
        assert "theta_h ->" in dot and "W_hh ->" not in dot


@needs_graphviz
@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
@pytest.mark.parametrize("cell", ["generic", "elman", "gru", "lstm"])
def test_graph_formats_through_graphviz(tmp_path, capsys, fmt, magic, cell):
    out = tmp_path / f"g.{fmt}"
    assert main(["graph", "--cell", cell, "--format", fmt, "--out", str(out)]) == 0
    assert out.read_bytes().startswith(magic)


def test_graph_without_graphviz_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    import shutil

    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "dot" else real(name))
    assert main(["graph", "--format", "png", "--out", str(tmp_path / "g.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs Graphviz's dot" in err and not (tmp_path / "g.png").exists()


def test_the_reverse_flow_marks_a_strategy_s_cut_transitions(capsys):
    assert main(["graph", "--steps", "5", "--reverse", "--strategy", "tbptt", "--k1", "2", "--k2", "2"]) == 0
    dot = capsys.readouterr().out
    cut = [line for line in dot.splitlines() if "arrowhead=tee" in line]
    flow = [line for line in dot.splitlines() if "style=dashed" in line]
    assert sorted(line.split()[0] for line in cut) == ["h_3:n", "h_5:n"]  # h_2 -> h_3 and h_4 -> h_5: no loss crosses
    assert len(flow) == 3 and all("constraint=false" in line for line in flow + cut)


def test_the_reverse_flow_runs_along_every_state_of_the_lstm(capsys):
    assert main(["graph", "--cell", "lstm", "--steps", "4", "--reverse", "--strategy", "chunked", "--tau", "2"]) == 0
    dot = capsys.readouterr().out
    grey, red = 'color="#999999"', 'color="#c0392b"'
    assert f"c_3:n -> c_2:n [constraint=false, {grey}" in dot and f"h_3:n -> h_2:n [constraint=false, {grey}" in dot
    assert f"c_2:n -> c_1:n [constraint=false, {red}" in dot


@pytest.mark.parametrize(("argv", "message"), [
    (["--strategy", "window", "--tau", "2"], "add --reverse"),
    (["--reverse", "--tau", "2"], "--tau applies to --strategy"),
    (["--reverse", "--strategy", "chunked"], "needs tau"),
])
def test_graph_strategy_flags_are_refused_in_one_line(argv, message, capsys):
    assert main(["graph", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


# ------------------------------------------------------------------ the command line agrees with itself (issue 20)


def test_symbptt_alone_prints_its_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: symbptt") and "derive" in out and "analyze" in out


@pytest.mark.parametrize("kind", ["strategies", "alignment", "estimators", "spectrum", "clipping"])
def test_every_analysis_has_a_description_and_explains_its_defaults(kind, capsys):
    with pytest.raises(SystemExit):
        main(["analyze", kind, "--help"])
    text = capsys.readouterr().out
    description = text.split("\n\n")[1]
    assert not description.startswith("options:") and len(description.split()) >= 12, description
    verbs = next(a for a in cli.build_parser()._actions if a.dest == "command").choices
    kinds = next(a for a in verbs["analyze"]._actions if a.dest == "analysis").choices
    for action in kinds[kind]._actions:
        if action.dest != "help":  # a reader is told what each option is, not only its default
            assert action.help and not action.help.startswith("(default"), (action.dest, action.help)


def test_one_spelling_for_each_backend_in_the_api_and_on_the_command_line(tmp_path, capsys):
    from symbptt.codegen.dialects import DIALECTS
    from symbptt.gradient import backends

    with pytest.raises(ValueError, match="backend must be one of auto, numpy, numba, array_api; got 'array-api'"):
        symbptt.compile_gradient("elman", backend="array-api")
    with pytest.raises(ValueError, match="got 'array-api'"):
        symbptt.compile_gradient("elman", backend="numpy").module_source("array-api")
    parser = cli.build_parser()
    verbs = next(a for a in parser._actions if a.dest == "command").choices
    choices = {verb: next(a for a in verbs[verb]._actions if a.dest == "backend").choices for verb in ("grad", "code")}
    assert tuple(choices["grad"]) == backends.BACKENDS and tuple(choices["code"]) == tuple(DIALECTS)
    for verb in ("grad", "code"):
        with pytest.raises(SystemExit):
            main([verb, "--cell", "elman", "--backend", "array-api"])
        assert "invalid choice: 'array-api'" in capsys.readouterr().err


def test_every_command_takes_its_cell_by_one_flag(capsys):
    for verb in ("derive", "graph"):
        with pytest.raises(SystemExit):
            main([verb, "--model", "elman"])
        assert "unrecognized arguments: --model" in capsys.readouterr().err


def test_a_missing_package_is_said_before_any_compiling_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "numba", None)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "in.npz", W_hx=rng.normal(size=(3, 2)), W_hh=rng.normal(size=(3, 3)), b_h=np.zeros(3),
             W_qh=rng.normal(size=(2, 3)), b_q=np.zeros(2), X=rng.normal(size=(4, 2, 2)), Y=rng.normal(size=(4, 2, 2)))
    assert main(["grad", str(tmp_path / "in.npz"), "--cell", "elman", "--backend", "numba",
                 "--out", str(tmp_path / "g.npz")]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == ["symbptt: error: backend 'numba' needs Numba, which is not installed: pip install "
                                "'symbptt[numba]'"]


def test_a_missing_tex_engine_is_said_before_the_derivation(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["derive", "--cell", "gru", "--out", str(tmp_path / "d.tex"), "--pdf"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "no TeX engine pdflatex" in err and "deriving" not in err
    assert not any(tmp_path.iterdir())


def test_an_ascii_terminal_is_told_how_to_read_the_korean_document():
    run = subprocess.run([sys.executable, "-m", "symbptt", "derive", "--lang", "ko"], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONIOENCODING": "ascii"}, check=False)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.splitlines()[-1] == ("symbptt: error: standard output's encoding (ascii) cannot hold this "
                                           "text: set PYTHONIOENCODING=utf-8, or write it to a file with --out")


def test_derive_help_names_every_equation_the_document_reaches(capsys):
    with pytest.raises(SystemExit):
        main(["derive", "--help"])
    text = capsys.readouterr().out
    assert "E17" in text and "E18" in text and "E1-E16" not in text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "(E1-E18)" in capsys.readouterr().out
    main(["derive", "--cell", "elman"])
    document = capsys.readouterr().out
    assert "\\label{eq_bptt_per_step}" in document and "\\label{eq_bptt_gate_form}" in document  # E17, E18


def test_the_numbers_the_readme_and_the_contract_quote_agree():
    readme = (ROOT / "README.md").read_text()
    contract = (ROOT / "docs" / "contract.md").read_text()
    steps_50 = re.findall(r"`derive --steps 50 --pdf` takes ([\d.]+) s", readme)
    assert steps_50 and re.search(rf"T = 50 takes about {steps_50[0]} s", contract), steps_50
    assert str(cli.MAX_DERIVE_STEPS) in contract and f"up to {cli.MAX_DERIVE_STEPS}" in readme


def test_an_internal_error_is_one_line_unless_debugging(monkeypatch, capsys):
    def broken(*args, **kwargs):
        key = "h10"
        raise KeyError(key)

    monkeypatch.setattr(cli.handout, "build", broken)
    assert main(["derive"]) == 70
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == ("symbptt: internal error (a bug in symbptt; SYMBPTT_DEBUG=1 shows the traceback): "
                       "KeyError: 'h10'")
    monkeypatch.setenv("SYMBPTT_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["derive"])


def test_a_missing_matplotlib_is_said_before_the_analysis_runs(monkeypatch, capsys, tmp_path):
    from symbptt.analysis import training

    ran = []
    monkeypatch.setattr(training, "train", lambda *a, **k: ran.append(1))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["analyze", "clipping", "--out", str(tmp_path / "c")]) == 1
    assert capsys.readouterr().err.splitlines() == ["symbptt: error: the figures need matplotlib: pip install "
                                                    "'symbptt[plot]'"]
    assert not ran and not any(tmp_path.iterdir())


def test_derive_stacks_a_cell_and_refuses_to_stack_the_generic_model(capsys):
    assert main(["derive", "--cell", "elman", "--layers", "2"]) == 0
    assert r"\frac{\partial L}{\partial {h^{(1)}_{t}}}" in capsys.readouterr().out
    assert main(["derive", "--layers", "2"]) == 2
    assert "--layers stacks a cell: give --cell or --cell-file" in capsys.readouterr().err
