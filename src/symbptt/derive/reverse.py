"""The reverse derivation at the matrix level: adjoints ∂L/∂v of one step, for any t.

One time step is the ordered list of its named quantities (the cell's gates
and state, ``o_t``, ``l_t``). Reverse mode walks it backward with the rules of
:mod:`symbptt.derive.rules`: every named quantity ``v`` gets its adjoint ``∂L/∂v`` as
the sum of its contributions, the parameters get their contribution at step
``t`` (summed over t in ∂L/∂W), and the previous state ``s_{t-1}`` gets the
part of its adjoint that passes through step ``t``.

The state ``s_t`` also receives :class:`~symbptt.model.matrices.Carry` ``(s_t)``, the
same step's contribution one step later; shifting ``t → t+1`` in it gives the
textbook's adjoint recurrence (E14), and for the linear cell its closed form
(E15) with powers of ``W_hhᵀ``, checked against the recurrence.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from typing import TypeAlias

import sympy as sp

from symbptt.derive import gates, recurrence, rules
from symbptt.derive.steps import Derivation, Step
from symbptt.errors import ProofError
from symbptt.model import matrices as mx
from symbptt.model import symbols
from symbptt.model.cells import Cell, recurrent_weight
from symbptt.model.losses import Loss
from symbptt.model.matrices import MatExpr, Seq
from symbptt.model.symbols import T, t

Pair: TypeAlias = tuple[MatExpr, MatExpr]

BATCH_WEIGHT = 1 / (symbols.B * T)  # ∂L/∂l_t for one sample: L = 1/(B·T) Σ_b Σ_t l_t
TEXTBOOK_WEIGHT = 1 / T  # the textbook's B = 1


@dataclass(frozen=True)
class ReverseStep:
    """The adjoints of one step of ``cell`` under ``loss``, derived once for any t."""

    cell: Cell
    loss: Loss
    weight: sp.Expr  # ∂L/∂l_t
    forward: tuple[Pair, ...]  # (node, definition): the cell's steps, o_t, l_t
    adjoints: tuple[Pair, ...]  # (∂L/∂v, expression) in the order they are computed
    carries: tuple[Pair, ...]  # (s_{t-1}, its adjoint's contribution through step t)
    gradients: tuple[Pair, ...]  # (W, the contribution of step t to ∂L/∂W), parameter order

    @property
    def readout(self) -> Pair:
        """(o_t, its definition): the step's next-to-last equation, read out of the state."""
        return self.forward[-2]

    @property
    def loss_node(self) -> Seq:
        return self.forward[-1][0]

    def carry_into(self, state: Seq) -> MatExpr:
        """∂L/∂s_t's part that comes through step t + 1 (E14's first term)."""
        previous = state.at(t - 1)
        contribution = dict(self.carries).get(previous, mx.zeros(*state.shape))
        return contribution.subs(t, t + 1)


def derive_step(cell: Cell, loss: Loss, weight: sp.Expr = BATCH_WEIGHT) -> ReverseStep:
    """Reverse mode over one step: every adjoint is a sum of VJP-rule contributions."""
    l_t = mx.seq("l", sp.S.One)
    forward = (*cell.steps, (mx.seq("o", cell.readout.shape[0]), cell.readout), (l_t, loss.value))
    # a definition that is a bare quantity (o_t = h_t, PyTorch's RNN without a head) names nothing
    name_of = {definition: node for node, definition in forward if not isinstance(definition, Seq)}
    contributions: defaultdict[MatExpr, list[MatExpr]] = defaultdict(list)
    for state in cell.state:
        contributions[state].append(mx.carry(state))

    adjoints: list[Pair] = []
    for node, definition in reversed(forward):
        if node == l_t:
            adjoint: MatExpr = weight  # the seed: ∂L/∂l_t
        else:
            parts = contributions.pop(node, [])
            if not parts:
                continue
            adjoint = mx.adjoint(node)
            adjoints.append((adjoint, _named(mx.add(*parts), name_of)))
        for leaf, contribution in rules.backprop(definition, adjoint):
            contributions[leaf].append(contribution)

    def total(leaf: MatExpr) -> MatExpr:
        return _named(mx.add(*contributions.get(leaf, []), shape=leaf.shape), name_of)

    carries = tuple((s, total(s)) for s in cell.previous_state)
    gradients = tuple((W, total(W)) for W in cell.params)
    return ReverseStep(cell, loss, weight, forward, tuple(adjoints), carries, gradients)


