"""A cell of two states (the LSTM's h_t and c_t) at size one: the model of the two-state analysis (E1–E9).

Every matrix operation becomes its scalar one (:func:`scalar.scalar_of`), as in
the one-state view; the state is the pair (h_t, c_t).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import sympy as sp

from symbptt.errors import NotSupportedError
from symbptt.model import cells, symbols
from symbptt.model import matrices as mx
from symbptt.model.scalar import h, scalar_of, squared, x

Expr: TypeAlias = sp.Expr

c = sp.IndexedBase("c")  # the cell state


@dataclass(frozen=True)
class TwoStateModel:
    """h_t, c_t = f(x_t, h_{t-1}, c_{t-1}), o_t = g(h_t), loss l(y_t, o_t): a two-state cell at size one."""

    name: str
    hidden_params: tuple[sp.Symbol, ...]
    readout_params: tuple[sp.Symbol, ...]
    recurrent_weight: sp.Symbol
    values: Callable[[Expr, Expr, Expr], dict[sp.Basic, Expr]]  # (x_t, h_{t-1}, c_{t-1}) -> every node's value
    nodes: tuple[tuple[str, mx.Seq], ...]  # (name, node) in step order; the states last
    readout: Callable[[Expr], Expr]
    loss: Callable[[Expr, Expr], Expr] = squared
    activation: None = None

    @property
    def title(self) -> str:
        return self.name

    def step(self, t: Expr) -> tuple[Expr, Expr]:
        """(h_t, c_t) in terms of x_t, h_{t-1}, c_{t-1} and the parameters."""
        env = self.values(x[t], h[t - 1], c[t - 1])
        return env[self.node("h")], env[self.node("c")]

    def node(self, name: str) -> mx.Seq:
        return dict(self.nodes)[name]

    def names(self, t: Expr) -> dict[Expr, Expr]:
        """Each intermediate value at t mapped to its name (i_t, f_t, …, c_t): how the equations are shown."""
        env = self.values(x[t], h[t - 1], c[t - 1])
        return {env[node]: sp.IndexedBase(name)[t] for name, node in self.nodes if name != "h"}


def view(cell: cells.Cell) -> TwoStateModel:
    """The size-1 view of a cell whose state is (h, c)."""
    if not supports(cell):
        msg = f"the two-state analysis needs the state (h, c); the {cell.name} cell has {[s.name for s in cell.state]}"
        raise NotSupportedError(msg)
    h_t, c_t = cell.state
    symbol = {W: sp.Symbol(W.name, real=True) for W in cell.params}

    def values(x_t: Expr, h_prev: Expr, c_prev: Expr) -> dict[sp.Basic, Expr]:
        previous = symbols.t - 1
        env: dict[sp.Basic, Expr] = {cells.x_t: x_t, h_t.at(previous): h_prev, c_t.at(previous): c_prev, **symbol}
        for node, value in cell.steps:
            env[node] = scalar_of(value, env)
        return env

    return TwoStateModel(
        name=cell.name,
        hidden_params=tuple(symbol[W] for W in cell.params if W not in cell.readout_params),
        readout_params=tuple(symbol[W] for W in cell.readout_params),
        recurrent_weight=symbol[cells.recurrent_weight(cell)],
        values=values,
        nodes=tuple((node.name, node) for node, _ in cell.steps),
        readout=lambda h_value: scalar_of(cell.readout, {h_t: h_value, **symbol}),
    )


def supports(cell: cells.Cell) -> bool:
    """Whether :func:`view` takes the cell: its state is (h, c)."""
    return tuple(s.name for s in cell.state) == ("h", "c")
