"""How well the document's results hold, measured when the document is built.

Each function re-derives a result at a small explicit ``T`` and compares it
with an independent computation, returning the numbers a reader is told:
the scalar closed form (E3 with E7) against ``sympy.diff`` of the unrolled
loss and against central differences; the compiled matrix gradient (E11–E16)
against central differences along random directions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp

from symbptt.codegen.dialects import MATH
from symbptt.codegen.printing import BpttNumPyPrinter
from symbptt.derive.chain import Partial
from symbptt.derive.sensitivity import loss_gradient
from symbptt.derive.size_one import SizeOne
from symbptt.gradient import api, checks
from symbptt.model import cells, graph
from symbptt.model.scalar import h

DIGITS = 30  # the precision of the comparison with sympy.diff


def closed_form(analysis: SizeOne, T: int = 3, seed: int = 0) -> dict[str, float]:
    """E3 with every ∂h_t/∂w from E7, at ``T``, against the derivative of the unrolled graph: ``sympy.diff`` of
    each node's definition, composed forward at a random rational point in ``DIGITS`` + 10 digits (agreeing
    digits), and against central differences of the unrolled loss in float64 (relative difference).

    Node by node rather than ``sympy.diff`` of the nested loss: the same derivative, but a gated cell's nested
    loss at T = 3 takes SymPy minutes to differentiate.
    """
    model, unrolled, sensitivity = analysis.model, analysis.unrolled(T), analysis.sensitivities(T)
    w = model.recurrent_weight
    point = _random_point(unrolled, seed)
    value = {s: sp.Float(v, DIGITS + 10) for s, v in point.items()}
    exact = _objective_slope(unrolled, _forward_slopes(unrolled.definitions, value, w))
    derived = sp.Add(*(loss_gradient(model, w, sp.Integer(s)) for s in range(1, T + 1))) / T  # type: ignore[arg-type]
    derived = derived.xreplace({Partial(h[s], w): sensitivity[s] for s in range(1, T + 1)})
    ours = derived.xreplace(value).evalf(DIGITS + 10)
    digits = _digits(exact, ours)
    nested = unrolled.nested_objective().xreplace({s: v for s, v in point.items() if s != w})
    # on Python floats, printed as the straight-line programs are (relu, sigmoid, H(z, 0) as the package has them)
    loss = sp.lambdify(w, nested, [{"math": math}, "math"], printer=BpttNumPyPrinter(MATH))
    numeric = checks.central_difference(lambda p: loss(p["w"]), {"w": float(point[w])})["w"]
    return {"T": T, "digits": digits, "fd": abs(numeric - float(ours)) / max(abs(float(ours)), 1e-300)}


def _random_point(unrolled: graph.UnrolledGraph, seed: int) -> dict[sp.Basic, sp.Rational]:
    """Every input and parameter of the unrolled graph at a random rational in [-0.9, 0.9]."""
    rng = np.random.default_rng(seed)
    nodes = {node for node, _ in unrolled.definitions}
    inputs = set().union(*(expr.free_symbols | expr.atoms(sp.Indexed) for _, expr in unrolled.definitions))
    return {s: sp.Rational(int(rng.integers(-90, 91)), 100) for s in sorted(inputs - nodes, key=sp.default_sort_key)}


def _forward_slopes(definitions: tuple[tuple[sp.Expr, sp.Expr], ...], value: dict[sp.Basic, sp.Expr],
                    seed: sp.Symbol) -> dict[sp.Basic, sp.Expr]:
    """d(node)/d(seed) of every node, by forward accumulation of each definition's ``sympy.diff`` at ``value``
    (which gains the nodes' values)."""
    slope = {s: sp.Float(1 if s == seed else 0, DIGITS + 10) for s in value}
    for node, expr in definitions:
        args = [a for a in expr.free_symbols | expr.atoms(sp.Indexed) if a in value]
        value[node] = expr.xreplace(value).evalf(DIGITS + 10)
        slope[node] = sum((sp.diff(expr, a).xreplace(value).evalf(DIGITS + 10) * slope[a] for a in args if slope[a]),
                          sp.Float(0, DIGITS + 10))
    return slope


def per_step(analysis: SizeOne, T: int = 3, seed: int = 0) -> int:
    """E17 at ``T``: the weight untied into one copy per step (in every state's definition at that step: h_t,
    and c_t for a two-state cell), the sum of the loss's derivatives by the copies equals its derivative by the
    shared weight (both by forward accumulation at a random point, ``DIGITS`` + 10 digits); the digits they
    agree to."""
    w, unrolled = analysis.model.recurrent_weight, analysis.unrolled(T)
    copies = [sp.Symbol(f"{w}^({s})", real=True) for s in range(1, T + 1)]
    untie = {s: {w: copy} for s, copy in enumerate(copies, start=1)}
    untied = tuple((node, expr.xreplace(untie[int(node.indices[0])]) if node.base in analysis.states else expr)
                   for node, expr in unrolled.definitions)
    point = {s: sp.Float(v, DIGITS + 10) for s, v in _random_point(unrolled, seed).items()}
    tied = _objective_slope(unrolled, _forward_slopes(unrolled.definitions, dict(point), w))
    untied_point = {**point, **{copy: point[w] for copy in copies}}
    summed = sum((_objective_slope(unrolled, _forward_slopes(untied, dict(untied_point), copy)) for copy in copies),
                 sp.S.Zero)
    return _digits(tied, summed)


def _digits(exact: sp.Expr, approximate: sp.Expr) -> int:
    """The significant digits two high-precision numbers agree to, at most ``DIGITS``."""
    gap = abs(exact - approximate)
    return DIGITS if gap == 0 else min(DIGITS, int(-math.log10(float(gap / max(abs(exact), 1e-300)))))


def _objective_slope(unrolled: graph.UnrolledGraph, slope: dict[sp.Basic, sp.Expr]) -> sp.Expr:
    """dL/dw from the slopes of the loss terms: L is linear in them (1/T Σ_t l_t)."""
    objective = unrolled.objective
    terms = objective.free_symbols | objective.atoms(sp.Indexed)
    return sum((sp.diff(objective, l_t) * slope[l_t] for l_t in terms if l_t in slope), sp.S.Zero)


def matrix_gradient(cell: cells.Cell, T: int = 4, directions: int = 3, seed: int = 0) -> dict[str, Any]:
    """The compiled gradient of ``cell`` (squared loss, full) against central differences along random
    directions: the largest relative difference of the directional derivatives (``fd``), with the ``T``, ``B``
    and number of ``directions`` it was measured at, which the document quotes."""
    grad = api.compile_gradient(cell, loss="squared")
    rng = np.random.default_rng(seed)
    d, n, q, B = 3, 4, 2, 2
    sizes = {"d": d, "h": n, "q": q}
    params = {W.name: rng.uniform(-0.6, 0.6, size=tuple(sizes[str(s)] for s in api._storage_shape(W)))
              for W in grad.step.cell.params}
    X, Y = rng.uniform(-1, 1, size=(T, B, d)), rng.uniform(-1, 1, size=(T, B, q))
    result = grad(params, X, Y)
    along = checks.directional(lambda p: grad(p, X, Y)["loss"], params, result, directions, seed=seed)
    fd = max(abs(analytic - numeric) / max(abs(analytic), 1e-300) for analytic, numeric, _ in along)
    return {"T": T, "B": B, "directions": directions, "fd": fd}


def scientific(value: float) -> str:
    """A small number as LaTeX to one significant digit, ``3 \\cdot 10^{-11}`` (9.6e-10 is ``1 \\cdot 10^{-9}``)."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.0e}".split("e")
    return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