def _named(expr: MatExpr, name_of: dict[MatExpr, Seq]) -> MatExpr:
    """Forward values written by their names: tanh(W x_t + …) is h_t, so tanh' reads 1 − h_t ⊙ h_t."""
    return expr.xreplace(name_of)


# ------------------------------------------------------------------ the textbook's equations


def _eq(lhs: sp.Basic, rhs: sp.Basic) -> sp.Eq:
    """An equation kept as written (SymPy would decide matrix equations structurally)."""
    return sp.Eq(lhs, rhs, evaluate=False)


def adjoint_recurrence(step: ReverseStep) -> tuple[sp.Eq, ...]:
    """E14: ∂L/∂s_t with the contribution of step t + 1 written out (and E13 at t = T)."""
    shifted = {mx.carry(s): step.carry_into(s) for s in step.cell.state}
    return tuple(_eq(lhs, mx.rebuild(rhs.xreplace(shifted))) for lhs, rhs in step.adjoints if _is_state(step, lhs))


def final_step(step: ReverseStep) -> tuple[sp.Eq, ...]:
    """E13: at t = T nothing comes from a later step."""
    zero = {mx.carry(s): mx.zeros(*s.shape) for s in step.cell.state}
    return tuple(
        _eq(lhs.subs(t, T), mx.rebuild(rhs.xreplace(zero)).subs(t, T))
        for lhs, rhs in step.adjoints if _is_state(step, lhs)
    )


def _is_state(step: ReverseStep, adjoint: MatExpr) -> bool:
    return isinstance(adjoint, mx.Adjoint) and mx.of(adjoint) in step.cell.state


def time_sum(term: MatExpr, index: sp.Symbol, lower: sp.Expr, upper: sp.Expr) -> sp.Sum:
    """Σ_{index=lower}^{upper} term, the term kept as derived.

    (``Sum.__new__`` would canonicalise a matrix term, reordering its factors;
    ``doit`` and ``subs`` still work on the result.)
    """
    return sp.Basic.__new__(sp.Sum, term, sp.Tuple(index, lower, upper))


def summed_gradient(W: sp.MatrixSymbol, contribution: MatExpr) -> sp.Eq:
    """E12, E16: ∂L/∂W = Σ_t (the contribution of step t)."""
    return _eq(mx.adjoint(W), time_sum(contribution, t, sp.S.One, T))


@dataclass(frozen=True)
class ClosedForm:
    """E15: ∂L/∂h_t = Σ_{i=t}^{T} (W_hhᵀ)^{T-i} W_qhᵀ ∂L/∂o_{T+t-i}, when E14's coefficient is constant."""

    coefficient: MatExpr  # c in ∂L/∂h_t = b_t + c ∂L/∂h_{t+1}
    direct: MatExpr  # b_t
    equation: sp.Eq

    def sequence(self) -> recurrence.LinearRecurrence:
        return recurrence.LinearRecurrence(b=lambda k: self.direct.subs(t, k), c=lambda k: self.coefficient)


