"""The model unrolled over T steps: a computation graph (DAG) with a symbol per node.

Every ``h_t``, ``o_t`` and ``l_t`` stays a symbol whose definition refers to
the symbols of the step before (DESIGN: keep h_t as symbols; nesting the
definitions blows up exponentially and hits the recursion limit).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

import sympy as sp

from symbptt import arguments
from symbptt.model import cells
from symbptt.model.scalar import L, ScalarModel, checked_model, generic, h, l_node, o, x, y

Expr: TypeAlias = sp.Expr


MAX_STEPS = 10_000  # a graph, a derivation or a program written out step by step grows with T: beyond, use the
# symbolic-t derivation, or the compiled gradient, whose work does not grow with T


def check_steps(T: object, name: str = "T", at_most: int = MAX_STEPS) -> int:
    """T as an int from 1 to ``at_most``, or a ValueError naming the value."""
    return arguments.positive_int(T, name, at_most=at_most)


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

    def figure(self) -> Figure:
        """The textbook's drawing of this graph."""
        return Figure((h,), self.model.hidden_params, self.model.readout_params, self.T)

    def to_dot(self) -> str:
        return self.figure().to_dot()


PARAMETERS_PER_BOX = 3  # more parameters than this are drawn as one box θ, its names three to a line


@dataclass(frozen=True)
class Figure:
    """The unrolled graph as the textbook draws it (fig_rnn_bptt), for a cell of any number of states: in each
    step, x_t and the previous states enter f, which gives the states; h_t enters g, which gives o_t; o_t and y_t
    enter l, which gives l_t; the mean of the l_t is L."""

    states: tuple[sp.IndexedBase, ...]  # h first, then a cell's other states (the LSTM's c)
    hidden: tuple[sp.Symbol, ...]  # the parameters of f
    readout: tuple[sp.Symbol, ...]  # the parameters of g
    T: int
    cuts: frozenset[int] | None = None  # draw the reverse flow, these k's transitions s_{k-1} -> s_k cut; None: don't

    def _params(self, params: tuple[sp.Symbol, ...], name: str) -> list[tuple[str, str]]:
        """(node id, label) of the boxes that stand for ``params``: one each, or one θ box for many."""
        if len(params) <= PARAMETERS_PER_BOX:
            return [(_node_id(p), _label(p)) for p in params]
        names = [_label(p)[1:-1] for p in params]  # the HTML inside <…>
        rows = range(0, len(names), PARAMETERS_PER_BOX)
        text = "<br/>".join(", ".join(names[k:k + PARAMETERS_PER_BOX]) for k in rows)
        return [(f"theta_{name}", f"<<i>θ</i><sub>{name}</sub>: {text}>")]

    def edges(self) -> Iterator[tuple[str, str]]:
        """(from, to) pairs: variable → operator → variable."""
        hidden = [n for n, _ in self._params(self.hidden, "h")]
        readout = [n for n, _ in self._params(self.readout, "o")]
        for k in range(1, self.T + 1):
            f_k = _operator_id(h[k])
            for source in (_node_id(x[k]), *(_node_id(s[k - 1]) for s in self.states), *hidden):
                yield source, f_k
            yield from ((f_k, _node_id(s[k])) for s in self.states)
            for source in (_node_id(h[k]), *readout):
                yield source, _operator_id(o[k])
            yield _operator_id(o[k]), _node_id(o[k])
            for source in (_node_id(o[k]), _node_id(y[k])):
                yield source, _operator_id(l_node[k])
            yield _operator_id(l_node[k]), _node_id(l_node[k])
        for k in range(1, self.T + 1):
            yield _node_id(l_node[k]), "op_L"
        yield "op_L", "L"

    def to_dot(self) -> str:
        """Graphviz DOT: one column per time step, one row per kind of node (x, the states with f between them, g,
        o, l and y, l), subscripts as subscripts, parameters shaded, operators as circles."""
        lines = ["digraph unrolled {", "  rankdir=BT; newrank=true; nodesep=0.35; ranksep=0.3;",
                 '  node [fontname="Helvetica", fontsize=14];']
        hidden, readout = self._params(self.hidden, "h"), self._params(self.readout, "o")
        shaded = 'shape=box, style=filled, fillcolor="#dde8f5"'
        lines.extend(f"  {node} [label={label}, {shaded}];" for node, label in (*hidden, *readout))
        steps = range(1, self.T + 1)
        variables = [*(s[k] for s in self.states for k in range(0, self.T + 1)),
                     *(v[k] for v in (x, o, y, l_node) for k in steps)]
        lines.extend(f"  {_node_id(var)} [label={_label(var)}, shape=box];" for var in variables)
        for k in steps:
            for node, name in ((h[k], "f"), (o[k], "g"), (l_node[k], "l")):
                lines.append(f'  {_operator_id(node)} [label="{name}", shape=circle, width=0.35, fixedsize=true];')
        lines.append('  op_L [label="mean", shape=circle];')
        lines.append('  L [label="L", shape=box, style=filled, fillcolor="#f5e0dd"];')
        # rows, as in the figure: x_t (then the parameters of f) at the bottom; h_0, f, h_1, f, h_2, … left to right
        # (the recurrence runs along the row, another state beside h: h_0, c_0, f, h_1, c_1, …); g and its parameters;
        # o_t; l and y_t; l_t. Invisible edges keep the rows of x, the states, o and y in time order.
        rows = [
            [*(_node_id(x[k]) for k in steps), *(n for n, _ in hidden)],
            [*(_node_id(s[0]) for s in self.states),
             *(n for k in steps for n in (_operator_id(h[k]), *(_node_id(s[k]) for s in self.states)))],
            [*(_operator_id(o[k]) for k in steps), *(n for n, _ in readout)],
            [_node_id(o[k]) for k in steps],
            [n for k in steps for n in (_node_id(y[k]), _operator_id(l_node[k]))],
            [_node_id(l_node[k]) for k in steps],
        ]
        lines.extend(f"  {{rank=same; {'; '.join(row)};}}" for row in rows)
        # one group per step: Graphviz keeps a group's nodes in one column where it can
        for k in steps:
            column = [x[k], *(s[k] for s in self.states), o[k], l_node[k]]
            members = [*(_node_id(n) for n in column), *(_operator_id(n) for n in (h[k], o[k], l_node[k]))]
            lines.extend(f"  {m} [group=t{k}];" for m in members)
        edges = list(self.edges())
        drawn = set(edges)
        for row in (rows[0], rows[1], rows[3], rows[4]):
            lines.extend(f"  {a} -> {b} [style=invis];" for a, b in itertools.pairwise(row) if (a, b) not in drawn)
        lines.extend(f"  {a} -> {b};" for a, b in edges)
        if self.cuts is not None:
            lines.extend(self._reverse_flow(self.cuts))
        lines.append("}")
        return "\n".join(lines) + "\n"


    def _reverse_flow(self, cuts: frozenset[int]) -> list[str]:
        """The gradient's way back, ∂L/∂s_k → ∂L/∂s_{k-1} along every state, dashed red; a transition no loss term's
        gradient crosses is drawn as a cut (dotted grey, a bar for a head)."""
        flow = 'color="#c0392b", style=dashed, penwidth=1.4'
        cut = 'color="#999999", style=dotted, arrowhead=tee, penwidth=1.4'
        return [f"  {_node_id(s[k])}:n -> {_node_id(s[k - 1])}:n [constraint=false, {cut if k in cuts else flow}];"
                for s in self.states for k in range(self.T, 0, -1)]


def figure(cell: cells.Cell | None, T: int, cuts: frozenset[int] | None = None) -> Figure:
    """The textbook's drawing of ``cell`` (None: the generic model) unrolled over ``T`` steps, every state in it;
    with ``cuts``, also the gradient's reverse flow with those transitions cut."""
    T = check_steps(T)
    if cell is None:
        return dataclasses.replace(unroll(generic(), T).figure(), cuts=cuts)
    readout = set(cell.readout_params)
    return Figure(tuple(sp.IndexedBase(s.name) for s in cell.state),
                  tuple(sp.Symbol(W.name) for W in cell.params if W not in readout),
                  tuple(sp.Symbol(W.name) for W in cell.readout_params), T, cuts)


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
    """The computation graph of ``model`` (a ScalarModel, or one's name) over ``T`` steps (``T ≥ 1``)."""
    model = checked_model(model)
    T = check_steps(T)
    definitions = tuple(d for k in range(1, T + 1) for d in step_definitions(model, sp.Integer(k)))
    objective = sp.Add(*(l_node[k] for k in range(1, T + 1))) / T
    return UnrolledGraph(model, T, definitions, objective)


__all__ = ["L", "Figure", "figure", "UnrolledGraph", "check_steps", "step_definitions", "unroll"]
