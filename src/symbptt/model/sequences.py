"""Sequences of different lengths and one label per sequence, as the model itself (the contract's "Models").

A padded step is an identity transition: with the mask ``m_t`` (1 at the real
steps ``t ≤ len_b`` of sample ``b``, 0 after), every state reads

    s_t = s̃_t m_t + s_{t-1} (1 − m_t),   s̃_t the cell's own step,

so the state passes unchanged through the padding, and the reverse derivation
derives the adjoints of the masked cell as of any other (nothing is written by
hand). The objective weighs each loss term by ``ω_t`` (per sample):
``1[t ≤ len_b] / Σ_b len_b`` for a loss at every step, ``1[t = len_b] / B`` for
``loss_at="last"``. Both are per-sample sequences of one entry, inputs of the
compiled gradient like ``x_t``.
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from symbptt.model import cells
from symbptt.model import matrices as mx
from symbptt.model.matrices import Seq
from symbptt.model.symbols import t

MASK = mx.seq("len_mask", sp.S.One)  # m_t: 1 at a real step, 0 at a padded one
WEIGHT = mx.seq("loss_weight", sp.S.One)  # ω_t = ∂L/∂l_t
LOSS_AT = ("every", "last")


def own_step(state: Seq) -> Seq:
    """s̃_t, the cell's own step for the state s_t before the mask."""
    return mx.seq(f"{state.name}_step", state.shape[0])


def masked(cell: cells.Cell) -> cells.Cell:
    """The cell whose every state passes unchanged where ``m_t = 0`` (a padded step)."""
    names = {node.name for node, _ in cell.steps} | {p.name for p in cell.params}
    taken = sorted(names & {MASK.name, WEIGHT.name, *(own_step(s).name for s in cell.state)})
    if taken:
        msg = (f"cell {cell.name!r}: {', '.join(taken)} is the name padded sequences use for themselves; "
               "rename it to use lengths")
        raise ValueError(msg)
    keep = mx.add(sp.OneMatrix(1, 1), mx.mul(-1, MASK))
    steps: list[tuple[Seq, mx.MatExpr]] = []
    for node, value in cell.steps:
        if node in cell.state:
            steps += [(own_step(node), value), (node, mx.add(mx.mul(own_step(node), MASK),
                                                             mx.mul(node.at(t - 1), keep)))]
        else:
            steps.append((node, value))
    return replace(cell, steps=tuple(steps))


def check_loss_at(value: object) -> str:
    if value not in LOSS_AT:
        msg = f"loss_at must be one of {', '.join(LOSS_AT)}; got {value!r}"
        raise ValueError(msg)
    return str(value)


def inputs(cell: cells.Cell, weight: object) -> tuple[Seq, ...]:
    """The per-sample sequences a compiled step reads besides x_t and y_t: the mask, the loss weights."""
    leaves = set().union(*(value.atoms(Seq) for _, value in cell.steps))
    return (*((MASK,) if MASK in leaves else ()), *((WEIGHT,) if weight == WEIGHT else ()))
