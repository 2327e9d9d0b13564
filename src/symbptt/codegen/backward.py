"""The backward loop of a compiled gradient: the adjoint equations, t = T..1, under a strategy.

Both forms come from the strategy object (:mod:`symbptt.derive.strategies`):

- one carry (full, chunked, last, randomized: at every state the loss terms
  that reach it share their first state): ``∂L/∂s_t``'s part from step t + 1
  crosses ``s_{t-1} → s_t`` when ``start(t) ≤ t − 1``, scaled by ``m_t``;
- travelling adjoints (window, tbptt): each loss term's adjoint travels with the
  first state it reaches, youngest first, those with the same start merged.

A loss term that reaches no state (``start(t) > t``: tbptt, last) still
reaches the readout: its ``∂L/∂o_t`` enters the loop masked.
"""

from __future__ import annotations

import sympy as sp

from symbptt.codegen import blocks, ir, passes
from symbptt.codegen.ir import Assign, Block, Line, Op
from symbptt.codegen.loops import Context, emit, temporary_hint
from symbptt.codegen.storage import key
from symbptt.derive.reverse import ReverseStep
from symbptt.model import matrices as mx
from symbptt.model.matrices import MatExpr, Seq
from symbptt.model.symbols import t


def backward(ctx: Context, adjoints: dict[MatExpr, MatExpr]) -> list[ir.Node]:
    """The gradients: those that need no carried adjoint at once, the others summed in the loop."""
    step, storage, strategy = ctx.step, ctx.storage, ctx.strategy
    cell = step.cell
    out: list[ir.Node] = [ir.Blank(), ir.Blank("backward: the adjoint equations, t = T..1")]
    o_adjoint = mx.adjoint(step.readout[0])
    if strategy.drops_terms:  # l_t with start(t) > t reaches the readout only
        reached = Seq(f"dL_d{o_adjoint.name}_reached", t, *o_adjoint.shape)
        storage.first[reached.name] = 0
        T_, t_ = ctx.name("T"), ctx.name("t")
        mask = f"[{ctx.index(strategy.start(t))} <= {t_} for {t_} in range(1, {T_} + 1)]"
        o_stack = storage.stacked_name(o_adjoint)
        out.append(Line(f"{storage.array(reached.name)} = {o_stack} * _mask({mask}, {o_stack})",
                        "loss terms that reach a state"))
        adjoints = {lhs: rhs.xreplace({o_adjoint: reached}) for lhs, rhs in adjoints.items()}

    carried: set[MatExpr] = {mx.carry(s) for s in cell.state} | set(adjoints)
    for lhs in adjoints:
        storage.local(lhs)
    for s in cell.state:
        storage.local(mx.carry(s))
    looped = [(W, g) for W, g in step.gradients if passes.leaves(g) & carried]  # they read a carried adjoint
    out += emit(ctx, [Assign(mx.adjoint(W), g) for W, g in step.gradients if (W, g) not in looped], stacked=True)
    out += [Line(f"{storage.param(mx.adjoint(W))} = {ctx.dialect.module}.zeros_like({storage.param(W)})")
            for W, _ in looped]
    body = [Assign(lhs, rhs) for lhs, rhs in adjoints.items()] + [Assign(mx.adjoint(W), g, Op.ADD) for W, g in looped]
    if strategy.overlapping:
        return out + _travelling_loop(ctx, body, adjoints)
    carries = [Assign(mx.carry(s), dict(step.carries)[p], guarded=True)
               for s, p in zip(cell.state, cell.previous_state, strict=True)]
    return out + _carry_loop(ctx, passes.eliminate_common(body + carries, ctx.fresh(temporary_hint)))


