"""E17 and E18: the gradient as a sum of per-step contributions, and the gates and activations in the cheatsheet's
form, each derived from the cell and checked when built."""

from __future__ import annotations

import pytest
import sympy as sp

from symbptt.derive import gates, reverse, size_one
from symbptt.document import evidence
from symbptt.errors import ProofError
from symbptt.model import cells, graph, losses, ops, scalar
from symbptt.model import matrices as mx


def _derivation(name: str, activation: str = "tanh") -> reverse.Derivation:
    return reverse.derivation(cells.make_cell(name, activation), losses.make_loss("generic", allow_generic=True))


def test_the_textbook_order_ends_with_the_per_step_sum_then_the_gates():
    assert _derivation("gru").labels[-2:] == ("eq_bptt_per_step", "eq_bptt_gate_form")
    assert "eq_bptt_gate_form" not in _derivation("linear").labels  # no activation, nothing to show


def test_e17_per_step_contribution_is_the_summand_of_e16():
    d = _derivation("elman")
    total, local = d["eq_bptt_per_step"].equations
    W_hh = cells.make_cell("elman").param("W_hh")
    (e16,) = [eq for eq in d["eq_bptt_partial_L_hidden"].equations if eq.lhs == mx.adjoint(W_hh)]
    assert total.lhs == mx.adjoint(W_hh) and isinstance(local.lhs, mx.StepAdjoint)
    assert local.rhs == e16.rhs.function
    assert total.rhs.function == local.lhs


@pytest.mark.parametrize("name", ["linear", "elman", "gru"])
def test_e17_untied_copies_sum_to_the_shared_weight_s_derivative(name):
    model = scalar.make_model(name)
    assert evidence.per_step(size_one.OneState(model), 3) >= 25
    # not vacuous: the last step's copy alone is not the whole derivative
    unrolled = graph.unroll(model, 3)
    point = {s: sp.Float(v, 40) for s, v in evidence._random_point(unrolled, 0).items()}
    w = model.recurrent_weight
    tied = evidence._objective_slope(unrolled, evidence._forward_slopes(unrolled.definitions, dict(point), w))
    last = sp.Symbol("w_last")
    untied = tuple((node, expr.xreplace({w: last}) if node == scalar.h[3] else expr)
                   for node, expr in unrolled.definitions)
    alone = evidence._objective_slope(unrolled, evidence._forward_slopes(untied, {**point, last: point[w]}, last))
    assert evidence._digits(tied, alone) < 3


def test_e18_names_the_sigmoid_gates_gamma_but_not_a_state():
    gru = gates.gate_equations(cells.make_cell("gru"))
    assert [str(eq.lhs) for eq in gru[:2]] == [r"\Gamma_{r}", r"\Gamma_{z}"]
    (elman,) = gates.gate_equations(cells.make_cell("elman", "sigmoid"))
    assert isinstance(elman.lhs, mx.Seq)  # h_t is the state, not a gate


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_e18_derivative_rules_agree_with_the_definition(activation):
    (function,) = gates.activations(cells.make_cell("elman", activation))
    definition, rule = gates.derivative_equations(function)
    assert definition.rhs.has(sp.exp) or definition.rhs.has(sp.Max)


def test_e18_sees_a_wrong_derivative_rule(monkeypatch):
    monkeypatch.setattr(ops.sigmoid, "fdiff", lambda self, argindex=1: ops.sigmoid(self.args[0]))
    with pytest.raises(ProofError, match="derivative rule"):
        gates.gate_form(cells.make_cell("gru"))


def test_e18_reads_a_gate_s_affine_argument_or_nothing():
    W, U, b = (sp.MatrixSymbol(n, 2, 2 if n != "b" else 1) for n in ("W", "U", "b"))
    x, hp = mx.seq("x", 2), mx.seq("h", 2, -1)
    assert gates.affine_terms(mx.add(mx.mul(W, x), mx.mul(U, hp), b), {W, U, b}) == ((W, x), (U, hp), (b, sp.S.One))
    assert gates.affine_terms(mx.hadamard(x, hp), {W, U, b}) is None


def test_e18_prints_relu_s_derivative_with_the_contract_s_value_at_the_kink():
    (function,) = gates.activations(cells.make_cell("elman", "relu"))
    _, rule = gates.derivative_equations(function)
    assert rule.rhs.subs(gates.z, 0) == 0  # relu'(0) = 0, as the conventions section says
    assert rule.rhs.subs(gates.z, sp.Rational(1, 10**9)) == 1 and rule.rhs.subs(gates.z, -sp.Rational(1, 10**9)) == 0
