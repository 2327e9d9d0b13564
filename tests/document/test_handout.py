"""The handed-out document: one table of sentences per language, and the PDF of every cell in every language."""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symbptt.cli.commands import main
from symbptt.derive import one_state, size_one, strategies
from symbptt.document import documents, evidence, handout, narration
from symbptt.model import cells, scalar

LENGTHS = {"tau": 2, "k1": 2, "k2": 3}


def test_every_language_has_every_sentence_with_the_same_blanks_and_references():
    english = narration.table("en")
    for lang in narration.LANGUAGES:
        words = narration.table(lang)
        assert set(words) == set(english), lang
        for section in ("headings", "text", "titles", "narration"):
            assert set(words[section]) == set(english[section]), (lang, section)
            for key, sentence in english[section].items():
                theirs = words[section][key]
                assert set(narration.BLANK.findall(theirs)) == set(narration.BLANK.findall(sentence)), (lang, key)
                refs = sorted(narration.re.findall(r"\\eqref\{(\w+)\}", theirs))
                assert refs == sorted(narration.re.findall(r"\\eqref\{(\w+)\}", sentence)), (lang, key)
        if lang != "en":
            assert words["titles"] != english["titles"]  # translated, not copied


def test_every_step_of_every_derivation_takes_its_title_and_sentence_from_the_narration():
    """Titles are kept once, in the tables: a step the engine makes without an entry fails here, for any strategy."""
    from symbptt.derive import reverse
    from symbptt.model import losses

    analysis = size_one.of(cells.make_cell("lstm"))
    derivations = [one_state.symbolic(scalar.make_model("elman")), one_state.explicit(scalar.make_model("elman"), 4),
                   analysis.symbolic(), analysis.explicit(4),
                   reverse.derivation(cells.make_cell("linear"), losses.make_loss("squared"))]
    english = narration.table("en")
    for derivation in derivations:
        for step in derivation.steps:
            assert step.title == "" and narration.key_of(step.label) in english["narration"], step.label
            assert "@" not in narration.title(step), step.label  # every blank filled from the step itself
    tbptt = one_state.explicit(scalar.make_model("elman"), 5, ("tbptt",), k1=2, k2=4)["eq_bptt_tbptt_T5"]
    french = narration.title(tbptt, "fr")
    assert french != narration.title(tbptt) and r"$k_{1} = 2$, $k_{2} = 4$, $t = 5$" in french  # filled in French too
    assert narration.title(tbptt) == r"Truncated BPTT($k_1$, $k_2$), $k_{1} = 2$, $k_{2} = 4$, $t = 5$"
    shown = reverse.derivation(cells.make_cell("elman"), losses.make_loss("squared"))._repr_latex_()
    assert r"\textbf{The elman (tanh) cell}" in shown  # the notebook's title is the narration's, with the cell


