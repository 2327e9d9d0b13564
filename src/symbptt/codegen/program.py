"""The derived gradient for explicit T as a straight-line program, one assignment per quantity.

Each step's ``h_t``, ``o_t``, ``b_t``, ``c_t``, ``a_t`` and loss term is one
assignment instantiated from the step's derived equations (E1, E3, E4, E6)
and the strategy's form of E5. Nothing is ever nested: the program, and so
its derivation and compilation, grows linearly in T (DESIGN, "Two scales").
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TypeAlias

import sympy as sp
from sympy.core.function import AppliedUndef

from symbptt.codegen import ir
from symbptt.codegen.dialects import MATH, NUMPY, Dialect
from symbptt.codegen.names import BUILTINS, Names
from symbptt.codegen.printing import BpttNumPyPrinter, Verbatim
from symbptt.derive import chain, sensitivity, strategies
from symbptt.derive.chain import Partial
from symbptt.errors import NotSupportedError
from symbptt.model import graph
from symbptt.model.scalar import ScalarModel, h, o, x, y
from symbptt.model.symbols import t

Expr: TypeAlias = sp.Expr


@dataclass(frozen=True)
class StepTemplate:
    """One time step's derived equations in plain symbols (X, Y, H, H_prev, O, XI)."""

    state: Expr  # h_t
    output: Expr  # o_t
    loss: Expr  # l_t
    b: tuple[Expr, ...]  # b_t per hidden parameter
    c: Expr  # c_t
    sensitivity_weight: tuple[Expr, ...]  # ∂l_t/∂h_t-factor of a_t per hidden parameter
    direct: tuple[Expr, ...]  # ∂l_t/∂w with h_t held fixed, per parameter


@dataclass(frozen=True)
class Program:
    """A straight-line program: inputs, assignments in order, named outputs."""

    model: ScalarModel
    T: int
    strategy: strategies.Strategy
    assignments: tuple[ir.Assign, ...]
    outputs: tuple[tuple[str, sp.Symbol], ...]  # ("loss", L), ("w_hh", dL_dw_hh), …


X, Y, H, H_prev, O = sp.symbols("X Y H H_prev O", real=True)
_PLAIN = {x[t]: X, y[t]: Y, h[t]: H, h[t - 1]: H_prev, o[t]: O}


def step_template(model: ScalarModel) -> StepTemplate:
    """Derive one step symbolically, once, for any t."""
    if any(isinstance(e, AppliedUndef) for e in (model.step(X, H_prev), model.readout(H))):
        msg = f"model {model.name!r} has undefined f, g, l: compiling needs a concrete cell (linear, elman)"
        raise NotSupportedError(msg)
    state, output, loss = (expr for _, expr in graph.step_definitions(model, t))
    plain = lambda e: sp.sympify(e).xreplace(_PLAIN)  # noqa: E731
    bs, weights, direct = [], [], []
    c = sp.S.Zero
    for w in model.params:
        grad_t = sensitivity.loss_gradient(model, w)  # ∂l_t/∂w with ∂h_t/∂w kept as a symbol
        weight, rest = chain.linear_split(grad_t, Partial(h[t], w))
        weights.append(plain(weight))
        direct.append(plain(rest))
        if w in model.hidden_params:
            b_t, c = sensitivity.read_off_bc(model, w)
            bs.append(plain(b_t))
    return StepTemplate(plain(state), plain(output), plain(loss), tuple(bs), plain(c),
                        tuple(weights), tuple(direct))


def _name(kind: str, step: int, param: sp.Symbol | None = None) -> sp.Symbol:
    return sp.Symbol(f"{kind}_{step}" if param is None else f"{kind}_{step}_{param}", real=True)


# Placeholders of the per-step templates: each assignment is a template in these
# symbols plus the names they stand for at that step, so a template is printed once.
A_prev, B_, C_, M_, Acc = sp.symbols("A_prev B C M Acc", real=True)


