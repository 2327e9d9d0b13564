"""The model unrolled over T steps: a computation graph (DAG) with a symbol per node.

Every ``h_t``, ``o_t`` and ``l_t`` stays a symbol whose definition refers to
the symbols of the step before (DESIGN: keep h_t as symbols; nesting the
definitions blows up exponentially and hits the recursion limit).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

import sympy as sp

from symbptt import arguments
from symbptt.model.scalar import L, ScalarModel, h, l_node, o, x, y

Expr: TypeAlias = sp.Expr


def check_steps(T: object, name: str = "T") -> int:
    """T as an int ≥ 1, or a ValueError naming the value."""
    return arguments.positive_int(T, name)


def step_definitions(model: ScalarModel, t: Expr) -> tuple[tuple[Expr, Expr], ...]:
    """The three definitions of step t: h_t = f(x_t, h_{t-1}), o_t = g(h_t), l_t = l(y_t, o_t)."""
    return (
        (h[t], model.step(x[t], h[t - 1])),
        (o[t], model.readout(h[t])),
        (l_node[t], model.loss(y[t], o[t])),
    )


@dataclass(frozen=True)
class UnrolledGraph:
    """The model over ``T`` steps: definitions in topological order, and the objective."""

    model: ScalarModel
    T: int
    definitions: tuple[tuple[Expr, Expr], ...]  # (node, expression), h_1, o_1, l_1, h_2, …
    objective: Expr  # L = 1/T Σ_t l_t, in the l_t symbols

    @property
    def inputs(self) -> tuple[Expr, ...]:
        return (h[0], *(x[k] for k in range(1, self.T + 1)), *(y[k] for k in range(1, self.T + 1)))

    def definition(self, node: Expr) -> Expr:
        return dict(self.definitions)[node]

    def nested(self, node: Expr) -> Expr:
        """The node as one nested expression of inputs and parameters (small T only)."""
        expr = node
        for target, value in reversed(self.definitions):
            expr = expr.xreplace({target: value})
        return expr

    def nested_objective(self) -> Expr:
        return self.nested(self.objective)

    def edges(self) -> Iterator[tuple[str, str]]:
        """(from, to) pairs: variable → operator → variable, as in the textbook's figure."""
        known = {*self.inputs, *self.model.params, *(node for node, _ in self.definitions)}
        for node, expr in self.definitions:
            op = _operator_id(node)
            for arg in sorted(expr.free_symbols | expr.atoms(sp.Indexed), key=sp.default_sort_key):
                if arg in known:
                    yield _node_id(arg), op
            yield op, _node_id(node)
        for node, _ in self.definitions:
            if node.base == l_node:
                yield _node_id(node), "op_L"
        yield "op_L", "L"

    def to_dot(self) -> str:
        """The graph in Graphviz DOT: boxes for variables and parameters, circles for operators."""
        lines = ["digraph unrolled {", "  rankdir=BT;", '  node [fontname="Helvetica"];']
        for param in self.model.params:
            lines.append(f'  {_node_id(param)} [label="{param}", shape=box, style=filled, fillcolor="#dde8f5"];')
        variables = [*self.inputs, *(node for node, _ in self.definitions)]
        for var in variables:
            lines.append(f'  {_node_id(var)} [label="{_label(var)}", shape=box];')
        for node, _ in self.definitions:
            name = {h: "f", o: "g", l_node: "l"}[node.base]
            lines.append(f'  {_operator_id(node)} [label="{name}", shape=circle];')
        lines.append('  op_L [label="mean", shape=circle];')
        lines.append('  L [label="L", shape=box, style=filled, fillcolor="#f5e0dd"];')
        lines.extend(f"  {a} -> {b};" for a, b in self.edges())
        lines.append("}")
        return "\n".join(lines) + "\n"


def _node_id(node: Expr) -> str:
    if isinstance(node, sp.Indexed):
        return f"{node.base}_{node.indices[0]}"
    return str(node)


def _label(node: Expr) -> str:
    return _node_id(node)


def _operator_id(node: Expr) -> str:
    return f"op_{_node_id(node)}"


def unroll(model: ScalarModel, T: int) -> UnrolledGraph:
    """The computation graph of ``model`` over ``T`` steps (``T ≥ 1``)."""
    T = check_steps(T)
    definitions = tuple(d for k in range(1, T + 1) for d in step_definitions(model, sp.Integer(k)))
    objective = sp.Add(*(l_node[k] for k in range(1, T + 1))) / T
    return UnrolledGraph(model, T, definitions, objective)


__all__ = ["L", "UnrolledGraph", "check_steps", "step_definitions", "unroll"]
