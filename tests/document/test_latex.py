
import pytest
import sympy as sp

from symbptt.derive import one_state as derive
from symbptt.derive.chain import Partial
from symbptt.document import documents, latex
from symbptt.model import cells
from symbptt.model import scalar as model

from ..helpers import needs_tex

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
    return documents.render_plain([("symbolic", derive.symbolic(m)), ("T = 3", derive.explicit(m, 3))], "test")


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


def test_repr_latex_of_a_derivation_and_of_one_step():
    text = GENERIC._repr_latex_()
    assert text.startswith("$$\\begin{aligned}") and text.endswith("\\end{aligned}$$")
    assert r"\textbf{Proof: the closed form satisfies the recurrence} t \geq 2" not in text
    assert r"&\textbf{Hidden state and output} \\" in text
    step = GENERIC["eq_bptt_at"]._repr_latex_()
    assert step.startswith("$$\\begin{aligned}\n&a_{0} = 0") and step.count("&") == 3


def test_titles_and_notes_set_their_math_as_math():
    explicit = derive.explicit(model.make_model("elman", "tanh"), 4)
    text = latex.step_environment(explicit["eq_bptt_partial_ht_wh_recur_T4"])
    assert "The hidden state $h_0$ does not depend on the parameters, so $a_0 = 0$" in text  # the English narration
    assert r"\paragraph{Truncated BPTT($k_1$, $k_2$), $k_{1} = 2$, $k_{2} = 3$, $t = 4$}" in latex.step_environment(
        explicit["eq_bptt_tbptt_T4"])
    assert latex.escape("50% of a_b costs $5") == r"50\% of a\_b costs \$5"  # an unpaired $ is a dollar


# ------------------------------------------------------------------ long written-out forms

ELMAN_50 = derive.explicit(model.make_model("elman", "tanh"), 50)


def test_a_long_written_out_sum_shows_its_first_and_last_terms_in_time_order():
    text = latex.step_latex(ELMAN_50["eq_bptt_partial_ht_wh_gen_T50"])
    # (1 - h_1^2)(1 - h_2^2) ⋯ h_0 is the first term; (1 - h_50^2) h_49 the last
    assert text.index("h_{1}^{2}") < text.index("h_{2}^{2}") < text.index(r"+ \cdots") < text.rindex("h_{49}")
    assert text.count(r"\cdots") == 3  # two elided products and the elided sum
    assert "h_{25}" not in text
    assert text.rstrip().endswith(r"\left(1 - h_{50}^{2}\right) h_{49}")


def test_a_step_of_many_equations_shows_its_first_three_and_last_two():
    step = ELMAN_50["eq_bptt_partial_ht_wh_recur_T50"]
    assert len(step.equations) == 51  # every equation is kept; only the display elides
    rows = latex.step_latex(step).split(r" \\" + "\n")
    assert len(rows) == 6 and rows[3] == r"&\vdots"
    assert rows[0].startswith(r"&\frac{\partial h_{0}}") and rows[-1].startswith(r"&\frac{\partial h_{50}}")


def test_a_short_written_out_sum_is_not_elided():
    text = latex.step_latex(derive.explicit(model.make_model("elman", "tanh"), 3)["eq_bptt_partial_ht_wh_gen_T3"])
    assert r"\cdots" not in text
    assert text.index("h_{0} +") < text.index("h_{1} ") < text.rindex("h_{2}")  # in time order


@needs_tex
@pytest.mark.slow
@pytest.mark.parametrize("steps", ["3", "12", "50"])
@pytest.mark.parametrize("cell", [["generic"], ["linear"], ["elman", "--activation", "tanh"],
                                  ["elman", "--activation", "sigmoid"], ["elman", "--activation", "relu"],
                                  ["elman", "--activation", "identity"]], ids=" ".join)
def test_the_document_stays_inside_the_margins(tmp_path, cell, steps):
    from symbptt.cli.commands import main

    tex = tmp_path / "d.tex"
    main(["derive", "--cell", *cell, "--steps", steps, "--out", str(tex), "--pdf"])
    assert tex.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
    assert documents.overfull_lines(tex) == []


def test_a_gated_cell_is_shown_with_its_gates_named():
    gru = derive.symbolic(model.view(cells.make_cell("gru")))
    e1 = latex.step_latex(gru["eq_bptt_ht_ot"])
    assert r"&r_{t} = \sigma\left(W_{hr} h_{t - 1} + W_{xr} x_{t} + b_{r}\right)" in e1
    assert r"&h_{t} = \left(1 - z_{t}\right) \tilde{h}_{t} + z_{t} h_{t - 1}" in e1
    e4 = latex.step_latex(gru["eq_bptt_partial_ht_wh_recur"])
    assert r"\left(1 - \tilde{h}_{t}^{2}\right)" in e4 and r"\sigma" not in e4  # σ' reads r_t (1 - r_t)


def test_a_scalar_parameter_named_like_a_greek_letter_prints_letter_by_letter():
    from symbptt.document.notation import to_latex

    assert to_latex(sp.Symbol("W_xi")) == "W_{xi}" and to_latex(sp.Symbol("xi")) == r"\xi"


