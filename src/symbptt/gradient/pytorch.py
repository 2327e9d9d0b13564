"""PyTorch's modules in and out: ``from_torch(rnn, head)`` gives the model (a built-in cell in PyTorch's own
parametrization, :mod:`symbptt.model.torch_cells`) and its parameters as float64 arrays; ``to_torch(result,
rnn, head)`` names the gradients as ``rnn.named_parameters()`` and ``head.weight``, ``head.bias`` do.

torch is imported by neither: the modules are read through their attributes. ``nn.RNN`` (tanh, relu),
``nn.GRU`` and ``nn.LSTM`` of any ``num_layers`` and one direction, with or without biases, ``batch_first`` either
way (the arrays given to symbptt stay ``(T, B, d)``); the head an ``nn.Linear`` or None (``o_t = h_t``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from symbptt.errors import NotSupportedError
from symbptt.model import cells, stacked, torch_cells

KINDS = {"RNN": "rnn", "GRU": "gru", "LSTM": "lstm"}


def _kind(rnn: Any) -> str:
    name = type(rnn).__name__
    if name not in KINDS or not hasattr(rnn, "weight_ih_l0"):
        msg = f"from_torch takes torch.nn.RNN, GRU or LSTM; got {name}"
        raise ValueError(msg)
    if rnn.bidirectional or getattr(rnn, "proj_size", 0):
        msg = (f"{name}(bidirectional={rnn.bidirectional}, proj_size={getattr(rnn, 'proj_size', 0)}): symbptt maps "
               "one direction and no projection (bidirectional models are not implemented yet)")
        raise NotSupportedError(msg)
    return KINDS[name]


def _head(head: Any) -> str:
    if head is None:
        return "none"
    if type(head).__name__ != "Linear":
        msg = f"head must be a torch.nn.Linear or None; got {type(head).__name__}"
        raise ValueError(msg)
    return "linear" if head.bias is not None else "linear_nobias"


def model_of(rnn: Any, head: Any = None) -> cells.Cell:
    """The cell of ``rnn`` with ``head``: PyTorch's parametrization, as a built-in cell."""
    return _cell(_kind(rnn), getattr(rnn, "nonlinearity", "tanh"), bool(rnn.bias), _head(head), rnn.num_layers)


@functools.cache  # to_torch asks at every training step; building the cell's expressions costs milliseconds
def _cell(kind: str, activation: str, bias: bool, head: str, layers: int) -> cells.Cell:
    return stacked.stack(torch_cells.torch_cell(kind, activation, bias, head), layers)


def _array(tensor: Any) -> np.ndarray:
    return np.array(tensor.detach().cpu().double().numpy(), dtype=np.float64)


def _blocks(cell: cells.Cell, rnn: Any) -> dict[str, tuple[str, ...]]:
    """PyTorch's parameter name -> the cell's parameters that are its row blocks, in order (the cell lists
    weight_ih's blocks, weight_hh's, then bias_ih's and bias_hh's: :func:`torch_cells.torch_cell`)."""
    n = len(torch_cells.GATES[KINDS[type(rnn).__name__]])
    names = [p.name for p in cell.params]
    parts = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if rnn.bias else ())
    per_layer = len(parts) * n  # a stacked cell lists layer 1's, then layer 2's, …
    return {f"{part}_l{layer}": tuple(names[layer * per_layer + k * n:layer * per_layer + (k + 1) * n])
            for layer in range(rnn.num_layers) for k, part in enumerate(parts)}


def from_torch(rnn: Any, head: Any = None) -> tuple[cells.Cell, dict[str, np.ndarray]]:
    """The model of a PyTorch module and its parameters by the model's names, as float64 NumPy arrays."""
    cell = model_of(rnn, head)
    params: dict[str, np.ndarray] = {}
    for torch_name, blocks in _blocks(cell, rnn).items():
        value = _array(getattr(rnn, torch_name))
        for name, part in zip(blocks, np.split(value, len(blocks)), strict=True):
            params[name] = part
    if head is not None:
        params["W_qh"] = _array(head.weight)
        if head.bias is not None:
            params["b_q"] = _array(head.bias)
    return cell, params


def to_torch(result: Mapping[str, Any], rnn: Any, head: Any = None) -> dict[str, Any]:
    """A compiled gradient's result by PyTorch's names: ``weight_ih_l0``, …, ``head.weight``, ``head.bias``;
    ``loss``, ``h0``, ``c0``, ``hT``, ``cT`` as they are (PyTorch's h_0/h_n have a leading axis of 1)."""
    cell = model_of(rnn, head)
    out: dict[str, Any] = {}
    for torch_name, blocks in _blocks(cell, rnn).items():
        out[torch_name] = np.concatenate([np.asarray(result[b]) for b in blocks])
    if head is not None:
        out["head.weight"] = result["W_qh"]
        if head.bias is not None:
            out["head.bias"] = result["b_q"]
    out |= {k: v for k, v in result.items() if k in ("loss", "h0", "c0", "hT", "cT")}
    return out
