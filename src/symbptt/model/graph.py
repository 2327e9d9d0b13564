"""The model unrolled over T steps: a computation graph (DAG) with a symbol per node.

Every ``h_t``, ``o_t`` and ``l_t`` stays a symbol whose definition refers to
the symbols of the step before (DESIGN: keep h_t as symbols; nesting the
definitions blows up exponentially and hits the recursion limit).
"""

from __future__ import annotations

import itertools
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
        """The graph in Graphviz DOT as the textbook draws it (fig_rnn_bptt): one column per time step, one row
        per kind of node (x, f, h, g, o, l, y), subscripts as subscripts, parameters shaded, operators as circles."""
        lines = ["digraph unrolled {", "  rankdir=BT; newrank=true; nodesep=0.35; ranksep=0.3;",
                 '  node [fontname="Helvetica", fontsize=14];']
        for param in self.model.params:
            shaded = 'style=filled, fillcolor="#dde8f5"'
            lines.append(f"  {_node_id(param)} [label={_label(param)}, shape=box, {shaded}];")
        variables = [*self.inputs, *(node for node, _ in self.definitions)]
        for var in variables:
            lines.append(f"  {_node_id(var)} [label={_label(var)}, shape=box];")
        for node, _ in self.definitions:
            name = {h: "f", o: "g", l_node: "l"}[node.base]
            lines.append(f'  {_operator_id(node)} [label="{name}", shape=circle, width=0.35, fixedsize=true];')
        lines.append('  op_L [label="mean", shape=circle];')
        lines.append('  L [label="L", shape=box, style=filled, fillcolor="#f5e0dd"];')
        # rows, as in the figure: x_t (then w_h) at the bottom; h_0, f, h_1, f, h_2, … left to right (the recurrence
        # runs along the row); g and w_o; o_t; l and y_t; l_t. Invisible edges keep x and o in time order.
        steps = range(1, self.T + 1)
        hidden, readout = self.model.hidden_params, self.model.readout_params
        rows = [
            [*(_node_id(x[k]) for k in steps), *(_node_id(p) for p in hidden)],
            [_node_id(h[0]), *(n for k in steps for n in (_operator_id(h[k]), _node_id(h[k])))],
            [*(_operator_id(o[k]) for k in steps), *(_node_id(p) for p in readout)],
            [_node_id(o[k]) for k in steps],
            [n for k in steps for n in (_node_id(y[k]), _operator_id(l_node[k]))],
            [_node_id(l_node[k]) for k in steps],
        ]
        lines.extend(f"  {{rank=same; {'; '.join(row)};}}" for row in rows)
        # one group per step: Graphviz keeps a group's nodes in one column where it can
        for k in steps:
            column = [x[k], h[k], o[k], l_node[k]]
            members = [*(_node_id(n) for n in column), *(_operator_id(n) for n in column[1:])]
            lines.extend(f"  {m} [group=t{k}];" for m in members)
        for row in (rows[0], rows[3], rows[4]):
            lines.extend(f"  {a} -> {b} [style=invis];" for a, b in itertools.pairwise(row))
        lines.extend(f"  {a} -> {b};" for a, b in self.edges())
        lines.append("}")
        return "\n".join(lines) + "\n"


def _node_id(node: Expr) -> str:
    if isinstance(node, sp.Indexed):
        return f"{node.base}_{node.indices[0]}"
    return str(node)


def _label(node: Expr) -> str:
    """A Graphviz HTML label with the subscript set as a subscript: <h<sub>1</sub>>, <W<sub>hh</sub>>."""
    if isinstance(node, sp.Indexed):
        return f"<<i>{node.base}</i><sub>{node.indices[0]}</sub>>"
    head, _, tail = str(node).partition("_")
    return f"<<i>{head}</i><sub>{tail}</sub>>" if tail else f"<<i>{head}</i>>"


def _operator_id(node: Expr) -> str:
    return f"op_{_node_id(node)}"


def unroll(model: ScalarModel, T: int) -> UnrolledGraph:
    """The computation graph of ``model`` over ``T`` steps (``T ≥ 1``)."""
    T = check_steps(T)
    definitions = tuple(d for k in range(1, T + 1) for d in step_definitions(model, sp.Integer(k)))
    objective = sp.Add(*(l_node[k] for k in range(1, T + 1))) / T
    return UnrolledGraph(model, T, definitions, objective)


__all__ = ["L", "UnrolledGraph", "check_steps", "step_definitions", "unroll"]