def test_noncommutative_factors_keep_their_order_commutative_ones_sort_first():
    from symbptt.document.notation import to_latex

    c3, c2, b1 = (sp.Symbol(n, commutative=False) for n in ("C_3", "C_2", "B_1"))
    assert to_latex(sp.Mul(c3, c2, b1) * sp.Symbol("xi")).endswith("C_{3} C_{2} B_{1}")


def test_a_vector_of_derivatives_sets_its_fractions_at_display_size_rows_apart():
    """E6's 𝐚_t = (∂h_t/∂w, ∂c_t/∂w): a matrix sets its entries in text style, fractions small and touching."""
    from symbptt.document.notation import to_latex

    w, x, y = sp.symbols("w x y")
    text = to_latex(sp.Matrix([x / w, y / w]))
    assert r"\dfrac{x}{w}\\[4pt]\dfrac{y}{w}" in text and r"\frac{" not in text
    assert to_latex(sp.Matrix([[x, y], [w, x]])) == r"\left[\begin{matrix}x & y\\w & x\end{matrix}\right]"


@pytest.mark.parametrize("lhs_letters", [1, 8, 20, 36])
def test_the_first_line_of_a_broken_sum_leaves_room_for_its_left_hand_side(lhs_letters):
    """Each printed line, the first one with ``lhs =`` in front, fits LINE_WIDTH (in _width's letters)."""
    from symbptt.derive.steps import Step

    lhs = sp.Symbol("L" + "q" * (lhs_letters - 1))
    terms = sp.symbols("a_1:25")
    rhs = sp.Add(*(a * b for a, b in zip(terms, sp.symbols("b_1:25"), strict=True)))
    text = latex.step_latex(Step("eq_long", (sp.Eq(lhs, rhs),), title="long"))
    lines = text.split("\\\\\n")
    assert len(lines) > 1  # the sum is broken
    assert lines[0].startswith(f"&{latex.to_latex(lhs)} = ")
    for line in lines:
        assert latex._width(line.lstrip("&")) <= latex.LINE_WIDTH + 1e-9, (lhs_letters, line)


def test_each_elementwise_function_prints_its_own_argument_even_when_the_bodies_are_equal():
    """σ(·) of the reset and of the update gate share a body: each prints its own argument (a cache keyed by the
    stand-in's name alone once printed the reset gate's argument in the update gate)."""

    gru = cells.make_cell("gru")
    printed = {node.name: latex.to_latex(value) for node, value in gru.steps}
    assert "W_{xr} x_{t}" in printed["r"] and "W_{xz} x_{t}" in printed["z"] and "W_{xr}" not in printed["z"]


def test_a_matrix_of_sensitivities_sets_them_as_display_fractions_on_rows_apart():
    w = sp.Symbol("w")
    vector = sp.Matrix([Partial(sp.IndexedBase("h")[1], w), Partial(sp.IndexedBase("c")[1], w)])
    assert latex.to_latex(vector) == (r"\left[\begin{matrix}\dfrac{\partial h_{1}}{\partial w}\\[4pt]"
                                      r"\dfrac{\partial c_{1}}{\partial w}\end{matrix}\right]")
    assert latex.to_latex(sp.Matrix([[1, w]])) == r"\left[\begin{matrix}1 & w\end{matrix}\right]"
    assert latex.to_latex(Partial(sp.IndexedBase("h")[1], w)).startswith(r"\frac")  # outside a matrix: \frac


def test_a_stacked_model_prints_layers_as_the_deep_rnns_superscripts():
    """h_l2 is h^{(2)}_t and W_hh_l2 is W_{hh}^{(2)}, each a group, so that a transpose or a power after it is
    not a second superscript (which TeX refuses)."""
    from symbptt.model import matrices as mx

    W = sp.MatrixSymbol("W_hh_l2", 3, 3)
    assert latex.to_latex(mx.seq("h_l2", 3)) == "{h^{(2)}_{t}}"
    assert latex.to_latex(sp.Transpose(W)) == r"{W_{hh}^{(2)}}^\top"
    assert latex.to_latex(mx.seq("h", 3)) == "h_{t}" and latex.to_latex(sp.MatrixSymbol("W_hh", 3, 3)) == "W_{hh}"


@needs_tex
@pytest.mark.slow
def test_the_document_of_a_stacked_model_compiles_and_layer_one_gathers_from_layer_two(tmp_path):
    from symbptt.cli.commands import main

    out = tmp_path / "gru2.tex"
    assert main(["derive", "--cell", "gru", "--layers", "2", "--out", str(out), "--pdf"]) == 0
    text = out.read_text()
    assert "the 2-layer gru model" in text and (tmp_path / "gru2.pdf").read_bytes()[:5] == b"%PDF-"
    recurrence = text[text.index(r"\label{eq_bptt_partial_L_ht_recur}"):]
    recurrence = recurrence[:recurrence.index(r"\end{equation}")]
    assert r"\frac{\partial L}{\partial {h^{(1)}_{t}}}" in recurrence and r"{W_{xr}^{(2)}}^\top" in recurrence