def closed_form(step: ReverseStep) -> ClosedForm | None:
    """E15 for a one-component state whose E14 is linear with a constant coefficient (the linear cell)."""
    if len(step.cell.state) != 1:
        return None
    (state,) = step.cell.state
    (recur,) = adjoint_recurrence(step)
    following = mx.adjoint(state.at(t + 1))
    coefficient = step.carry_into(state).xreplace({following: sp.Identity(state.shape[0])}).doit()
    if coefficient.has(mx.Seq) or coefficient.free_symbols & {t}:
        return None
    direct = mx.rebuild(recur.rhs.xreplace({following: mx.zeros(*state.shape)}))
    if (mx.add(direct, mx.mul(coefficient, following)) - recur.rhs).doit().expand() != mx.zeros(*state.shape):
        return None  # not linear in ∂L/∂h_{t+1}
    i = sp.Symbol("i", integer=True, positive=True)
    term = mx.mul(sp.MatPow(coefficient, T - i), direct.subs(t, T + t - i))
    return ClosedForm(coefficient, direct, _eq(recur.lhs, time_sum(term, i, t, T)))


def symbolic_proof(form: ClosedForm) -> tuple[sp.Eq, ...]:
    """E15 for symbolic t and T: with c = E14's constant coefficient and b_t its direct term, the chain of
    :func:`recurrence.prove_backward_closed_form` (each rewrite checked there) on the abstract c, b_t."""
    c, b = sp.Symbol("c"), sp.IndexedBase("b")
    definitions = (_eq(c, form.coefficient), _eq(b[t], form.direct))
    return (*definitions, *recurrence.prove_backward_closed_form(c, lambda k: b[k], t, T))


def prove_closed_form(step: ReverseStep, form: ClosedForm, steps: int) -> None:
    """For an explicit T of ``steps``: E13/E14 iterated, E5 read backward and E15 agree at every t."""
    (state,) = step.cell.state
    (recur,) = adjoint_recurrence(step)
    (last,) = final_step(step)
    iterated = {steps: last.rhs.subs(T, steps)}
    for k in range(steps - 1, 0, -1):
        following = mx.adjoint(state.at(k + 1))
        iterated[k] = recur.rhs.subs(t, k).xreplace({following: iterated[k + 1]})
    ordered_products = form.sequence().iterate_backward(steps)
    for k in range(1, steps + 1):
        textbook = form.equation.rhs.subs({T: steps}).subs(t, k).doit()
        general = form.sequence().backward_closed_form(k, steps)
        for name, candidate in (("E15", textbook), ("E5 read backward", general),
                                ("the backward iteration", ordered_products[k - 1])):
            if (candidate - iterated[k]).doit().expand() != mx.zeros(*state.shape):
                msg = f"{name} differs from the adjoint recurrence at t = {k}, T = {steps}"
                raise ProofError(msg)


# ------------------------------------------------------------------ the document's steps


def derivation(cell: Cell, loss: Loss, weight: sp.Expr = TEXTBOOK_WEIGHT, proof_T: int = 4) -> Derivation:
    """E10–E16 for ``cell`` (the textbook's for ``linear``; the same structure for the others)."""
    step = derive_step(cell, loss, weight)
    o_node, l_node = step.readout[0], step.loss_node
    readout = set(cell.readout_params)
    model = tuple(_eq(node, value) for node, value in step.forward[:-1])
    objective = _eq(sp.Symbol("L"), weight * sp.Sum(loss.value, (t, 1, T)))
    gate_adjoints = tuple(_eq(lhs, rhs) for lhs, rhs in step.adjoints
                          if not _is_state(step, lhs) and mx.of(lhs) not in (o_node, l_node))
    steps = [
        Step("eq_bptt_matrix_model", model, blanks=(("cell", cell.title),)),
        Step("eq_bptt_matrix_objective", (objective,)),
        Step("eq_bptt_partial_L_ot", tuple(_eq(lhs, rhs) for lhs, rhs in step.adjoints if mx.of(lhs) == o_node)),
        Step("eq_bptt_partial_L_Wqh", tuple(summed_gradient(W, g) for W, g in step.gradients if W in readout)),
        Step("eq_bptt_partial_L_hT_final_step", final_step(step)),
        Step("eq_bptt_partial_L_ht_recur", adjoint_recurrence(step)),
    ]
    if gate_adjoints:
        steps.append(Step("eq_bptt_partial_L_gates", gate_adjoints))
    form = closed_form(step)
    if form is not None:
        prove_closed_form(step, form, proof_T)
        steps.append(Step("eq_bptt_partial_L_ht", (form.equation,)))
        steps.append(Step("eq_bptt_partial_L_ht_proof", symbolic_proof(form)))
    steps.append(Step("eq_bptt_partial_L_hidden",
                      tuple(summed_gradient(W, g) for W, g in step.gradients if W not in readout)))
    steps.append(Step("eq_bptt_per_step", per_step(step)))
    gate_form = gates.gate_form(cell)
    if gate_form:  # the linear cell has no activation
        steps.append(Step("eq_bptt_gate_form", gate_form))
    return Derivation(cell, tuple(_shown(cell, s) for s in steps))


