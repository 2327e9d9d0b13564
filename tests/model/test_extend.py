"""Extending symbptt from outside (symbptt.extend), hygienic generated names, and the standalone module."""

import ast
import functools
import importlib.util

import numpy as np
import pytest

import symbptt
from symbptt import extend as ex

from ..gradient.test_api import assert_same


def indrnn():
    """h_t = relu(W_hx x_t + w ⊙ h_{t-1} + b_h), ``w`` a vector: ten lines through the front door."""
    W_hx, w, b_h = ex.param("W_hx", ex.h, ex.d), ex.param("w", ex.h), ex.param("b_h", ex.h)
    step = ex.activate("relu", ex.add(ex.mul(W_hx, ex.x_t), ex.hadamard(w, ex.h_prev), b_h))
    return ex.Cell("indrnn", None, (W_hx, w, b_h, ex.W_qh, ex.b_q), (ex.h_t,), ((ex.h_t, step),), ex.readout())


def named_elman(names):
    """The elman-tanh cell with its five parameters called ``names`` (the contract's order)."""
    W_hx, W_hh, b_h = ex.param(names[0], ex.h, ex.d), ex.param(names[1], ex.h, ex.h), ex.param(names[2], ex.h)
    W_qh, b_q = ex.param(names[3], ex.q, ex.h), ex.param(names[4], ex.q)
    step = ex.activate("tanh", ex.add(ex.mul(W_hx, ex.x_t), ex.mul(W_hh, ex.h_prev), b_h))
    return ex.Cell("elman_" + "_".join(names), None, (W_hx, W_hh, b_h, W_qh, b_q), (ex.h_t,),
                   ((ex.h_t, step),), ex.add(ex.mul(W_qh, ex.h_t), b_q))


CONTRACT = ("W_hx", "W_hh", "b_h", "W_qh", "b_q")
HOSTILE = [  # every name the generated code uses for itself
    ("v1", "t", "T", "B", "L"),
    ("x", "y", "carry_h", "dL_dh", "numpy"),
    ("c", "o_reached", "dL_do", "delta_h", "pre_o"),
    ("tau", "k1", "k2", "pending_h", "pending_first"),
    ("range", "max", "core", "_matmul", "dim_h"),
    ("direct_h", "arrive_h", "travel_dL_dh", "dL_dW_hh", "o"),
]


def problem(seed=0, T=5, B=2, d=3, h=4, q=2):
    rng = np.random.default_rng(seed)
    shapes = ((h, d), (h, h), (h,), (q, h), (q,))
    params = {n: rng.uniform(-1, 1, s) for n, s in zip(CONTRACT, shapes, strict=True)}
    return params, rng.standard_normal((T, B, d)), rng.standard_normal((T, B, q)), rng.uniform(-0.5, 0.5, (B, h))


@pytest.mark.parametrize("names", HOSTILE, ids="-".join)
@pytest.mark.parametrize(("strategy", "values"), [("full", {}), ("window", {"tau": 2}), ("chunked", {"tau": 2}),
                                                  ("tbptt", {"k1": 2, "k2": 3}), ("last", {"tau": 3}),
                                                  ("randomized", {"pi": 0.5, "seed": 1})])
def test_parameters_named_like_generated_temporaries_get_the_right_gradient(names, strategy, values):
    params, X, Y, h0 = problem()
    expected = symbptt.compile_gradient("elman", strategy=strategy, **values)(params, X, Y, h0)
    renamed = dict(zip(names, (params[n] for n in CONTRACT), strict=True))
    got = symbptt.compile_gradient(named_elman(names), strategy=strategy, **values)(renamed, X, Y, h0)
    assert got["loss"] == expected["loss"]
    for ours, theirs in zip(names, CONTRACT, strict=True):
        np.testing.assert_allclose(got[ours], expected[theirs], rtol=1e-13, atol=1e-15, err_msg=ours)


def test_a_cell_from_outside_derives_compiles_and_matches_finite_differences():
    ex.register_cell("indrnn", indrnn)
    assert "indrnn" in ex.cell_names()
    rng = np.random.default_rng(3)
    params = {"W_hx": rng.uniform(-1, 1, (3, 2)), "w": rng.uniform(-1, 1, 3), "b_h": rng.uniform(0.5, 1, 3),
              "W_qh": rng.uniform(-1, 1, (2, 3)), "b_q": rng.uniform(-1, 1, 2)}
    X, Y = rng.uniform(0, 1, (6, 2, 2)), rng.standard_normal((6, 2, 2))

    def forward_loss(p):  # written from the cell's definition, independently
        h, total = np.zeros((2, 3)), 0.0
        for t in range(6):
            h = np.maximum(X[t] @ p["W_hx"].T + p["w"] * h + p["b_h"], 0)
            total += 0.5 * np.sum((h @ p["W_qh"].T + p["b_q"] - Y[t]) ** 2)
        return total / 12

    out = symbptt.compile_gradient("indrnn")(params, X, Y)
    assert out["loss"] == pytest.approx(forward_loss(params), rel=1e-13)
    symbptt.check_gradient(forward_loss, params, out, rtol=1e-6)


def test_cells_refuse_the_names_the_contract_owns():
    for name in ("loss", "X", "Y", "h0", "c0", "xi"):
        with pytest.raises(ValueError, match=f"a parameter cannot be called {name}: the contract's files"):
            named_elman(("W_hx", "W_hh", "b_h", name, "b_q"))


def test_cells_refuse_a_name_used_twice():
    W = ex.param("W_hx", ex.h, ex.d)
    with pytest.raises(ValueError, match="W_hx is used twice"):
        ex.Cell("twice", None, (W, W, ex.W_qh, ex.b_q), (ex.h_t,), ((ex.h_t, ex.mul(W, ex.x_t)),), ex.readout())


# ------------------------------------------------------------------ the standalone module


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("cell", "strategy", "values"), [
    ("elman", "full", {}), ("lstm", "window", {"tau": 3}), ("gru", "chunked", {"tau": 2}),
    ("elman", "randomized", {"pi": 0.5, "seed": 7}), ("lstm", "tbptt", {"k1": 2, "k2": 4}),
    ("gru", "last", {"tau": 3})])
def test_saved_source_runs_alone_and_gives_the_same_numbers_bit_for_bit(tmp_path, cell, strategy, values):
    grad = symbptt.compile_gradient(cell, strategy=strategy, **values)
    path = tmp_path / f"saved_{strategy}.py"
    path.write_text(grad.source)
    imports = [n for n in ast.walk(ast.parse(grad.source)) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert [a.name for n in imports for a in n.names] == ["numpy"]  # needs only NumPy
    for name, value in values.items():
        assert f"{name.upper()} = {value!r}" in grad.source  # its arguments written in
    rng = np.random.default_rng(0)
    params = {W.name: rng.uniform(-1, 1, tuple(3 if str(s) != "1" else 1 for s in W.shape)[:2 if W.shape[1] != 1
                                               else 1]) for W in grad.step.cell.params}
    X, Y = rng.standard_normal((7, 2, 3)), rng.standard_normal((7, 2, 3))
    saved = _load(path).grad(params, X, Y)
    ours = grad(params, X, Y)
    assert saved.keys() == ours.keys()
    for name in ours:
        assert np.array_equal(saved[name], ours[name]), name


_ = functools, assert_same
