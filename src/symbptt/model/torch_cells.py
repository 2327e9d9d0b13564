"""PyTorch's recurrent cells in PyTorch's own parametrization: ``nn.RNN``, ``nn.GRU`` and ``nn.LSTM`` of one
layer, both bias vectors of every gate kept apart, and the head ``nn.Linear`` (or none: ``o_t = h_t``).

Built-in cells like the contract's, written in the same matrix vocabulary, so the engine derives their
gradients; :mod:`symbptt.gradient.pytorch` maps a module's weights in and the gradients back. The
parameters are PyTorch's per-gate blocks by the names its documentation gives them (``W_ii``, ``b_hi``,
…): ``weight_ih_l0`` stacks ``W_ii, W_if, W_ig, W_io`` for an LSTM, ``W_ir, W_iz, W_in`` for a GRU.

- RNN: ``h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``, φ tanh or relu;
- GRU: ``r_t, z_t = σ(W_i• x_t + b_i• + W_h• h_{t-1} + b_h•)``, ``n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn
  h_{t-1} + b_hn))``, ``h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}`` (the reset gate after the product);
- LSTM: ``i_t, f_t, og_t = σ(…)``, ``g_t = tanh(…)``, ``c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t``,
  ``h_t = og_t ⊙ tanh(c_t)`` (PyTorch's ``o_t`` is ``og_t`` here: ``o_t`` is the readout).
"""

from __future__ import annotations

import sympy as sp

from symbptt.model import matrices as mx
from symbptt.model import ops
from symbptt.model.cells import Cell, c_prev, c_t, h_prev, h_t, param, sigma, tanh, x_t
from symbptt.model.matrices import MatExpr
from symbptt.model.symbols import d, h, q

GATES = {"rnn": ("h",), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}  # PyTorch's order of the blocks


def _blocks(kind: str, bias: bool) -> dict[str, tuple[sp.MatrixSymbol, ...]]:
    """Each gate's (W_i•, W_h•, b_i•, b_h•), PyTorch's blocks of weight_ih, weight_hh, bias_ih, bias_hh."""
    out = {}
    for gate in GATES[kind]:
        names = ("W_ih", "W_hh", "b_ih", "b_hh") if kind == "rnn" else (f"W_i{gate}", f"W_h{gate}", f"b_i{gate}",
                                                                        f"b_h{gate}")
        weights = (param(names[0], h, d), param(names[1], h, h))
        out[gate] = weights + ((param(names[2], h), param(names[3], h)) if bias else ())
    return out


def _affine(W: sp.MatrixSymbol, b: tuple[sp.MatrixSymbol, ...], v: MatExpr) -> MatExpr:
    return mx.add(mx.mul(W, v), *b)


def _gate(block: tuple[sp.MatrixSymbol, ...], phi: sp.Lambda = sigma) -> MatExpr:
    W_i, W_h, *b = block
    return mx.elementwise(phi, mx.add(_affine(W_i, tuple(b[:1]), x_t), _affine(W_h, tuple(b[1:]), h_prev)))


def _readout(head: str) -> tuple[MatExpr, tuple[sp.MatrixSymbol, ...]]:
    """o_t and its parameters: ``linear`` (nn.Linear), ``linear_nobias``, or ``none`` (o_t = h_t)."""
    if head == "none":
        return h_t, ()
    W_qh = param("W_qh", q, h)
    if head == "linear_nobias":
        return mx.mul(W_qh, h_t), (W_qh,)
    b_q = param("b_q", q)
    return mx.add(mx.mul(W_qh, h_t), b_q), (W_qh, b_q)


def torch_cell(kind: str, activation: str = "tanh", bias: bool = True, head: str = "linear") -> Cell:
    """PyTorch's ``kind`` (rnn, gru, lstm) of one layer, with or without biases, and its head."""
    blocks = _blocks(kind, bias)
    readout, head_params = _readout(head)
    name = f"torch_{kind}" + (f"_{activation}" if kind == "rnn" else "") + ("" if bias else "_nobias")
    if kind == "rnn":
        phi = mx.scalar_function(ops.activation(activation))
        steps: tuple[tuple[mx.Seq, MatExpr], ...] = ((h_t, _gate(blocks["h"], phi)),)
        return Cell(name, None, _ordered(kind, blocks) + head_params, (h_t,), steps, readout)
    if kind == "gru":
        r_t, z_t, n_t = mx.seq("r", h), mx.seq("z", h), mx.seq("n", h)
        W_in, W_hn, *b = blocks["n"]
        candidate = mx.add(_affine(W_in, tuple(b[:1]), x_t), mx.hadamard(r_t, _affine(W_hn, tuple(b[1:]), h_prev)))
        steps = ((r_t, _gate(blocks["r"])), (z_t, _gate(blocks["z"])), (n_t, mx.elementwise(tanh, candidate)),
                 (h_t, mx.add(mx.hadamard(mx.add(mx.ones_like(z_t), mx.mul(-1, z_t)), n_t),
                              mx.hadamard(z_t, h_prev))))
        return Cell(name, None, _ordered(kind, blocks) + head_params, (h_t,), steps, readout)
    i_t, f_t, g_t, og_t = mx.seq("i", h), mx.seq("f", h), mx.seq("g", h), mx.seq("og", h)
    steps = ((i_t, _gate(blocks["i"])), (f_t, _gate(blocks["f"])), (g_t, _gate(blocks["g"], tanh)),
             (og_t, _gate(blocks["o"])), (c_t, mx.add(mx.hadamard(f_t, c_prev), mx.hadamard(i_t, g_t))),
             (h_t, mx.hadamard(og_t, mx.elementwise(tanh, c_t))))
    return Cell(name, None, _ordered(kind, blocks) + head_params, (h_t, c_t), steps, readout)


def _ordered(kind: str, blocks: dict[str, tuple[sp.MatrixSymbol, ...]]) -> tuple[sp.MatrixSymbol, ...]:
    """The parameters in PyTorch's order: weight_ih's blocks, weight_hh's, bias_ih's, bias_hh's."""
    return tuple(blocks[gate][k] for k in range(len(blocks[GATES[kind][0]])) for gate in GATES[kind])

