"""The parameters' sums in the backward loop, by blocks of steps: one large product per block.

A parameter's gradient is a sum over t of per-step products (``δ_t x_tᵀ``).
Added step by step, it costs three small products and a sum per step, and at
small sizes each costs the fixed price of a NumPy call; stacked for all t and
added once after the loop, it would hold a (T, B, h) array per adjoint. In
between: the per-step factors the loop computes (``δ_t``) are written into a
buffer of K steps, and every K steps one product adds the block
(``_flat(δ[:n]).T @ _flat(x[t-1:t-1+n])``). K is read at run time (``_block``:
T/8 steps or 8, at most 1 MiB of buffers): eight times fewer products, and
buffers of an eighth of the states the forward pass keeps, so the peak memory
stays within 1.2× of a hand-written BPTT's. Arrays written in place are
needed: the array API dialect (JAX) adds step by step.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from symbptt.codegen import ir, passes
from symbptt.codegen.ir import Assign, Block, Line, Op
from symbptt.codegen.loops import Context, emit
from symbptt.codegen.printing import RowPrinter
from symbptt.model import matrices as mx
from symbptt.model import symbols
from symbptt.model.matrices import MatExpr


def accumulate(ctx: Context, statements: Sequence[Assign]) -> tuple[list[ir.Node], list[ir.Node]]:
    """(before the loop, in the loop) for the loop's unguarded statements, the parameters' sums blocked."""
    sums = [s for s in statements if s.op == Op.ADD and isinstance(s.target, mx.ParamAdjoint)]
    if not ctx.dialect.mutable or not sums:
        return [], emit(ctx, statements, stacked=False)
    storage = ctx.storage
    buffered = sorted({leaf for s in sums for leaf in passes.leaves(s.expr) if leaf in storage.locals}, key=str)
    buffers = {leaf: ctx.name(f"block_{storage.locals[leaf]}") for leaf in buffered}
    T, B, t_ = ctx.name("T"), ctx.name("B"), ctx.name("t")
    K, j, n = ctx.name("K"), ctx.name("j"), ctx.name("n")
    width = " + ".join(ctx.size(leaf) for leaf in buffered)
    setup: list[ir.Node] = [Line(f"{K} = _block({T}, {B} * ({width}))", "steps per block of the parameters' sums")]
    setup += [Line(f"{buffers[leaf]} = {ctx.dialect.empty(f'({K}, {B}, {ctx.size(leaf)})')}") for leaf in buffered]

    def name(leaf: MatExpr) -> str:
        if leaf in buffers:
            return f"{buffers[leaf]}[:{n}]"
        return storage.param(leaf) if isinstance(leaf, sp.MatrixSymbol) else storage.block_name(leaf, n)

    printer = RowPrinter(name, True, {symbols.B: B, symbols.T: T}, ctx.dialect)
    flush = [Line(f"{n} = min({K}, {T} - {t_} + 1)")]
    flush += [Line(f"{storage.param(s.target)} += {printer.reduction(s.expr)}", "E16") for s in sums]
    in_loop = emit(ctx, [s for s in statements if s not in sums], stacked=False)
    in_loop.append(Line(f"{j} = ({t_} - 1) % {K}"))
    in_loop += [Line(f"{buffers[leaf]}[{j}] = {storage.locals[leaf]}") for leaf in buffered]
    in_loop.append(Block(f"if {j} == 0", tuple(flush), comment="the block's first step: add its sums"))
    return setup, in_loop
