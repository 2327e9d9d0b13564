"""E18: a cell's gates in the cheatsheet's form, Γ = σ(W x_t + U s + b), and its activations with their derivatives.

The gates are read off the cell's own steps (an activation of an affine
argument: parameter-times-quantity terms and a bias), and reassembled to check
the reading. Each activation's derivative is the rule the engine uses (its
``fdiff``, written on the forward value), checked against ``sympy.diff`` of
the activation's elementary definition.
"""

from __future__ import annotations

from typing import TypeAlias

import sympy as sp

from symbptt.errors import ProofError
from symbptt.model import matrices as mx
from symbptt.model import ops
from symbptt.model.cells import Cell

Expr: TypeAlias = sp.Expr

z = sp.Symbol("z", real=True)
CHECK_POINTS = (-3, -sp.Rational(1, 2), sp.Rational(1, 3), 2)  # where a piecewise rule (relu') is compared


Reading: TypeAlias = tuple[tuple[sp.MatrixSymbol, mx.MatExpr], ...]


def affine_terms(arg: mx.MatExpr, params: set[sp.MatrixSymbol]) -> Reading | None:
    """``arg`` = Σ P_k v_k + b as ((P_k, v_k), …, (b, 1)), or None when it is not of that form."""
    terms = arg.args if isinstance(arg, sp.MatAdd) else (arg,)
    read: list[tuple[sp.MatrixSymbol, mx.MatExpr]] = []
    for term in terms:
        if term in params:
            read.append((term, sp.S.One))
        elif isinstance(term, sp.MatMul) and len(term.args) == 2 and term.args[0] in params \
                and not term.args[1].atoms(sp.MatrixSymbol) & params:
            read.append((term.args[0], term.args[1]))
        else:
            return None
    return tuple(read)


def gate_equations(cell: Cell) -> tuple[sp.Eq, ...]:
    """Each step of ``cell`` that is an activation of an affine argument, φ(Σ P v + b); a sigmoid gate (not a
    state) also named Γ, as the cheatsheet does. The reading is checked: reassembled, it is the cell's step."""
    params = set(cell.params)
    equations = []
    for node, value in cell.steps:
        if not isinstance(value, mx.Elementwise):
            continue
        terms = affine_terms(value.arg, params)
        if terms is None:
            continue
        rebuilt = mx.add(*(P if v == 1 else mx.mul(P, v) for P, v in terms))
        if rebuilt != value.arg:
            msg = f"the gate {node.name} does not reassemble from its reading"
            raise ProofError(msg)
        step = sp.Eq(node, value, evaluate=False)
        if value.function(z) == ops.sigmoid(z) and node not in cell.state:  # a gate: Γ_r = r_t = σ(…)
            step = sp.Eq(sp.Symbol(rf"\Gamma_{{{node.name}}}"), step, evaluate=False)
        equations.append(step)
    return tuple(equations)


def activations(cell: Cell) -> tuple[sp.Lambda, ...]:
    """The cell's elementwise functions, each once, in the order the steps use them."""
    seen: list[sp.Lambda] = []
    for _, value in cell.steps:
        for sub in sp.preorder_traversal(value):
            if isinstance(sub, mx.Elementwise) and sub.function not in seen:
                seen.append(sub.function)
    return tuple(seen)


def derivative_equations(function: sp.Lambda) -> tuple[sp.Eq, sp.Eq]:
    """φ(z) = its elementary definition, φ'(z) = the engine's rule on φ(z); checked against sympy.diff of the
    definition (symbolically, or at points on both sides of a kink)."""
    applied = function(z)
    definition = applied.rewrite(sp.exp).rewrite(sp.Max)
    rule = sp.diff(applied, z)  # the function's fdiff: the rule the adjoints use
    reference = sp.diff(definition, z)
    rule_elementary = rule.rewrite(sp.exp).rewrite(sp.Max)
    if sp.simplify(rule_elementary - reference) != 0:
        differences = [sp.simplify((rule_elementary - reference).subs(z, p)) for p in CHECK_POINTS]
        if any(d != 0 for d in differences):
            msg = f"the derivative rule of {applied} differs from the derivative of its definition"
            raise ProofError(msg)
    return (sp.Eq(applied, definition, evaluate=False), sp.Eq(sp.Derivative(applied, z), rule, evaluate=False))


def gate_form(cell: Cell) -> tuple[sp.Eq, ...]:
    """E18's equations: the gates, then every activation the cell uses with its derivative."""
    functions = [f for f in activations(cell) if f(z) != z]
    return (*gate_equations(cell), *(eq for f in functions for eq in derivative_equations(f)))
