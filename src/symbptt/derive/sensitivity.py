"""The pieces of E1-E7: the model's equations, the chain rule for E3 and E4, b_t and c_t, the sensitivity sequence.

Also how a gated cell is shown: its gates by name (``gate_names``, ``named``),
for display only. The whole derivations are assembled in :mod:`forward`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TypeAlias

import sympy as sp
from sympy.core.function import AppliedUndef

from symbptt.derive import chain, recurrence
from symbptt.derive.chain import Partial
from symbptt.errors import ProofError
from symbptt.model import graph
from symbptt.model.scalar import L, ScalarModel, h, o, x, y
from symbptt.model.symbols import T, t

Expr: TypeAlias = sp.Expr


# ------------------------------------------------------------------ the pieces of E1–E7


def model_equations(model: ScalarModel, t: Expr = t) -> tuple[sp.Eq, ...]:
    """E1: h_t = f(x_t, h_{t-1}, w_h), o_t = g(h_t, w_o); a gated cell's gates first, each by its name."""
    equations = tuple(sp.Eq(node, expr) for node, expr in graph.step_definitions(model, t)[:2])
    if model.gates is None:
        return equations
    names = gate_names(model, [t])
    gates = tuple(sp.Eq(names[value], value.xreplace({k: v for k, v in names.items() if k != value}))
                  for _, value in model.gates(x[t], h[t - 1]))
    return (*gates, *(sp.Eq(eq.lhs, eq.rhs.xreplace(names)) for eq in equations))


def gate_names(model: ScalarModel, times: Iterable[Expr]) -> dict[Expr, Expr]:
    """Each gate's value at each time, mapped to its name (r_t, z_t, htilde_t): how the equations are shown.

    Only the display uses them; every check and every program reads the expanded forms.
    """
    if model.gates is None:
        return {}
    return {value: sp.IndexedBase(name)[s] for s in times for name, value in model.gates(x[s], h[s - 1])}


def named(model: ScalarModel, eq: sp.Basic) -> sp.Basic:
    """``eq`` with every gate value replaced by the gate's name, at every time step it mentions."""
    if model.gates is None:
        return eq
    times = {node.indices[0] for node in eq.atoms(sp.Indexed) if node.base == x}
    names = gate_names(model, times)
    if isinstance(eq, sp.Eq):  # a gate's own definition keeps its right-hand side
        own = {value: name for value, name in names.items() if name != eq.lhs}
        return sp.Eq(eq.lhs, eq.rhs.xreplace(own), evaluate=False)
    return eq.xreplace(names)


def objective(model: ScalarModel) -> sp.Eq:
    """E2: L = 1/T Σ_{t=1}^{T} l(y_t, o_t)."""
    return sp.Eq(L, sp.Sum(model.loss(y[t], o[t]), (t, 1, T)) / T)


def loss_gradient(model: ScalarModel, w: sp.Symbol, t: Expr = t) -> Expr:
    """∂l(y_t, o_t)/∂w by the chain rule, with ∂h_t/∂w kept as a symbol (E3's summand)."""
    definitions = {o[t]: model.readout(h[t])}
    # h_t depends on the hidden parameters only; for the readout's, ∂h_t/∂w = 0
    keep = {h[t]} if w in model.hidden_params else set()
    return chain.total_derivative(model.loss(y[t], o[t]), w, definitions, keep=keep)


def gradient_equation(model: ScalarModel, w: sp.Symbol) -> sp.Eq:
    """E3: ∂L/∂w_h = 1/T Σ_t ∂l/∂o_t ∂g/∂h_t ∂h_t/∂w_h, from the objective E2 by linearity (its 1/T and its
    sum's limits do not depend on w), then the chain rule on each term."""
    objective_rhs = objective(model).rhs
    middle = through_linearity(objective_rhs, w, lambda summand: Partial(summand, w))
    rhs = through_linearity(objective_rhs, w, lambda summand: loss_gradient(model, w))
    return sp.Eq(Partial(L, w), sp.Eq(middle, rhs, evaluate=False), evaluate=False)