def test_an_unknown_language_is_refused_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["derive", "--lang", "de"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--lang" in err[0] and "'de'" in err[0]
    with pytest.raises(ValueError, match="unknown language 'xx'; allowed: en, fr, ko, vi, tr"):
        narration.table("xx")


def test_the_measured_check_of_the_closed_form_sees_a_wrong_closed_form(monkeypatch):
    model = scalar.view(cells.make_cell("elman", "tanh"))
    assert evidence.closed_form(size_one.OneState(model))["digits"] == evidence.DIGITS
    from symbptt.derive import recurrence

    right = recurrence.LinearRecurrence.closed_form
    monkeypatch.setattr(recurrence.LinearRecurrence, "closed_form",
                        lambda self, t_, start=1: 1.001 * right(self, t_, start=start))
    measured = evidence.closed_form(size_one.OneState(model))
    assert measured["digits"] < 5 and measured["fd"] > 1e-4


def test_a_measured_difference_is_printed_to_one_significant_digit():
    assert evidence.scientific(9.6e-10) == r"1 \cdot 10^{-9}"  # rounds up into the next power, not "10 · 10^-10"
    assert evidence.scientific(6.1e-11) == r"6 \cdot 10^{-11}"
    assert evidence.scientific(0.0) == "0"


def test_the_document_says_how_each_result_was_checked():
    text = handout.build(cells.make_cell("elman", "tanh"), None, strategies.STRATEGIES, 3, LENGTHS, "en")
    assert "to 30 digits" in text and "Checked: SymPy proves it" in text
    fd = [float(m) for m in narration.re.findall(r"relative difference of \$(\d) \\cdot 10\^\{(-\d+)\}", text)[0]]
    assert fd[0] * 10 ** fd[1] < 1e-6  # central differences agree with the compiled gradient
    assert "relu" in text and "H(0) = 0" in text and "1/(BT)" in text  # the contract's conventions


CASES = [("generic", None), ("linear", "tanh"), *(("elman", a) for a in ("identity", "tanh", "sigmoid", "relu")),
         ("gru", "tanh"), ("lstm", "tanh"), ("formula", "mgu"), ("formula", "peephole_lstm")]
FORMULAS = Path(__file__).parents[2] / "examples" / "cells"  # a minimal gated unit; an LSTM with peepholes


@pytest.mark.slow
@pytest.mark.parametrize("lang", narration.LANGUAGES)
@pytest.mark.parametrize(("cell", "activation"), CASES)
def test_each_cell_in_each_language_compiles_to_a_pdf_a_reader_can_read(tmp_path, cell, activation, lang):
    engine = documents.engine(lang)
    if shutil.which(engine) is None or shutil.which("pdftoppm") is None:
        if os.environ.get("SYMBPTT_REQUIRE_TEX"):
            pytest.fail(f"{engine} or pdftoppm missing")
        pytest.skip(f"{engine} or pdftoppm not installed")
    argv = ["derive", "--lang", lang, "--out", str(tmp_path / "d.tex")]
    if cell == "formula":
        argv += ["--cell-file", str(FORMULAS / f"{activation}.txt")]
    else:
        argv += ["--cell", cell] + (["--activation", activation] if cell == "elman" else [])
    assert main(argv) == 0
    log = documents.compile_log(tmp_path / "d.tex", engine)
    assert not [line for line in log.splitlines() if "undefined" in line.lower()]
    assert not [line for line in log.splitlines() if line.startswith("Overfull \\hbox")]
    documents.compile_pdf(tmp_path / "d.tex", engine)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(tmp_path / "d.pdf"),
                    str(tmp_path / "page")], check=True)
    (page,) = tmp_path.glob("page*.png")
    from matplotlib.image import imread

    pixels = imread(page)
    ink = np.mean(pixels[..., :3] < 0.5)
    assert 0.005 < ink < 0.3  # text on the page, not blank and not a black box


@pytest.mark.slow
@pytest.mark.parametrize(("cell", "steps"), [("elman", 4), ("linear", 5), ("lstm", 4), ("lstm", 100), ("elman", 100),
                                           ("gru", 12), ("linear", 40)])
def test_long_written_out_sums_stay_inside_the_margin(tmp_path, cell, steps):
    if shutil.which("pdflatex") is None:
        if os.environ.get("SYMBPTT_REQUIRE_TEX"):
            pytest.fail("pdflatex missing")
        pytest.skip("pdflatex not installed")
    assert main(["derive", "--cell", cell, "--steps", str(steps), "--out", str(tmp_path / "d.tex")]) == 0
    assert documents.overfull_lines(tmp_path / "d.tex") == []