def _carry_loop(ctx: Context, body: list[Assign]) -> list[ir.Node]:
    """One carry per state component, across s_{t-1} → s_t when start(t) ≤ t − 1, scaled by m_t."""
    strategy, storage, state = ctx.strategy, ctx.storage, ctx.step.cell.state
    carries = ", ".join(storage.locals[mx.carry(s)] for s in state)
    x = storage.array("x")
    zeros = ", ".join(ctx.dialect.zero_carry(f"({ctx.name('B')}, {ctx.size(s)})", x) for s in state)
    t_ = ctx.name("t")
    condition = [f"{t_} > 1"]
    if strategy.start(t) != 1:
        condition.append(f"{ctx.index(strategy.start(t))} <= {t_} - 1")
    printer = ctx.printer(stacked=False)
    values = unscaled = [printer.doprint(s.expr) for s in body if isinstance(s.target, mx.Carry)]
    multiplier = strategy.multiplier(t)
    if multiplier != 1:
        scale = ctx.index(multiplier)
        condition.append(f"{scale} != 0")
        values = [f"{scale} * ({v})" for v in values]
    guarded = [s for s in body if s.guarded and not isinstance(s.target, mx.Carry)]
    otherwise: tuple[ir.Node, ...] = (Line(f"{carries} = {zeros}"),)
    if ctx.outputs.initial_state_grad:  # at t = 1 the carry crosses s_0 -> s_1 (never weighted): ∂L/∂s_0
        into_s0: tuple[ir.Node, ...] = (*emit(ctx, guarded, stacked=False),
                                        Line(f"{carries} = {', '.join(unscaled)}", "E14, into s_0"))
        reaches = strategy.reaches_initial(sp.S.One)
        if reaches is not sp.true:  # not reached: zeros shaped as s_0, which is returned
            arrays = ", ".join(ctx.dialect.zeros(f"({ctx.name('B')}, {ctx.size(s)})", x) for s in state)
            into_s0 = (Block(f"if {ctx.index(reaches)}", into_s0,
                             orelse=(Line(f"{carries} = {arrays}", "s_0 not reached"),)),)
        otherwise = (Block(f"if {t_} == 1", into_s0, orelse=otherwise,
                           comment="∂L/∂s_0, the initial state's gradient"),)
    crossing = Block(f"if {' and '.join(condition)}",
                     (*emit(ctx, guarded, stacked=False), Line(f"{carries} = {', '.join(values)}", "E14")),
                     orelse=otherwise, comment="carry ∂L/∂s_t back across s_(t-1) -> s_t")
    setup, step_nodes = blocks.accumulate(ctx, [s for s in body if not s.guarded])
    loop_body = (*step_nodes, crossing)
    return [*setup, Line(f"{carries} = {zeros}"), Block(f"for {t_} in range({ctx.name('T')}, 0, -1)", loop_body)]