def through_linearity(expr: Expr, w: sp.Symbol, rule: Callable[[Expr], Expr]) -> Expr:
    """∂expr/∂w for ``expr`` = c · Σ_{t=a}^{b} f_t with c, a, b free of w: c · Σ_{t=a}^{b} rule(f_t).

    Raises ProofError when the objective is not of that form (a coefficient or limit depending on w).
    """
    if isinstance(expr, sp.Sum):
        (index, lower, upper), = expr.limits
        if w in lower.free_symbols | upper.free_symbols:
            msg = f"the limits of {expr} depend on {w}"
            raise ProofError(msg)
        return sp.Sum(rule(expr.function), (index, lower, upper))
    if isinstance(expr, sp.Mul):
        sums = [factor for factor in expr.args if isinstance(factor, sp.Sum)]
        coefficient = sp.Mul(*(factor for factor in expr.args if not isinstance(factor, sp.Sum)))
        if len(sums) == 1 and w not in coefficient.free_symbols:
            return coefficient * through_linearity(sums[0], w, rule)
    msg = f"the objective {expr} is not a constant times a sum over t"
    raise ProofError(msg)


def sensitivity_recurrence(model: ScalarModel, w: sp.Symbol, t: Expr = t) -> sp.Eq:
    """E4: ∂h_t/∂w = ∂f/∂w + ∂f/∂h_{t-1} · ∂h_{t-1}/∂w, by the chain rule."""
    definition = model.step(x[t], h[t - 1])
    rhs = chain.total_derivative(definition, w, {}, keep={h[t - 1]})
    # tanh'(z) = 1 − tanh(z)² reads 1 − h_t² once the node's own definition is named h_t
    # (not for the generic model, whose ∂f/∂w_h must keep f's arguments)
    if not isinstance(definition, AppliedUndef):
        rhs = rhs.xreplace({definition: h[t]})
    return sp.Eq(Partial(h[t], w), rhs, evaluate=False)  # evaluated, Eq would try to decide it


def read_off_bc(model: ScalarModel, w: sp.Symbol) -> tuple[Expr, Expr]:
    """E6: b_t and c_t read off E4's right-hand side, which is linear in ∂h_{t-1}/∂w."""
    rhs = sensitivity_recurrence(model, w).rhs
    c_t, b_t = chain.linear_split(rhs, Partial(h[t - 1], w))
    return b_t, c_t


def sensitivity_sequence(model: ScalarModel, w: sp.Symbol) -> recurrence.LinearRecurrence:
    """E5 with the substitution of E6: a_t = ∂h_t/∂w, b_t = ∂f/∂w, c_t = ∂f/∂h_{t-1}."""
    b_t, c_t = read_off_bc(model, w)
    # cached: a written-out closed form asks for c_j once per term, T² times in all
    return recurrence.LinearRecurrence(
        b=functools.cache(lambda s: b_t.subs(t, s)), c=functools.cache(lambda s: c_t.subs(t, s)),
        a=lambda s: Partial(h[s], w),
    )


def substitution(model: ScalarModel, w: sp.Symbol) -> tuple[sp.Eq, ...]:
    """E6 as three equations a_t = …, b_t = …, c_t = …."""
    a, b, c = (sp.IndexedBase(n) for n in "abc")
    seq = sensitivity_sequence(model, w)
    return (sp.Eq(a[t], seq.a(t)), sp.Eq(b[t], seq.b(t)), sp.Eq(c[t], seq.c(t)))


def check_substitution(model: ScalarModel, w: sp.Symbol) -> None:
    """E4 is E5's recurrence under E6's substitution: checked, not assumed."""
    seq = sensitivity_sequence(model, w)
    lhs = sensitivity_recurrence(model, w).rhs
    if sp.expand(lhs - seq.equation(t).rhs) != 0:
        msg = "E4 does not match b_t + c_t a_{t-1} under the substitution E6"
        raise ProofError(msg)