def build(model: ScalarModel, T: int, strategy: strategies.Strategy) -> Program:
    """The gradient program of ``model`` over ``T`` steps under ``strategy``."""
    T = graph.check_steps(T)
    template = step_template(model)
    hidden = model.hidden_params
    loss_sum = sp.Symbol("L", real=True)
    grad_sums = {w: sp.Symbol(f"dL_d{w}", real=True) for w in model.params}
    terms = [
        template.direct[n] + (template.sensitivity_weight[n] * A_prev if w in hidden else 0)
        for n, w in enumerate(model.params)
    ]
    shared, (c_template, loss_template, *b_templates), terms = _shared_parts(template, terms)
    out = [ir.Assign(loss_sum, sp.S.Zero)]
    out += [ir.Assign(g, sp.S.Zero) for g in grad_sums.values()]
    accumulate_loss = Acc + loss_template
    for s in range(1, T + 1):
        h_s, o_s, c_s = _name("h", s), _name("o", s), _name("c", s)
        names: tuple[tuple[sp.Symbol, sp.Symbol], ...] = (
            (X, _name("x", s)), (Y, _name("y", s)), (H, h_s), (H_prev, _name("h", s - 1)), (O, o_s))
        out += [ir.Assign(h_s, template.state, names=names), ir.Assign(o_s, template.output, names=names)]
        names += tuple((symbol, _name(symbol.name, s)) for symbol, _ in shared)
        out += [ir.Assign(_name(symbol.name, s), value, names=names) for symbol, value in shared]
        out += [
            ir.Assign(c_s, c_template, names=names),
            ir.Assign(loss_sum, accumulate_loss, names=(*names, (Acc, loss_sum))),
        ]
        for w, b_expr in zip(hidden, b_templates, strict=True):
            out.append(ir.Assign(_name("b", s, w), b_expr, names=names))
            out.extend(_sensitivity(strategy, T, s, w))
        for n, w in enumerate(model.params):
            if terms[n] != 0:
                extra = ((A_prev, _name("a", s, w)), (Acc, grad_sums[w]))
                out.append(ir.Assign(grad_sums[w], Acc + terms[n], names=(*names, *extra)))
    outputs = (("loss", loss_sum), *((str(w), grad_sums[w]) for w in model.params))
    return Program(model, T, strategy, tuple(out), outputs)


def _shared_parts(template: StepTemplate, terms: list[Expr]
                  ) -> tuple[list[tuple[sp.Symbol, Expr]], list[Expr], list[Expr]]:
    """One step's subexpressions used more than once (``1 − h_t²``, ``o_t − y_t``), each named once per step.

    Returns the shared parts (in order, in the step's placeholders) and c_t, l_t,
    b_t per hidden parameter and the gradient terms rewritten with them. Each
    term's A_prev stands for its own parameter's a_{t-1}: told apart for the
    search, so no part is shared across parameters' sensitivities.
    """
    own = [sp.Symbol(f"A_prev_{n}", real=True) for n in range(len(terms))]
    apart = [term.xreplace({A_prev: a}) for term, a in zip(terms, own, strict=True)]
    exprs = [template.c, template.loss, *template.b, *apart]
    replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("shared", real=True), order="none")
    if any(value.has(*own, Acc) for _, value in replacements):
        return [], [template.c, template.loss, *template.b], terms
    together = {a: A_prev for a in own}
    head, rewritten = reduced[: 2 + len(template.b)], [r.xreplace(together) for r in reduced[2 + len(template.b):]]
    return list(replacements), head, rewritten


_RECURRENCE = B_ + M_ * C_ * A_prev  # E5: a_t = b_t + m_t c_t a_{t-1}


def _sensitivity(strategy: strategies.Strategy, T: int, s: int, w: sp.Symbol) -> list[ir.Assign]:
    """a_s for parameter w as l_s sees it: Σ_{i=start(s)}^{s} (Π_{j=i+1}^{s} m_j c_j) b_i (E5, E8, E9).

    One step of the recurrence where l_s and l_{s-1} share their first state;
    else the sum from start(s), by Horner: O(k2) per step for window and tbptt.
    """
    a_s = _name("a", s, w)
    b, c = (lambda i: _name("b", i, w)), (lambda i: _name("c", i))
    start, previous_start = (int(strategy.start(sp.Integer(n), sp.Integer(T))) for n in (s, s - 1 or 1))
    if start > s:
        return [ir.Assign(a_s, sp.S.Zero)]  # l_s reaches no state
    if start == s:
        return [ir.Assign(a_s, B_, names=((B_, b(s)),))]
    if start == previous_start:  # continue l_{s-1}'s sum
        multiplier = strategy.multiplier(sp.Integer(s)).xreplace({strategies.xi[s]: _name("xi", s)})
        names = ((B_, b(s)), (C_, c(s)), (A_prev, _name("a", s - 1, w)), (M_, multiplier))
        return [ir.Assign(a_s, _RECURRENCE, names=names)]
    chain = [ir.Assign(a_s, B_, names=((B_, b(start)),))]
    for i in range(start + 1, s + 1):
        multiplier = strategy.multiplier(sp.Integer(i)).xreplace({strategies.xi[i]: _name("xi", i)})
        chain.append(ir.Assign(a_s, _RECURRENCE, names=((B_, b(i)), (C_, c(i)), (A_prev, a_s), (M_, multiplier))))
    return chain


# ------------------------------------------------------------------ printing


