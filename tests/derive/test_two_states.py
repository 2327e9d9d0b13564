"""The two-state analysis (the LSTM's h_t, c_t at size one): E1–E9 with a vector sensitivity and 2 × 2 matrices."""

from __future__ import annotations

import pytest
import sympy as sp

from symbptt.cli.commands import main
from symbptt.derive import recurrence, size_one, two_states
from symbptt.document import evidence, latex
from symbptt.errors import ProofError
from symbptt.model import cells
from symbptt.model.two_states import view


@pytest.fixture(scope="module")
def analysis():
    return size_one.of(cells.make_cell("lstm"))


@pytest.fixture(scope="module")
def lstm(analysis):
    return analysis.model


def test_every_step_of_the_scalar_analysis_is_there(lstm):
    labels = two_states.symbolic(lstm).labels
    for label in ("eq_bptt_ht_ot", "eq_bptt_partial_ht_wh_recur", "eq_bptt_at_proof", "eq_bptt_substitution",
                  "eq_bptt_partial_ht_wh_gen", "eq_bptt_window", "eq_bptt_randomized", "eq_bptt_last"):
        assert label in labels
    assert len(two_states.symbolic(lstm)["eq_bptt_partial_ht_wh_recur"].equations) == 2  # one chain rule per state


def test_e7_with_ordered_products_equals_the_unrolled_graph_s_derivative(analysis):
    assert isinstance(analysis, size_one.TwoStates)
    measured = evidence.closed_form(analysis, 3)
    assert measured["digits"] >= 25 and measured["fd"] < 1e-6


def test_the_order_of_the_matrix_products_matters(analysis, monkeypatch):
    """Not vacuous: 𝐜_t ⋯ 𝐜_{i+1} taken earliest first is a different, wrong number."""
    def earliest_first(self, t_):
        total = self.b(sp.Integer(t_))
        for k in range(1, t_):
            product = sp.eye(2)
            for j in range(k + 1, t_ + 1):
                product = product @ self.c(sp.Integer(j))
            total += product @ self.b(sp.Integer(k))
        return total

    monkeypatch.setattr(recurrence.LinearRecurrence, "multiplied_closed_form", earliest_first)
    assert evidence.closed_form(analysis, 3)["digits"] < 5


def test_the_written_out_forms_keep_the_latest_step_first(lstm):
    d = two_states.explicit(lstm, 3, ("full", "window"), tau=2)
    text = latex.step_latex(d["eq_bptt_partial_ht_wh_gen_T3"])
    assert r"\mathbf{c}_{3} \mathbf{c}_{2} \mathbf{b}_{1}" in text
    assert "eq_bptt_partial_ht_wh_gen_T3" in d.labels and "eq_bptt_window_T3" in d.labels


class _EarliestFirst(recurrence.LinearRecurrence):
    """E7 written out with its products in the wrong order for matrices (c_{i+1} ⋯ c_t)."""

    def closed_form(self, t, start=sp.S.One, i=None, j=None):
        t = int(t)
        return self.b(sp.Integer(t)) + sp.Add(*(sp.Mul(*(self.c(sp.Integer(jj)) for jj in range(k + 1, t + 1)))
                                              * self.b(sp.Integer(k)) for k in range(1, t)))


def test_unbiasedness_is_checked_for_matrices_and_a_wrong_order_is_caught(monkeypatch):
    for T in (2, 3, 5):
        two_states.check_unbiased(T)
    bold = two_states.bold
    monkeypatch.setattr(two_states, "EXPLICIT", _EarliestFirst(b=bold("b"), c=bold("c"), a=bold("a")))
    with pytest.raises(ProofError):
        two_states.check_unbiased(3)


def test_derive_takes_steps_and_strategies_for_the_lstm(capsys):
    assert main(["derive", "--cell", "lstm", "--steps", "4", "--strategy", "window", "--tau", "3"]) == 0
    out = capsys.readouterr().out
    assert r"\label{eq_bptt_window_T4}" in out and r"\mathbf{c}_{4} \mathbf{c}_{3} \mathbf{b}_{2}" in out


def test_a_cell_of_other_states_is_refused_in_one_line():
    with pytest.raises(Exception, match="needs the state"):
        view(cells.make_cell("gru"))


def test_e17_unties_the_weight_in_both_states_at_each_step(analysis, lstm):
    """The copies' derivatives sum to the shared weight's; untied in h_t alone, the paths through c_t are lost."""
    assert evidence.per_step(analysis, 3) >= 25
    unrolled = two_states.unrolled(lstm, 3)
    point = {s: sp.Float(v, 40) for s, v in evidence._random_point(unrolled, 0).items()}
    w = lstm.recurrent_weight
    tied = evidence._objective_slope(unrolled, evidence._forward_slopes(unrolled.definitions, dict(point), w))
    copies = [sp.Symbol(f"w{s}") for s in (1, 2, 3)]
    only_h = tuple((node, expr.xreplace({w: copies[int(node.indices[0]) - 1]}) if node.base == two_states.h else expr)
                   for node, expr in unrolled.definitions)
    at = {**point, **{copy: point[w] for copy in copies}}
    summed = sum(evidence._objective_slope(unrolled, evidence._forward_slopes(only_h, dict(at), copy))
                 for copy in copies)
    assert evidence._digits(tied, summed) < 3


def test_the_printed_e9_puts_xi_on_the_transition_alone(lstm):
    """z_t = b_t + xi_t c_t z_{t-1}, and E[z_t] = b_t + E[xi_t] c_t E[z_{t-1}]: evaluated at xi_t = 0 the step
    is b_t alone, at xi_t = 5/2 it is b_t + 5/2 c_t z_{t-1} (a check at xi_t = 1 cannot tell where xi_t is)."""
    from symbptt.derive import strategies

    t = two_states.t
    step = two_states.symbolic(lstm)["eq_bptt_randomized"]
    b, c, z = two_states.SYMBOLIC.b, two_states.SYMBOLIC.c, two_states.bold("z")
    xi_t = strategies.xi[t]
    (z_eq,) = [eq for eq in step.equations if eq.lhs == z(t)]
    assert z_eq.rhs.subs(xi_t, 0) == b(t)
    assert sp.expand(z_eq.rhs.subs(xi_t, sp.Rational(5, 2)) - b(t) - sp.Rational(5, 2) * c(t) * z(t - 1)) == 0
    expectation = sp.Function("E")
    (mean,) = [eq.rhs for eq in step.equations if eq.lhs == expectation(z(t)) and isinstance(eq.rhs, sp.Eq)]
    assert mean.lhs.subs(expectation(xi_t), 0) == b(t)
    assert r"\xi_{t}" in latex.step_latex(step)


def test_a_cell_of_states_h_and_m_has_no_size_one_analysis_and_the_cli_says_so(tmp_path, capsys):
    from symbptt.model import formula

    text = "m = tanh(W_xm @ x + W_hm @ h + m + b_m)\nh = tanh(W_xh @ x + W_hh @ h + m + b_h)\n"
    assert size_one.of(formula.cell_from_text(text, name="hm")) is None
    path = tmp_path / "hm.txt"
    path.write_text(text)
    assert main(["derive", "--cell-file", str(path), "--steps", "4"]) == 2
    err = capsys.readouterr().err
    assert "--steps applies to the scalar analysis (E1-E9), which the hm cell (2 states) does not have" in err
    assert main(["derive", "--cell-file", str(path)]) == 0  # the matrix section alone
    out = capsys.readouterr().out
    assert r"\label{eq_bptt_partial_L_ht_recur}" in out and r"\label{eq_bptt_at}" not in out