def per_step(step: ReverseStep) -> tuple[sp.Eq, sp.Eq]:
    """E17 for the recurrent weight W: ∂L/∂W = Σ_t ∂L/∂W|_(t), the derivative by step t's copy of W (the chain
    rule through W's T uses), which is step t's contribution as reverse mode derived it."""
    W = recurrent_weight(step.cell)
    local = mx.StepAdjoint(W.name, t, *W.shape)
    return (_eq(mx.adjoint(W), time_sum(local, t, sp.S.One, T)), _eq(local, dict(step.gradients)[W]))


DISPLAY_NAMES = ("u", "v", "g", "m", "p", "s")  # names for a cell's unnamed inner activations, first free one first


def inner_activations(cell: Cell) -> dict[MatExpr, Seq]:
    """An activation of a compound argument inside a step's value (a formula cell's ``f * tanh(W @ x + …)``),
    given a name: every adjoint repeats it, written out it runs past the margin. Display only: every check
    and every program reads the cell's own steps."""
    values = {value for _, value in cell.steps}
    taken = {node.name for node, _ in cell.steps} | {W.name for W in cell.params} | {"x", "o", "l", "h"}
    free = iter(n for n in DISPLAY_NAMES if n not in taken)
    names: dict[MatExpr, Seq] = {}
    for _, value in cell.steps:
        for sub in sp.preorder_traversal(value):
            if (isinstance(sub, mx.Elementwise) and sub not in values and sub not in names
                    and not isinstance(sub.arg, mx.Seq | sp.MatrixSymbol)):
                name = next(free, None)
                if name is None:
                    return names
                names[sub] = mx.seq(name, sub.shape[0])
    return names


def _replaced(expr: sp.Basic, names: dict[MatExpr, Seq]) -> sp.Basic:
    """``expr`` with ``names`` substituted; a sum over t keeps its term as derived (see :func:`time_sum`)."""
    if isinstance(expr, sp.Sum):
        return time_sum(_replaced(expr.function, names), *expr.limits[0])
    return expr.xreplace(names)


def _shown(cell: Cell, step: Step) -> Step:
    """``step`` with the cell's inner activations by name, at every time it mentions; the model's step gains their
    definitions, each before the first equation that uses it."""
    names = inner_activations(cell)
    if not names:
        return step
    at = {value.subs(t, time): name.at(time) for value, name in names.items() for time in (t, t + 1, t - 1, T)}
    equations = [_eq(eq.lhs, _replaced(eq.rhs, at)) for eq in step.equations]
    if step.label == "eq_bptt_matrix_model":
        defined: list[sp.Basic] = []
        for eq in equations:
            defined += [_eq(name, value) for value, name in names.items() if eq.rhs.has(name)
                        and not any(d.lhs == name for d in defined)]
            defined.append(eq)
        equations = defined
    return dataclasses.replace(step, equations=tuple(equations))
