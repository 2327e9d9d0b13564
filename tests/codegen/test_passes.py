"""Each code-generation pass on its own: hoisting, common subexpressions, pruning, dead arrays; the allocator."""

import numpy as np
import pytest
import sympy as sp

import symbptt
from symbptt import extend as ex
from symbptt.codegen import ir, passes
from symbptt.codegen.ir import Assign
from symbptt.codegen.names import Names
from symbptt.model import matrices as mx
from symbptt.model.matrices import Seq
from symbptt.model.symbols import t

W_hx, W_hh, W_xg, b_h, b_g = (ex.param(n, ex.h, s) for n, s in
                              (("W_hx", ex.d), ("W_hh", ex.h), ("W_xg", ex.d), ("b_h", 1), ("b_g", 1)))


def test_hoisting_splits_every_state_independent_product_several_per_definition():
    """h_t = tanh(W_hx x_t + W_hh h_{t-1} + b_h) ⊙ σ(W_xg x_t + b_g): two hoisted parts, the second its own buffer."""
    gate = ex.activate("sigmoid", ex.add(ex.mul(W_xg, ex.x_t), b_g))
    value = ex.hadamard(ex.activate("tanh", ex.add(ex.mul(W_hx, ex.x_t), ex.mul(W_hh, ex.h_prev), b_h)), gate)
    made = []

    def buffer(statement, n, whole):
        made.append((n, whole))
        return statement.target if n == 0 else Seq(f"pre_h{n}", t, *statement.target.shape)

    before, loop = passes.hoist([Assign(ex.h_t, value)], {ex.h_prev, ex.h_t}, buffer)
    assert made == [(0, False), (1, False)] and len(before) == 2
    assert {b.expr for b in before} == {ex.add(ex.mul(W_hx, ex.x_t), b_h), gate}
    (step,) = loop
    assert ex.mul(W_hx, ex.x_t) not in step.expr.atoms(sp.MatMul)  # no state-independent product left


def test_a_gate_of_x_alone_is_hoisted_whole_and_needs_no_step():
    gate_t = mx.seq("g", ex.h)
    gate = ex.activate("sigmoid", ex.add(ex.mul(W_xg, ex.x_t), b_g))
    wholes = []
    before, loop = passes.hoist([Assign(gate_t, gate)], {ex.h_prev, gate_t},
                                lambda s, n, whole: wholes.append(whole) or s.target)
    assert before == [Assign(gate_t, gate)] and loop == [] and wholes == [True]


def test_common_subexpressions_are_named_once_before_their_first_use():
    shared = mx.hadamard(ex.h_t, ex.h_t)
    a, b = mx.seq("a", ex.h), mx.seq("b", ex.h)
    statements = [Assign(a, mx.add(shared, ex.h_prev)), Assign(b, mx.hadamard(shared, ex.h_prev))]
    temp = Seq("tmp", t, *shared.shape)
    out = passes.eliminate_common(statements, lambda value: temp)
    assert out[0] == Assign(temp, shared)
    assert out[1].expr == mx.add(temp, ex.h_prev) and out[2].expr == mx.hadamard(temp, ex.h_prev)


def test_pruning_keeps_what_the_outputs_need():
    a, b, c = (mx.seq(n, ex.h) for n in "abc")
    statements = [Assign(a, ex.h_t), Assign(b, a), Assign(c, ex.h_prev)]
    assert passes.prune(statements, [b]) == statements[:2]


def test_dead_arrays_are_released_after_their_last_read():
    body = [ir.Line("a = f(x)"), ir.Line("b = g(a)"), ir.Block("for t in range(3)", (ir.Line("c = b[t]"),)),
            ir.Line("d = c + 1"), ir.Line("return d")]
    out = passes.release_dead_arrays(body, keep={"x", "t", "d"})
    assert out[2] == ir.Del(("a",)) and out[4] == ir.Del(("b",))
    assert ir.Del(("c",)) not in out  # read by the statement just before return: kept to the end


def test_the_allocator_gives_each_owner_one_name_and_never_a_taken_one():
    names = Names({"numpy"})
    assert names.of("param", "t") == "t"  # the user's first
    assert names.of("loop", "t") == "t_2"  # then the generated code's
    assert names.of("param", "t") == "t"
    assert names.fresh("numpy") == "numpy_2" and names.fresh("for") == "for_2"


def test_generated_lines_say_which_equation_they_implement():
    source = symbptt.compile_gradient("linear").source
    for equation in ("# E11", "# E12", "# E13, E14", "# E16"):
        assert equation in source


def test_a_cell_with_two_hoisted_parts_in_one_definition_compiles_and_is_right():
    gate = ex.activate("sigmoid", ex.add(ex.mul(W_xg, ex.x_t), b_g))
    value = ex.hadamard(ex.activate("tanh", ex.add(ex.mul(W_hx, ex.x_t), ex.mul(W_hh, ex.h_prev), b_h)), gate)
    cell = ex.Cell("gated_input", None, (W_hx, W_hh, b_h, W_xg, b_g, ex.W_qh, ex.b_q), (ex.h_t,),
                   ((ex.h_t, value),), ex.readout())
    rng = np.random.default_rng(1)
    params = {"W_hx": rng.uniform(-1, 1, (3, 2)), "W_hh": rng.uniform(-1, 1, (3, 3)), "b_h": rng.uniform(-1, 1, 3),
              "W_xg": rng.uniform(-1, 1, (3, 2)), "b_g": rng.uniform(-1, 1, 3),
              "W_qh": rng.uniform(-1, 1, (2, 3)), "b_q": rng.uniform(-1, 1, 2)}
    X, Y = rng.standard_normal((5, 2, 2)), rng.standard_normal((5, 2, 2))

    def forward_loss(p):
        h, total = np.zeros((2, 3)), 0.0
        for t_ in range(5):
            g = 1 / (1 + np.exp(-(X[t_] @ p["W_xg"].T + p["b_g"])))
            h = np.tanh(X[t_] @ p["W_hx"].T + h @ p["W_hh"].T + p["b_h"]) * g
            total += 0.5 * np.sum((h @ p["W_qh"].T + p["b_q"] - Y[t_]) ** 2)
        return total / 10

    for strategy, values in (("full", {}), ("window", {"tau": 2})):
        grad = symbptt.compile_gradient(cell, strategy=strategy, **values)
        assert "pre_h = numpy.empty(" in grad.source  # the second part in a buffer of its own
        out = grad(params, X, Y)
        assert out["loss"] == pytest.approx(forward_loss(params), rel=1e-13)
    symbptt.check_gradient(forward_loss, params, symbptt.compile_gradient(cell)(params, X, Y), rtol=1e-6)