def program_function(program: Program, name: str, dialect: Dialect = NUMPY, decorators: tuple[str, ...] = ()
                     ) -> ir.Block:
    """``def name(params…, x, y, h_0, xi)``: one line per assignment, every name allocated.

    NumPy: ``x`` and ``y`` are ``(T, B)`` arrays; math: ``(T,)`` sequences of floats, one sample.
    """
    names = Names(BUILTINS | {"numpy", "math"})
    params = [names.of(p, str(p)) for p in program.model.params]  # the user's names first
    x, y, h_0, xi = (names.of(n, n) for n in ("x", "y", "h_0", "xi"))
    T = program.T

    def named(symbol: sp.Symbol) -> Verbatim:
        return Verbatim(names.of(symbol, symbol.name))

    templates = Templates(BpttNumPyPrinter(dialect))

    def code(assignment: ir.Assign) -> str:
        """The template's tree, printed once, with this step's names put in (the assignment's own names)."""
        renames = dict(assignment.names)
        constants = {p: v for p, v in renames.items() if not isinstance(v, sp.Symbol)}  # m_t = 1, a chunk's 0
        template = assignment.expr.xreplace(constants) if constants else assignment.expr
        return templates.instantiate(template, {s: str(named(renames.get(s, s))) for s in template.free_symbols})

    body: list[ir.Node] = [ir.Line(ir.docstring(f"∂L/∂θ of the {program.model.title} cell, T = {T}, strategy "
                                                f"{program.strategy.describe()}; generated by symbptt."))]
    body += [ir.Line(f"{named(_name('x', s))} = {x}[{s - 1}]") for s in range(1, T + 1)]
    body += [ir.Line(f"{named(_name('y', s))} = {y}[{s - 1}]") for s in range(1, T + 1)]
    body.append(ir.Line(f"{named(_name('h', 0))} = {h_0}"))
    if isinstance(program.strategy, strategies.Randomized):
        body += [ir.Line(f"{named(_name('xi', s))} = {xi}[{s - 1}]") for s in range(2, T + 1)]
    body += [ir.Line(f"{named(a.target)} = {code(a)}") for a in program.assignments]
    mean = "numpy.mean({}) / {}" if dialect.module == "numpy" else "{} / {}"
    outputs = ", ".join(mean.format(named(symbol), T) for _, symbol in program.outputs)
    body.append(ir.Line(f"return ({outputs},)"))
    return ir.Block(f"def {name}({', '.join([*params, x, y, h_0, xi])})", tuple(body), decorators=decorators)


def program_source(program: Program, name: str, dialect: Dialect = NUMPY) -> str:
    """The Python source of ``program`` as a function ``name``."""
    return "\n".join(ir.render([program_function(program, name, dialect)])) + "\n"


def float_module(program: Program, name: str, jit: bool = False) -> str:
    """A module of ``program`` on Python floats (one sample): ``math`` imported, and with ``jit`` Numba too, the
    function compiled by it (``@numba.njit(cache=True)``), printed so from the start."""
    imports = ["import math", *(["import numba"] if jit else [])]
    function = program_function(program, name, MATH, decorators=("numba.njit(cache=True)",) if jit else ())
    return "\n".join([*imports, "", "", *ir.render([function])]) + "\n"


class Templates:
    """Each step template printed once, as a Python syntax tree whose names each step fills in.

    Printing is the costly part of a program of T·(a few) assignments; the
    template of an assignment is the same at every step but for its names,
    so it is printed once and its tree's ``Name`` nodes, the holes, are filled
    per step: tangent's templates, where no text is edited. Printing each line
    whole instead is 5-6 times slower at T = 1000 (0.93 s against 5.4 s, elman,
    full) and SymPy's and ``ast.unparse``'s bracketing differ.
    """

    def __init__(self, printer: BpttNumPyPrinter) -> None:
        self.printer = printer
        self.trees: dict[Expr, tuple[ast.expr, dict[sp.Symbol, list[ast.Name]]]] = {}

    def instantiate(self, template: Expr, names: dict[sp.Symbol, str]) -> str:
        if template not in self.trees:
            tokens = {s: f"_symbptt_{n}" for n, s in enumerate(sorted(template.free_symbols, key=str))}
            code = self.printer.doprint(template.xreplace({s: Verbatim(tok) for s, tok in tokens.items()}))
            tree = ast.parse(code, mode="eval").body
            nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
            self.trees[template] = (tree, {s: [n for n in nodes if n.id == tok] for s, tok in tokens.items()})
        tree, places = self.trees[template]
        for symbol, nodes in places.items():  # the tree is reused: every Name of a symbol is set each time
            for node in nodes:
                node.id = names[symbol]
        return ast.unparse(tree)