def test_a_gated_cell_keeps_b_and_c_by_name_and_says_where_they_are_defined():
    gru = scalar.make_model("gru")
    derivation = one_state.symbolic(gru, ("full", "window"))
    closed = derivation["eq_bptt_partial_ht_wh_gen"]
    assert closed.names_from == "eq_bptt_substitution"
    assert {str(b.base) for b in closed.equations[0].rhs.atoms(sp.Indexed)} >= {"b", "c"}
    elman = one_state.symbolic(scalar.make_model("elman"), ("full",))["eq_bptt_partial_ht_wh_gen"]
    assert elman.names_from == "" and not {"b", "c"} & {str(b.base) for b in elman.equations[0].rhs.atoms(sp.Indexed)}
    tex = documents.render([documents.Section("symbolic", derivation)], "en", model="gru", T=3, cell="gru")
    assert tex.count(r"are those of \eqref{eq_bptt_substitution}") == 1  # said once, at the first step


@pytest.mark.parametrize("lang", narration.LANGUAGES)
def test_every_checked_line_quotes_the_sizes_its_check_ran_at(monkeypatch, lang):
    """Each "Checked: ..." sentence says T (and B, the directions) of the check that produced its number: the
    evidence functions are spied on, and the sentences found in the document by their own templates."""
    from symbptt.derive import reverse

    ran: dict[str, dict[str, object]] = {}

    def spy(name, function, keys):
        def recorded(*args, **kwargs):
            bound = inspect.signature(function).bind(*args, **kwargs)
            bound.apply_defaults()
            ran[name] = {k: bound.arguments[k] for k in keys}
            return function(*args, **kwargs)
        monkeypatch.setattr(module_of[name], function.__name__, recorded)

    module_of = {"closed_form": evidence, "gradient": evidence, "per_step": evidence, "adjoint_closed_form": reverse}
    spy("closed_form", evidence.closed_form, ("T",))
    spy("gradient", evidence.matrix_gradient, ("T", "directions"))
    spy("per_step", evidence.per_step, ("T",))
    spy("adjoint_closed_form", reverse.derivation, ("proof_T",))
    document = handout.build(cells.make_cell("linear"), None, ("full",), 5, {"tau": 2, "k1": 2, "k2": 3}, lang)
    ran["adjoint_closed_form"] = {"T": ran["adjoint_closed_form"]["proof_T"]}
    say = narration.table(lang)["text"]
    for key, used in ran.items():
        pattern = re.escape(say[key])
        for blank in re.findall(r"@(\w+)@", say[key]):
            pattern = pattern.replace(f"@{blank}@", rf"(?P<{blank}>.+?)", 1)
        found = re.search(pattern.replace(r"\ ", " "), document)
        assert found, (key, say[key])
        for name, value in used.items():
            assert found[name] == str(value), (lang, key, name, found[name], value)
        if key == "gradient":
            assert found["B"] == "2"  # the batch matrix_gradient draws


# Where Korean says in more sentences what the others say in fewer (its own sentence boundaries), pinned:
# any other difference in the number of sentences is a sentence dropped or added in one language.
KOREAN_SENTENCES = {"document.intro": 3, "text.conventions": 7, "text.closed_form_generic": 2, "text.names": 2,
                    "text.pair": 3, "narration.eq_bptt_partial_L_wh": 2, "narration.eq_bptt_partial_L_ht": 2,
                    "narration.eq_bptt_partial_L_ht_proof": 2}


def _sentences(text: str) -> int:
    text = re.sub(r"\$[^$]*\$", "M", text)  # inline math holds no sentence end
    text = re.sub(r"\\[a-zA-Z]+\{[^}]*\}", "C", text)  # nor does a command's argument
    return len(re.findall(r"[.!?](?:\s|$)", text))


def _flat(table, prefix=""):
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        elif isinstance(value, str):
            yield f"{prefix}{key}", value


def test_no_language_drops_or_adds_a_sentence():
    counts = {lang: {k: _sentences(v) for k, v in _flat(narration.table(lang))} for lang in narration.LANGUAGES}
    for key, english in counts["en"].items():
        for lang in narration.LANGUAGES:
            expected = KOREAN_SENTENCES.get(key, english) if lang == "ko" else english
            assert counts[lang][key] == expected, (lang, key, counts[lang][key], expected)
