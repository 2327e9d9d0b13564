"""The loops of a compiled gradient, scheduled from the derived equations alone.

- forward: the cell's step equations in a loop over t; every product that does
  not depend on the previous state (``W_hx x_t + b_h``) is computed before the
  loop for all t at once (hoisting, several parts per definition allowed);
- the readout, the loss and ``∂L/∂o_t`` for all t at once: they do not feed the
  recurrence;
- backward: the adjoint equations for t = T..1. The strategy decides what is
  carried across ``s_{t-1} → s_t``: one carry under a condition printed from
  its ``start(t)`` and scaled by its multiplier (full, chunked, last,
  randomized), or, where loss terms with different starts share a state
  (window, tbptt), the travelling adjoints stacked on one axis, each with the
  first state it reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import sympy as sp

from symbptt.codegen import ir, passes
from symbptt.codegen.dialects import NUMPY, Dialect
from symbptt.codegen.ir import Assign, Block, Line, Op
from symbptt.codegen.printing import IndexPrinter, Kind, RowPrinter
from symbptt.codegen.storage import Storage
from symbptt.derive import strategies
from symbptt.derive.reverse import ReverseStep
from symbptt.model import matrices as mx
from symbptt.model import symbols
from symbptt.model.matrices import MatExpr, Seq
from symbptt.model.symbols import t


class Outputs(NamedTuple):
    """What ``core`` returns beside the loss and ∂L/∂W (the contract's "Models"): each a compile-time choice."""

    initial_state_grad: bool = False  # ∂L/∂s_0 under the strategy's cut: h0 (and c0)
    final_state: bool = False  # s_T: hT (and cT)


GRADIENTS_ONLY = Outputs()


@dataclass
class Context:
    """What every block of one generated function shares."""

    step: ReverseStep
    strategy: strategies.Strategy
    storage: Storage
    dialect: Dialect = NUMPY
    outputs: Outputs = GRADIENTS_ONLY

    def name(self, hint: str) -> str:
        return self.storage.names.of(hint, hint)

    def size(self, node: MatExpr) -> str:
        return self.name(f"dim_{node.shape[0]}")

    def printer(self, stacked: bool) -> RowPrinter:
        sizes = {symbols.B: self.name("B"), symbols.T: self.name("T")}
        sizes |= {size: self.name(f"dim_{size}") for size in (symbols.d, symbols.h, symbols.q)}  # mse's 1/q
        return RowPrinter(self.storage.stacked_name if stacked else self.storage.step_name, stacked, sizes,
                          self.dialect)

    def index(self, expr: sp.Expr) -> str:
        """An integer expression of t, T and the strategy's lengths, in plain Python."""
        names = {t: self.name("t"), symbols.T: self.name("T")}
        names |= {symbol: self.name(str(symbol)) for _, symbol in self.strategy.symbols}
        return IndexPrinter(names).doprint(expr)

    def fresh(self, hint: Callable[[MatExpr], str]) -> Callable[[MatExpr], MatExpr]:
        """A maker of temporaries named by what they hold (``delta_h``), for common subexpressions."""

        def make(value: MatExpr) -> MatExpr:
            name = self.storage.names.fresh(hint(value))  # two temporaries never share a name, or a leaf
            temp = Seq(name, t, *value.shape)
            self.storage.locals[temp] = name
            return temp

        return make


def temporary_hint(value: MatExpr) -> str:
    """``delta_h`` for a product with an adjoint of h, ``pre_h`` for one of h alone, ``tmp`` otherwise."""
    seqs = sorted(value.atoms(Seq), key=lambda s: (not isinstance(s, mx.Adjoint | mx.Carry), str(s)))
    if not seqs:
        return "tmp"
    kind = "delta" if isinstance(seqs[0], mx.Adjoint | mx.Carry) else "pre"
    return f"{kind}_{seqs[0].name}"


def equation_of(step: ReverseStep, target: MatExpr) -> str:
    """The textbook equation a statement implements, for the comment of its line."""
    o_node = step.readout[0]
    if isinstance(target, mx.Adjoint):
        if mx.of(target) == o_node:
            return "E11"
        return "E13, E14" if mx.of(target) in step.cell.state else ""
    if isinstance(target, mx.Carry):
        return "E14"
    if isinstance(target, mx.ParamAdjoint):
        return "E12" if target.name in {W.name for W in step.cell.readout_params} else "E16"
    return ""


# ------------------------------------------------------------------ emitting statements


def emit(ctx: Context, statements: Sequence[Assign], stacked: bool) -> list[ir.Node]:
    """Assign statements as lines; a stacked sum is built in place, its product first."""
    printer, out = ctx.printer(stacked), list[ir.Node]()
    for statement in statements:
        target, comment = statement.target, equation_of(ctx.step, statement.target)
        if isinstance(target, sp.MatrixSymbol):
            name = ctx.storage.param(target) if isinstance(target, mx.ParamAdjoint) else ctx.name(target.name)
            out.append(Line(f"{name} {statement.op} {printer.reduction(statement.expr)}", comment))
            continue
        name = ctx.storage.stacked_name(target) if stacked else ctx.storage.step_name(target)
        if stacked and statement.op == Op.SET and isinstance(statement.expr, sp.MatAdd) and ctx.dialect.mutable:
            out += _sum_in_place(printer, name, statement.expr, comment)
        else:
            text = printer.doprint(statement.expr)
            line = _into(text, name, ctx.dialect) if statement.op == Op.SET else f"{name} {statement.op} {text}"
            out.append(Line(line, comment))
    return out


def _into(text: str, name: str, dialect: Dialect) -> str:
    """``name = text``; under Numba, ``_tanh(z, name)`` for ``name = _tanh(z)`` into a slice: tanh written straight
    into h_t, with no copy (the forward step of every tanh cell), and so for a gate's ``_sigmoid``."""
    kernel = next((k for k in ("_tanh", "_sigmoid") if text.startswith(f"{k}(")), None)
    if dialect.typed and "[" in name and kernel is not None and _closes_at_end(text, len(kernel)):
        return f"{text[:-1]}, {name})"
    return f"{name} = {text}"


def _closes_at_end(text: str, opening: int) -> bool:
    """Whether the parenthesis at ``opening`` closes at the text's last character."""
    depth = 0
    for k in range(opening, len(text)):
        depth += {"(": 1, ")": -1}.get(text[k], 0)
        if depth == 0:
            return k == len(text) - 1
    return False


def _sum_in_place(printer: RowPrinter, name: str, expr: sp.MatAdd, comment: str) -> list[ir.Node]:
    """``name = a + b + …`` over all t without a temporary per ``+``: the product first, into ``name``."""
    terms = [printer.code(term) for term in expr.args]
    first = next((c for c in terms if c.product is not None), None)
    if first is None or first.product is None:
        return [Line(f"{name} = {printer.doprint(expr)}", comment)]
    stack, matrix = first.product
    into = (Line(f"_matmul({stack}, {matrix}, out={name})", comment) if "[" in name  # a slice: filled in place
            else Line(f"{name} = _matmul({stack}, {matrix})", comment))
    rest = [Line(f"{name} -= {term.negated.text}" if term.negated else
                 f"_add_rows({name}, {term.text})" if printer.dialect.typed and term.kind == Kind.PARAM else
                 f"{name} += {term.text}")  # a bias under Numba: its broadcast loop is slow
            for term in terms if term is not first]
    return [into, *rest]


# ------------------------------------------------------------------ forward and readout


def forward(ctx: Context) -> list[ir.Node]:
    """E1 (E10): the cell's step equations, t = 1..T, state-independent products hoisted."""
    cell, storage, mutable = ctx.step.cell, ctx.storage, ctx.dialect.mutable
    nodes = [node for node, _ in cell.steps]
    storage.first.update({s.name: 1 for s in cell.state})
    storage.first.update({n.name: 0 for n in nodes if n not in cell.state})

    def buffer(statement: Assign, n: int, whole: bool) -> Seq:
        """The first hoisted part goes into the node's own buffer (if it may be written in place, or is the
        whole node); further ones into buffers of their own."""
        if n == 0 and (mutable or whole):
            return statement.target
        extra = Seq(f"pre_{statement.target.name}", t, *statement.target.shape)
        storage.first[extra.name] = 0
        return extra

    before, loop = passes.hoist([Assign(node, value) for node, value in cell.steps],
                                set(cell.previous_state) | set(nodes), buffer)
    hoisted = {s.target for s in before}
    looped = [node for node in nodes if node in {s.target for s in loop}]
    T, B = ctx.name("T"), ctx.name("B")
    out: list[ir.Node] = [ir.Blank(), ir.Blank("forward: the cell's step equations, t = 1..T")]
    if mutable:
        for node in nodes:
            if node in cell.state or node not in hoisted:  # a hoisted part's buffer is made by its statement
                shape = f"({T} + {storage.first[node.name]}, {B}, {ctx.size(node)})"
                out.append(Line(f"{storage.array(node.name)} = {ctx.dialect.empty(shape)}"))
        for s in cell.state:
            out.append(Line(f"{storage.array(s.name)}[0] = {ctx.name(s.name + '0')}"))
        for extra in (s.target for s in before if s.target not in nodes):
            out.append(Line(f"{storage.array(extra.name)} = {ctx.dialect.empty(f'({T}, {B}, {ctx.size(extra)})')}"))
    else:  # a list per node the loop makes, stacked after it
        out += [Line(f"{storage.array(node.name)} = [{ctx.name(node.name + '0') if node in cell.state else ''}]")
                for node in looped]
    out += emit(ctx, before, stacked=True)
    if mutable:
        out.append(Block(f"for {ctx.name('t')} in range(1, {T} + 1)", tuple(emit(ctx, loop, stacked=False))))
        return out
    printer = ctx.printer(stacked=False)
    appends = tuple(Line(f"{storage.array(s.target.name)}.append({printer.doprint(s.expr)})") for s in loop)
    out.append(Block(f"for {ctx.name('t')} in range(1, {T} + 1)", appends))
    return out + [Line(f"{storage.array(n.name)} = xp.stack({storage.array(n.name)})") for n in looped]


def readout(ctx: Context) -> tuple[list[ir.Node], dict[MatExpr, MatExpr]]:
    """E11: the readout, the loss and ∂L/∂o_t for all t at once; returns the adjoints left for the loop."""
    step, storage = ctx.step, ctx.storage
    o_node = step.readout[0]
    adjoints = dict(step.adjoints)
    o_adjoint = mx.adjoint(o_node)
    storage.first.update({o_node.name: 0, f"dL_d{o_node.name}": 0})
    total_loss = sp.MatrixSymbol("loss", 1, 1)
    block = [Assign(o_node, step.readout[1]), Assign(total_loss, mx.mul(step.weight, step.forward[-1][1])),
             Assign(o_adjoint, adjoints.pop(o_adjoint))]
    block = passes.eliminate_common(block, ctx.fresh(temporary_hint))
    out: list[ir.Node] = [ir.Blank(), ir.Blank("the readout and the loss, and their adjoints, for all t at once")]
    return out + emit(ctx, block, stacked=True), adjoints
