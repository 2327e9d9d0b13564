
import pytest

from symbptt import documents, latex
from symbptt.derive import forward as derive
from symbptt.model import scalar as model

from .helpers import needs_tex

GENERIC = derive.symbolic(model.generic())

TABLE = [
    ("eq_bptt_partial_ht_wh_recur",
     r"\frac{\partial h_{t}}{\partial w_{h}} = \frac{\partial f{\left(x_{t},h_{t - 1},w_{h} \right)}}{\partial w_{h}}"
     r" + \frac{\partial f{\left(x_{t},h_{t - 1},w_{h} \right)}}{\partial h_{t - 1}}"
     r" \frac{\partial h_{t - 1}}{\partial w_{h}}"),
    ("eq_bptt_partial_ht_wh_gen",
     r"\frac{\partial h_{t}}{\partial w_{h}} = \frac{\partial f{\left(x_{t},h_{t - 1},w_{h} \right)}}{\partial w_{h}}"
     r" + \sum_{i=1}^{t - 1} \left(\prod_{j=i + 1}^{t}"
     r" \frac{\partial f{\left(x_{j},h_{j - 1},w_{h} \right)}}{\partial h_{j - 1}}\right)"
     r" \frac{\partial f{\left(x_{i},h_{i - 1},w_{h} \right)}}{\partial w_{h}}"),
    ("eq_bptt_objective", r"L = \frac{1}{T} \sum_{t=1}^{T} l{\left(y_{t},o_{t} \right)}"),
]


@pytest.mark.parametrize(("label", "expected"), TABLE)
def test_textbook_latex(label, expected):
    assert latex.step_latex(GENERIC[label]).lstrip("&") == expected


def test_E5_and_E3_read_like_the_textbook():
    e5 = latex.step_latex(GENERIC["eq_bptt_at"])
    assert r"a_{t} = b_{t} + \sum_{i=1}^{t - 1} \left(\prod_{j=i + 1}^{t} c_{j}\right) b_{i}" in e5
    e3 = latex.step_latex(GENERIC["eq_bptt_partial_L_wh"])
    assert (r"\frac{\partial l{\left(y_{t},o_{t} \right)}}{\partial o_{t}} "
            r"\frac{\partial g{\left(h_{t},w_{o} \right)}}{\partial h_{t}} \frac{\partial h_{t}}{\partial w_{h}}") in e3
    assert r"\frac{d}{d" not in e3 and "Subs" not in e3


def test_window_prints_approx():
    assert r"\approx" in latex.step_latex(GENERIC["eq_bptt_window"])


def _document(name="generic"):
    m = model.make_model(name)
    return documents.render([("symbolic", derive.symbolic(m)), ("T = 3", derive.explicit(m, 3))], "test")


def test_document_has_textbook_labels():
    text = _document()
    for label in ("eq_bptt_ht_ot", "eq_bptt_partial_L_wh", "eq_bptt_partial_ht_wh_recur", "eq_bptt_at",
                  "eq_bptt_partial_ht_wh_gen"):
        assert rf"\label{{{label}}}" in text


@needs_tex
@pytest.mark.parametrize("name", ["generic", "elman"])
def test_document_compiles_with_tex(tmp_path, name):
    tex = tmp_path / "d.tex"
    tex.write_text(_document(name))
    pdf = documents.compile_pdf(tex)
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_repr_latex():
    assert GENERIC._repr_latex_().startswith("$\\displaystyle")
