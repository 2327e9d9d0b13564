"""Stacked layers (the contract's "Models", PyTorch's ``num_layers``): one cell of L layers, derived like any.

Layer 1 reads ``x_t``; layer ℓ ≥ 2 reads layer ℓ − 1's state at the same step, ``h^(ℓ−1)_t``; the readout
reads the last layer's. Every quantity and parameter of layer ℓ is the cell's own, named ``NAME_l{ℓ}``
(the readout's ``W_qh``, ``b_q`` keep their names), and a layer ℓ ≥ 2's input weights are ``(h, h)``. The
state is every layer's: ``(h_l1, …, h_lL)``, then ``(c_l1, …, c_lL)`` for a cell of two states, so a
strategy cuts the transition s_{t−1} → s_t of every layer at once, and never a layer-to-layer edge (they
lie within one step). The initial states are passed as ``(L, B, h)``, PyTorch's layout.
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from symbptt import arguments
from symbptt.model import cells
from symbptt.model import matrices as mx
from symbptt.model.matrices import Seq
from symbptt.model.symbols import d, h, t

MAX_LAYERS = 16


def layer_name(name: str, layer: int) -> str:
    return f"{name}_l{layer}"


def stack(cell: cells.Cell, layers: object) -> cells.Cell:
    """``cell`` stacked ``layers`` deep (1: the cell itself)."""
    L = arguments.positive_int(layers, "layers", at_most=MAX_LAYERS)
    if L == 1:
        return cell
    if cell.layers != 1:
        msg = f"cell {cell.name!r} is stacked already ({cell.layers} layers)"
        raise ValueError(msg)
    readout_params = set(cell.readout_params)
    hidden = [W for W in cell.params if W not in readout_params]
    top = cell.state[0]
    steps: list[tuple[Seq, mx.MatExpr]] = []
    params: list[sp.MatrixSymbol] = []
    for layer in range(1, L + 1):
        rename: dict[sp.Basic, sp.Basic] = {}
        for W in hidden:
            rows, cols = W.shape
            shaped = (rows, h if cols == d and layer > 1 else cols)  # a layer above reads a state of h
            rename[W] = sp.MatrixSymbol(layer_name(W.name, layer), *shaped)
        for node, _ in cell.steps:
            for offset in (0, -1):
                rename[node.at(t + offset)] = mx.seq(layer_name(node.name, layer), node.shape[0], offset)
        if layer > 1:
            rename[cells.x_t] = mx.seq(layer_name(top.name, layer - 1), top.shape[0])
        params += [rename[W] for W in hidden]
        steps += [(rename[node], value.xreplace(rename)) for node, value in cell.steps]
    last = {s: mx.seq(layer_name(s.name, L), s.shape[0]) for s in cell.state}
    states = tuple(mx.seq(layer_name(s.name, layer), s.shape[0]) for s in cell.state for layer in range(1, L + 1))
    return replace(cell, name=f"{cell.name}_x{L}", params=(*params, *cell.readout_params), state=states,
                   steps=tuple(steps), readout=cell.readout.xreplace(last), layers=L)