def _travelling_loop(ctx: Context, body: list[Assign], adjoints: dict[MatExpr, MatExpr]) -> list[ir.Node]:
    """Each loss term's adjoint travels with the first state it reaches; the travelling ones ride stacked."""
    step, storage, state = ctx.step, ctx.storage, ctx.step.cell.state
    o_adjoint = mx.adjoint(step.readout[0])
    directs = _direct_parts(step, adjoints)
    direct = {s: Seq(f"direct_{s.name}", t, *s.shape) for s, part in directs.items() if not mx.is_zero(part)}
    direct_statements = [Assign(direct[s], directs[s]) for s in direct]
    for seq in direct.values():
        storage.local(seq)
    # ∂L/∂s_t reads l_t's direct part by its name
    shared = {directs[s]: direct[s] for s in direct}
    body = [Assign(a.target, _replace_term(a.expr, shared), a.op, a.guarded) for a in body]
    loop = passes.eliminate_common(direct_statements + body, ctx.fresh(temporary_hint))
    pending = {s: ctx.name(f"pending_{s.name}") for s in state}
    firsts, t_, B = ctx.name("pending_first"), ctx.name("t"), ctx.name("B")

    # the transition's VJP on the travelling adjoints: no loss term enters, they arrive as `arrive_s`
    arrive = {mx.carry(s): Seq(f"arrive_{s.name}", t, *s.shape) for s in state}
    for a in arrive.values():
        storage.local(a)
    renames = {lhs: Seq(f"travel_{key(lhs)}", t, *lhs.shape) for lhs, _ in step.adjoints}
    zero_o = {o_adjoint: mx.zeros(*o_adjoint.shape)}
    vjp = [Assign(renames[lhs], mx.rebuild(rhs.xreplace(zero_o)).xreplace(arrive).xreplace(renames))
           for lhs, rhs in step.adjoints if lhs != o_adjoint]
    outputs = [Assign(Seq(f"pending_{s.name}", t, *s.shape), dict(step.carries)[p].xreplace(renames))
               for s, p in zip(state, step.cell.previous_state, strict=True)]
    for statement in vjp:
        storage.local(statement.target)
    for s, statement in zip(state, outputs, strict=True):
        storage.locals[statement.target] = pending[s]
    program = passes.eliminate_common(passes.prune(vjp + outputs, [o.target for o in outputs]),
                                      ctx.fresh(temporary_hint))
    joined = [ctx.name(hint) for hint in ("joins", "merge", "keep")]
    # with ∂L/∂s_0 asked, each adjoint is keyed by its first state before it is bounded by s_1: at t = 1 those
    # whose first is at most 0 cross into s_0, the others stop
    first = ctx.strategy.first(t) if ctx.outputs.initial_state_grad else ctx.strategy.start(t)
    join = [Line(f"{firsts}, {', '.join(joined)} = _join_firsts({firsts}, {ctx.index(first)}, {t_})",
                 "E8: the adjoints young enough")]
    join += [Line(f"{storage.locals[arrive[mx.carry(s)]]} = _join_stack({pending[s]}, "
                  f"{storage.locals[direct[s]] if s in direct else 'None'}, {', '.join(joined)})") for s in state]
    crossing = Block(f"if len({firsts}) > 0", tuple(emit(ctx, program, stacked=False)),
                     orelse=tuple(Line(f"{pending[s]} = {storage.locals[arrive[mx.carry(s)]]}") for s in state))
    np = ctx.dialect.module
    setup, step_nodes = blocks.accumulate(ctx, loop)
    joining: tuple[ir.Node, ...] = (*join, crossing)
    if not ctx.outputs.initial_state_grad:  # else at t = 1 too: the adjoints that reach s_0 are left pending
        joining = (Block(f"if {t_} > 1", joining),)
    arrived = [Line(f"{storage.locals[mx.carry(s)]} = {np}.sum({pending[s]}, axis=0)") for s in state]
    loop_body = (*arrived, *step_nodes, *joining)
    x = storage.array("x")
    start = [Line(f"{pending[s]} = {ctx.dialect.zeros(f'(0, {B}, {ctx.size(s)})', x)}", "adjoints still travelling")
             for s in state]
    out = [*setup, *start,
           Line(f"{firsts} = numpy.zeros(0, dtype=numpy.int64)", "the first state each of them reaches"),
           Block(f"for {t_} in range({ctx.name('T')}, 0, -1)", loop_body)]
    if ctx.outputs.initial_state_grad:  # the carried adjoint names hold ∂L/∂s_0 after the loop, as in one carry
        out += [Line(line.code, "∂L/∂s_0") for line in arrived]
    return out


def _direct_parts(step: ReverseStep, adjoints: dict[MatExpr, MatExpr]) -> dict[Seq, MatExpr]:
    """The part of ∂L/∂s_t that comes from the loss term l_t through the readout."""
    zero = {lhs: mx.zeros(*lhs.shape) for lhs in adjoints if mx.of(lhs) not in step.cell.state}
    zero |= {mx.carry(s): mx.zeros(*s.shape) for s in step.cell.state}
    zero |= {mx.adjoint(s): mx.zeros(*s.shape) for s in step.cell.state}
    return {s: mx.rebuild(adjoints[mx.adjoint(s)].xreplace(zero)) if mx.adjoint(s) in adjoints
            else mx.zeros(*s.shape) for s in step.cell.state}


def _replace_term(expr: MatExpr, terms: dict[MatExpr, MatExpr]) -> MatExpr:
    """A sum with some of its terms replaced by names (``xreplace`` of the whole term, not inside it)."""
    if isinstance(expr, sp.MatAdd):
        return mx.add(*(terms.get(a, a) for a in expr.args))
    return terms.get(expr, expr)
