"""Passes over the IR: loop-invariant hoisting, common subexpressions, pruning, releasing dead arrays.

Each pass is a function from statements to statements (tangent's
``optimization``): the first three on :class:`ir.Assign` lists of derived
equations, the last on the emitted function body.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import sympy as sp

from symbptt.codegen import ir
from symbptt.codegen.ir import Assign, Op
from symbptt.model import matrices as mx
from symbptt.model.matrices import MatExpr, Seq


def leaves(expr: Any) -> set[MatExpr]:
    if not mx.is_matrix(expr):
        return set()
    return set(expr.atoms(Seq)) | set(expr.atoms(sp.MatrixSymbol))


def batched(expr: Any) -> bool:
    """Per sample (it reads a time-indexed quantity), not a parameter-only expression."""
    return mx.is_matrix(expr) and bool(expr.atoms(Seq))


def has_product(expr: Any) -> bool:
    """A matrix product over the samples: W x_t, not a scalar times a matrix."""
    return batched(expr) and any(len(m.as_coeff_matrices()[1]) > 1 for m in expr.atoms(sp.MatMul))


def is_trivial(expr: Any) -> bool:
    """Not worth a name of its own: a leaf, a constant, or the transpose of a leaf."""
    if not mx.is_matrix(expr) or isinstance(expr, (Seq, sp.MatrixSymbol, sp.OneMatrix, sp.ZeroMatrix)):
        return True
    return isinstance(expr, sp.Transpose) and is_trivial(expr.arg)


# ------------------------------------------------------------------ hoisting


def hoist(statements: Sequence[Assign], carried: Collection[MatExpr], buffer: Callable[[Assign, int, bool], Seq]
          ) -> tuple[list[Assign], list[Assign]]:
    """Split out, for all t at once, every matrix product that does not depend on ``carried``.

    Returns the stacked statements to run before the loop and the loop's statements;
    ``buffer(statement, n, whole)`` names the n-th hoisted part of a statement
    (``whole``: the part is the statement's entire value). A sum's
    independent terms are hoisted together (``W_hx x_t + b_h``). Only products
    are worth it: one large product over all t beats T small ones, while an
    elementwise part would only cost a stacked buffer.
    """
    before: list[Assign] = []
    made: dict[MatExpr, Seq] = {}
    per_statement: Counter[Assign] = Counter()

    def independent(expr: Any) -> bool:
        return not (leaves(expr) & set(carried))

    def temporary(expr: MatExpr, statement: Assign) -> Seq:
        if expr not in made:
            made[expr] = buffer(statement, per_statement[statement], expr == statement.expr)
            per_statement[statement] += 1
            before.append(Assign(made[expr], expr))
        return made[expr]

    def visit(expr: Any, statement: Assign) -> Any:
        if not mx.is_matrix(expr) or is_trivial(expr):
            return expr
        if independent(expr) and has_product(expr):
            return temporary(expr, statement)
        if isinstance(expr, sp.MatAdd):
            fixed = [a for a in expr.args if independent(a)]
            if any(has_product(a) for a in fixed):
                rest = [visit(a, statement) for a in expr.args if not independent(a)]
                return mx.add(temporary(mx.add(*fixed), statement), *rest)
        return mx.rebuild(expr.func(*(visit(a, statement) for a in expr.args)))

    loop = [Assign(s.target, visit(s.expr, s), s.op, s.guarded) for s in statements]
    return before, [s for s in loop if s.expr != s.target]  # a gate hoisted whole needs no step


# ------------------------------------------------------------------ common subexpressions


def eliminate_common(statements: Sequence[Assign], fresh: Callable[[MatExpr], MatExpr]) -> list[Assign]:
    """Statements with each subexpression used twice or more computed once, just before its first use."""
    counts: Counter[MatExpr] = Counter()

    def count(expr: Any) -> None:
        if is_trivial(expr):
            return
        counts[expr] += 1
        if counts[expr] == 1:
            for arg in expr.args:
                count(arg)

    for statement in statements:
        count(statement.expr)
        if not is_trivial(statement.expr):
            counts[statement.expr] -= 1  # the statement's own value is already named
    common = sorted((e for e, n in counts.items() if n >= 2 and batched(e)), key=_size)
    names: dict[MatExpr, MatExpr] = {}
    definitions: list[tuple[MatExpr, MatExpr]] = []
    for expr in common:
        value = expr.xreplace(names)
        names[expr] = fresh(value)
        definitions.append((names[expr], value))
    rewritten = [Assign(s.target, s.expr.xreplace(names) if s.expr not in names else names[s.expr],
                        s.op, s.guarded) for s in statements]
    # each temporary just before the first statement (or temporary) that reads it
    out: list[Assign] = []
    pending = list(definitions)
    for statement in rewritten:
        needed = _closure(leaves(statement.expr), pending)
        for temp, value in [d for d in pending if d[0] in needed]:
            out.append(Assign(temp, value, Op.SET, statement.guarded))
        pending = [d for d in pending if d[0] not in needed]
        out.append(statement)
    return out


def _size(expr: sp.Basic) -> int:
    return sum(1 for _ in sp.preorder_traversal(expr))


def _closure(wanted: set[MatExpr], definitions: list[tuple[MatExpr, MatExpr]]) -> set[MatExpr]:
    """The temporaries ``wanted`` needs, directly or through other temporaries."""
    needed: set[MatExpr] = set()
    for temp, value in reversed(definitions):
        if temp in wanted or temp in needed:
            needed.add(temp)
            wanted = wanted | leaves(value)
    return needed


# ------------------------------------------------------------------ pruning


def prune(statements: Sequence[Assign], outputs: Iterable[MatExpr]) -> list[Assign]:
    """Only the statements the outputs depend on."""
    live = set(outputs)
    kept = []
    for statement in reversed(statements):
        if statement.target in live:
            kept.append(statement)
            live |= leaves(statement.expr)
    return kept[::-1]


# ------------------------------------------------------------------ releasing dead arrays


def release_dead_arrays(body: Sequence[ir.Node], keep: Collection[str]) -> list[ir.Node]:
    """A ``del`` after the last top-level statement that reads each array the body assigned.

    Stacked arrays are as large as the data (T·B·h floats): keeping the dead
    ones until ``return`` would raise the peak memory for nothing. ``keep``
    are names never released (the arguments, the sizes, what is returned).
    """
    last_read: dict[str, int] = {}
    assigned: set[str] = set()
    for position, node in enumerate(body):
        for name in ir.reads(node):
            last_read[name] = position
        assigned |= ir.sure_writes(node)
    dead: dict[int, list[str]] = {}
    for name, position in last_read.items():
        if name in assigned and name not in keep and position < len(body) - 2:
            dead.setdefault(position, []).append(name)
    out: list[ir.Node] = []
    for position, node in enumerate(body):
        out.append(node)
        if position in dead:
            out.append(ir.Del(tuple(sorted(dead[position]))))
    return out
