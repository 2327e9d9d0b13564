"""NumPy code for a derived reverse step: a forward loop, a backward loop under a strategy.

The math is per sample with column vectors; the code keeps a batch of samples
on a leading axis, so a column ``v ∈ R^n`` is an array ``(…, B, n)``. The
:class:`RowPrinter` prints each matrix expression in that layout: ``W v`` is
``v @ W.T``, a per-sample outer product ``u vᵀ`` that lands in a parameter is
the sum over samples (and over time steps, when stacked) ``_flat(u).T @ _flat(v)``.

The program is scheduled from the derived equations alone:

- the cell's step equations run in a loop over t; every part of them that does
  not depend on the previous state (``W_hx x_t + b_h``) is computed before the
  loop for all t at once, in the node's own buffer (loop-invariant hoisting);
- the readout, the loss and ``∂L/∂o_t`` do not feed the recurrence: they are
  computed for all t at once;
- the backward loop runs the adjoint equations; what does not depend on the
  carried adjoint is again computed for all t before it, and a parameter's
  gradient whose contribution does not depend on it is one stacked product;
- the strategy decides what is carried from ``s_t`` to ``s_{t-1}``: everything
  (``full``), nothing across the cuts (``chunked``), ``xi_t`` times it
  (``randomized``), or each loss term's adjoint for at most ``tau − 1``
  transitions (``window``, all travelling adjoints stacked on one axis).

Common subexpressions of a block are computed once (:func:`eliminate_common`).
"""

from __future__ import annotations

import ast
import inspect
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from symbptt.codegen import runtime
from symbptt.codegen.scalar import BpttNumPyPrinter
from symbptt.derive.reverse import ReverseStep
from symbptt.errors import NotSupportedError
from symbptt.model import matrices as mx
from symbptt.model.matrices import MatExpr, Seq, t

ADD, MUL, ATOM = 1, 2, 3  # precedence of printed code


@dataclass(frozen=True)
class Code:
    """Printed code, what it holds (see RowPrinter) and its precedence."""

    text: str
    kind: str  # "param", "col" (a column per sample), "row" (its transpose), "scal" (1×1 per sample), "const"
    level: int

    def at(self, level: int) -> str:
        return self.text if self.level >= level else f"({self.text})"


_PLACEHOLDER = sp.Symbol("SYMBPTTARG")


class RowPrinter:
    """Matrix expressions as NumPy code with the batch (and time) on leading axes."""

    def __init__(self, name: Callable[[MatExpr], str], stacked: bool) -> None:
        self.name = name  # a leaf's code in this context
        self.stacked = stacked  # leading axes may be (T, B): sums over samples flatten them
        self.scalar = BpttNumPyPrinter()

    def doprint(self, expr: MatExpr) -> str:
        return self.code(expr).text

    def code(self, expr: object) -> Code:
        if not mx.is_matrix(expr):
            value = sp.sympify(expr)
            simple = value.is_Symbol or (value.is_Number and value >= 0)
            return Code(self.scalar.doprint(value), "const", ATOM if simple else ADD)
        method = getattr(self, f"_print_{type(expr).__name__}", None)
        if method is None:
            msg = f"cannot compile {type(expr).__name__} ({expr}) to NumPy"
            raise NotSupportedError(msg)
        return method(expr)

    # ---------------------------------------------------------------- leaves
    def _leaf(self, expr: Seq) -> Code:
        return Code(self.name(expr), "scal" if expr.shape[0] == 1 else "col", ATOM)

    _print_Seq = _print_Adjoint = _print_Carry = _leaf

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> Code:
        return Code(self.name(expr), "param", ATOM)

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> Code:
        return Code("1.0", "const", ATOM)

    # ---------------------------------------------------------------- operations
    def _print_Transpose(self, expr: sp.Transpose) -> Code:
        inner = self.code(expr.arg)
        if inner.kind == "param":
            return Code(f"{inner.at(ATOM)}.T", "param", ATOM)
        flipped = {"col": "row", "row": "col"}.get(inner.kind, inner.kind)
        return Code(inner.text, flipped, inner.level)

    def _print_MatAdd(self, expr: sp.MatAdd) -> Code:
        terms = [self.code(term) for term in expr.args]
        text = terms[0].text
        for term in terms[1:]:
            text += f" - {term.text[1:]}" if term.text.startswith("-") else f" + {term.text}"
        return Code(text, _batched_kind(terms), ADD)

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> Code:
        factors = [self.code(f) for f in expr.args]
        text = " * ".join([factors[0].at(MUL), *(f.at(ATOM) for f in factors[1:])])
        return Code(text, _batched_kind(factors), MUL)

    def _print_HadamardPower(self, expr: sp.HadamardPower) -> Code:
        base = self.code(expr.base)
        return Code(f"{base.at(ATOM)}**{self.scalar.doprint(expr.exp)}", base.kind, MUL)

    def _print_Elementwise(self, expr: mx.Elementwise) -> Code:
        inner = self.code(expr.arg)
        (variable,) = expr.function.variables
        template = self.scalar.doprint(expr.function.expr.xreplace({variable: _PLACEHOLDER}))
        return Code(template.replace(str(_PLACEHOLDER), inner.text), inner.kind, ATOM)

    def _print_LogSumExp(self, expr: mx.LogSumExp) -> Code:
        return Code(f"_logsumexp({self.code(expr.arg).text})", "scal", ATOM)

    def _print_Softmax(self, expr: mx.Softmax) -> Code:
        return Code(f"_softmax({self.code(expr.arg).text})", "col", ATOM)

    def _print_MatMul(self, expr: sp.MatMul) -> Code:
        coeff, factors = expr.as_coeff_matrices()
        left_expr, left = factors[0], self.code(factors[0])
        for right_expr in factors[1:]:
            left = self._product(left_expr, left, right_expr, self.code(right_expr))
            left_expr = mx.mul(left_expr, right_expr)
        if coeff == 1:
            return left
        if coeff == -1:
            return Code(f"-{left.at(MUL)}", left.kind, ADD)
        return Code(f"{self.code(coeff).at(MUL)} * {left.at(ATOM)}", left.kind, MUL)

    def _product(self, left_expr: MatExpr, left: Code, right_expr: MatExpr, right: Code) -> Code:
        """One matrix product A B, by what A and B hold."""
        kinds = (left.kind, right.kind)
        if kinds == ("param", "param"):
            return Code(f"{left.at(MUL)} @ {right.at(ATOM)}", "param", MUL)
        if kinds == ("param", "col") and left_expr.shape[1] != 1:  # W v  ->  v @ Wᵀ
            return self._stack_product(right, self.code(mx.transpose(left_expr)), "col")
        if kinds == ("row", "param"):  # uᵀ W
            return self._stack_product(left, right, "row")
        if kinds == ("col", "row"):  # u vᵀ summed over the samples
            if self.stacked:
                return Code(f"_flat({left.text}).T @ _flat({right.text})", "param", MUL)
            return Code(f"{left.at(ATOM)}.T @ {right.at(ATOM)}", "param", MUL)
        if kinds == ("row", "col"):  # uᵀ v per sample
            return Code(f"numpy.sum({left.at(MUL)} * {right.at(ATOM)}, axis=-1, keepdims=True)", "scal", ATOM)
        if "scal" in kinds or "const" in kinds or left_expr.shape[1] == 1:
            kind = _batched_kind([left, right]) if kinds != ("param", "scal") else "col"
            return Code(f"{left.at(MUL)} * {right.at(ATOM)}", kind, MUL)
        msg = f"no NumPy form for the product of {left_expr} and {right_expr}"
        raise NotSupportedError(msg)

    def _stack_product(self, stack: Code, matrix: Code, kind: str) -> Code:
        """v @ M; over all t at once, as one large product (NumPy would loop over t)."""
        if self.stacked:
            return Code(f"_matmul({stack.text}, {matrix.text})", kind, ATOM)
        return Code(f"{stack.at(MUL)} @ {matrix.at(ATOM)}", kind, MUL)

    def reduction(self, expr: MatExpr) -> str:
        """The code of a parameter's contribution: per-sample columns are summed over the samples."""
        code = self.code(expr)
        if code.kind == "col":
            return f"_flat({code.text}).sum(axis=0)" if self.stacked else f"{code.at(ATOM)}.sum(axis=0)"
        if code.kind == "scal":
            return f"numpy.sum({code.text})"
        return code.text


def _batched_kind(codes: Sequence[Code]) -> str:
    kinds = {c.kind for c in codes}
    for kind in ("col", "row", "scal", "param"):
        if kind in kinds:
            return kind
    return "const"


# ------------------------------------------------------------------ rewriting


def leaves(expr: Any) -> set[MatExpr]:
    if not mx.is_matrix(expr):
        return set()
    return set(expr.atoms(Seq)) | set(expr.atoms(sp.MatrixSymbol))


def _batched(expr: Any) -> bool:
    return mx.is_matrix(expr) and bool(expr.atoms(Seq))


def _has_product(expr: Any) -> bool:
    """A matrix product over the samples: W x_t, not a scalar times a matrix."""
    return _batched(expr) and any(len(m.as_coeff_matrices()[1]) > 1 for m in expr.atoms(sp.MatMul))


def _is_trivial(expr: Any) -> bool:
    """Not worth a name of its own: a leaf, a constant, or the transpose of a leaf."""
    if not mx.is_matrix(expr) or isinstance(expr, (Seq, sp.MatrixSymbol, sp.OneMatrix, sp.ZeroMatrix)):
        return True
    return isinstance(expr, sp.Transpose) and _is_trivial(expr.arg)


@dataclass(frozen=True)
class Assign:
    """``target (op) expr``: op is "=", or "+=" for a parameter's running sum."""

    target: MatExpr
    expr: MatExpr
    op: str = "="
    guarded: bool = False  # inside the strategy's `if` that carries adjoints to s_{t-1}


def hoist(statements: Sequence[Assign], carried: set[MatExpr], name: Callable[[Assign, int], Seq]
          ) -> tuple[list[Assign], list[Assign]]:
    """Split out, for all t at once, every matrix product that does not depend on ``carried``.

    Returns the stacked statements to run before the loop and the loop's statements.
    A sum's independent terms are hoisted together (``W_hx x_t + b_h``). Only
    products are worth it: one large product over all t beats T small ones,
    while an elementwise part would only cost a stacked buffer.
    """
    before: list[Assign] = []
    made: dict[MatExpr, Seq] = {}

    def independent(expr: Any) -> bool:
        return not (leaves(expr) & carried)

    def visit(expr: Any, statement: Assign) -> Any:
        if not mx.is_matrix(expr) or _is_trivial(expr):
            return expr
        if independent(expr) and _has_product(expr):
            return temporary(expr, statement)
        if isinstance(expr, sp.MatAdd):
            fixed = [a for a in expr.args if independent(a)]
            if any(_has_product(a) for a in fixed):
                rest = [visit(a, statement) for a in expr.args if not independent(a)]
                return mx.add(temporary(mx.add(*fixed), statement), *rest)
        return mx.rebuild(expr.func(*(visit(a, statement) for a in expr.args)))

    per_statement: Counter[Assign] = Counter()

    def temporary(expr: MatExpr, statement: Assign) -> Seq:
        if expr not in made:
            made[expr] = name(statement, per_statement[statement])
            per_statement[statement] += 1
            before.append(Assign(made[expr], expr))
        return made[expr]

    loop = [Assign(s.target, visit(s.expr, s), s.op, s.guarded) for s in statements]
    return before, loop


def eliminate_common(statements: Sequence[Assign], fresh: Callable[[MatExpr], MatExpr]) -> list[Assign]:
    """Statements with each subexpression used twice or more computed once, just before its first use."""
    counts: Counter[MatExpr] = Counter()

    def count(expr: Any) -> None:
        if _is_trivial(expr):
            return
        counts[expr] += 1
        if counts[expr] == 1:
            for arg in expr.args:
                count(arg)

    for statement in statements:
        count(statement.expr)
        if not _is_trivial(statement.expr):
            counts[statement.expr] -= 1  # the statement's own value is already named
    common = sorted((e for e, n in counts.items() if n >= 2 and _batched(e)), key=_size)
    names: dict[MatExpr, MatExpr] = {}
    definitions: list[tuple[MatExpr, MatExpr]] = []
    for expr in common:
        value = expr.xreplace(names)
        names[expr] = fresh(value)
        definitions.append((names[expr], value))
    rewritten = [Assign(s.target, s.expr.xreplace(names) if s.expr not in names else names[s.expr],
                        s.op, s.guarded) for s in statements]
    # each temporary just before the first statement (or temporary) that reads it
    out: list[Assign] = []
    pending = list(definitions)
    for statement in rewritten:
        needed = _closure(leaves(statement.expr), pending)
        for temp, value in [d for d in pending if d[0] in needed]:
            out.append(Assign(temp, value, "=", statement.guarded))
        pending = [d for d in pending if d[0] not in needed]
        out.append(statement)
    return out


def _size(expr: sp.Basic) -> int:
    return sum(1 for _ in sp.preorder_traversal(expr))


def _closure(wanted: set[MatExpr], definitions: list[tuple[MatExpr, MatExpr]]) -> set[MatExpr]:
    """The temporaries ``wanted`` needs, directly or through other temporaries."""
    needed: set[MatExpr] = set()
    for temp, value in reversed(definitions):
        if temp in wanted or temp in needed:
            needed.add(temp)
            wanted = wanted | leaves(value)
    return needed


def prune(statements: Sequence[Assign], outputs: Iterable[MatExpr]) -> list[Assign]:
    """Only the statements the outputs depend on."""
    live = set(outputs)
    kept = []
    for statement in reversed(statements):
        if statement.target in live:
            kept.append(statement)
            live |= leaves(statement.expr)
    return kept[::-1]


# ------------------------------------------------------------------ storage


@dataclass
class Storage:
    """Where each time-indexed quantity lives: a stacked array and the index of t = 1."""

    first: dict[str, int] = field(default_factory=dict)  # array name -> index of t = 1 (0 or 1)
    locals: dict[MatExpr, str] = field(default_factory=dict)  # per-step values: a local variable

    def step_name(self, leaf: MatExpr) -> str:
        """The leaf inside the loop at step t."""
        if isinstance(leaf, sp.MatrixSymbol):
            return leaf.name
        if leaf in self.locals:
            return self.locals[leaf]
        array = _key(leaf)
        return f"{array}[{leaf.time + self.first[array] - 1}]"

    def stacked_name(self, leaf: MatExpr) -> str:
        """The leaf for every t = 1..T at once."""
        if isinstance(leaf, sp.MatrixSymbol):
            return leaf.name
        if leaf in self.locals:
            return self.locals[leaf]
        array = _key(leaf)
        start = leaf.offset + self.first[array]
        if start == 0 and self.first[array] == 0:
            return array
        if start == 0:
            return f"{array}[:-1]"
        return f"{array}[{start}:]" if start == self.first[array] else f"{array}[{start}:{start} + T]"


def _key(leaf: Seq) -> str:
    prefix = {mx.Adjoint: "dL_d", mx.Carry: "carry_"}.get(type(leaf), "")
    return prefix + leaf.name


# ------------------------------------------------------------------ the module


STRATEGY_ARGUMENT = {"full": None, "window": "tau", "chunked": "tau", "randomized": "xi"}


@dataclass
class _Writer:
    lines: list[str] = field(default_factory=list)

    def __call__(self, line: str = "", indent: int = 1) -> None:
        self.lines.append("    " * indent + line if line else "")


def core_source(step: ReverseStep, strategy: str, name: str = "core") -> str:
    """``def core(params…, x, y, h0[, c0][, tau|xi]) -> (loss, ∂L/∂W…)`` for ``strategy``."""
    cell, storage, write = step.cell, Storage(), _Writer()
    state, previous = cell.state, cell.previous_state
    loop_nodes = [node for node, _ in cell.steps]
    o_node = step.forward[-2][0]
    extra = STRATEGY_ARGUMENT[strategy]
    inputs = [p.name for p in cell.params] + ["x", "y"] + [f"{s.name}0" for s in state] + ([extra] if extra else [])
    sizes = _size_names(cell)

    storage.first.update({"x": 0, "y": 0, o_node.name: 0})
    storage.first.update({s.name: 1 for s in state})
    storage.first.update({n.name: 0 for n in loop_nodes if n not in state})

    write(f"def {name}({', '.join(inputs)}):", 0)
    write(f'"""Loss and ∂L/∂W of the {cell.title} cell, {step.loss.name} loss, strategy {strategy!r}; '
          'generated by symbptt."""')
    write("T, B = x.shape[0], x.shape[1]")
    for size, (param, axis) in sizes.items():
        write(f"{size} = {param}.shape[{axis}]")

    # ---- forward: E1 step by step
    write()
    write("# forward: the cell's step equations, t = 1..T")
    forward = [Assign(node, value) for node, value in cell.steps]
    before, loop = hoist(forward, set(previous) | set(loop_nodes),
                         lambda s, n: _in_own_buffer(s.target, n))
    hoisted = {statement.target for statement in before}
    for node in loop_nodes:
        if node in state or node not in hoisted:  # a hoisted gate's buffer is made by its hoisted part
            first = storage.first[node.name]
            write(f"{node.name} = numpy.empty((T + {first}, B, {size_of(node)}))")
    for s in state:
        write(f"{s.name}[0] = {s.name}0")
    stacked = RowPrinter(storage.stacked_name, stacked=True)
    _emit(write, before, storage, stacked, 1)
    write("for t in range(1, T + 1):")
    in_loop = RowPrinter(storage.step_name, stacked=False)
    for statement in loop:
        write(f"{storage.step_name(statement.target)} = {in_loop.doprint(statement.expr)}", 2)

    # ---- readout, loss and ∂L/∂o_t for every t at once
    write()
    write("# the readout and the loss, and their adjoints, for all t at once")
    adjoints = dict(step.adjoints)
    o_adjoint = mx.adjoint(o_node)
    storage.first[_key(o_adjoint)] = 0
    total_loss = sp.MatrixSymbol("loss", 1, 1)
    stacked_block = [Assign(o_node, step.forward[-2][1]), Assign(total_loss, mx.mul(step.weight, step.forward[-1][1])),
                     Assign(o_adjoint, adjoints.pop(o_adjoint))]
    _emit(write, eliminate_common(stacked_block, _fresh(storage, "u")), storage, stacked, 1)

    # ---- backward: the adjoint equations, t = T..1
    carried: set[MatExpr] = {mx.carry(s) for s in state}
    loop_adjoints = [Assign(lhs, rhs) for lhs, rhs in adjoints.items()]
    carried |= {a.target for a in loop_adjoints}
    for statement in loop_adjoints:
        storage.locals[statement.target] = _key(statement.target)
    gradients = {W: mx.adjoint(W) for W in cell.params}
    after_loop = [Assign(gradients[W], g) for W, g in step.gradients if not leaves(g) & carried]
    in_loop_sums = [Assign(gradients[W], g, "+=") for W, g in step.gradients if leaves(g) & carried]
    carries = [Assign(mx.carry(s), dict(step.carries)[p], guarded=True) for s, p in zip(state, previous, strict=True)]
    for s in state:
        storage.locals[mx.carry(s)] = _key(mx.carry(s))

    # window: the part of ∂L/∂s_t that l_t sends through the readout starts travelling at t
    directs = [Assign(Seq(f"direct_{s.name}", t, *s.shape), part) for s, part in _direct_parts(step).items()
               if not mx.is_zero(part)]
    for statement in directs:
        storage.locals[statement.target] = statement.target.name
    body = loop_adjoints + in_loop_sums + (directs if strategy == "window" else carries)
    # NOTE: no hoisting here. A hoisted product of the forward pass is written into its
    # node's own buffer; one of the backward pass would need a stacked buffer of its own
    # (T·B·h floats for W_qhᵀ ∂L/∂o_t), which measured 1.28x the hand-written peak memory
    # for the same time (benchmarks/compiled_vs_handwritten.py).
    body = eliminate_common(body, _fresh(storage, "v"))
    write()
    write("# backward: the adjoint equations, t = T..1, with what does not depend on t+1 done at once")
    for statement in after_loop:
        write(f"{gradients_name(statement.target)} = {stacked.reduction(statement.expr)}")
    for statement in in_loop_sums:
        write(f"{gradients_name(statement.target)} = numpy.zeros_like({statement.target.name})")
    if strategy == "window":
        _window_loop(write, step, body, storage)
    else:
        _carry_loop(write, body, storage, strategy, state)

    outputs = ["loss", *(gradients_name(gradients[W]) for W in cell.params)]
    write(f"return {', '.join(outputs)}")
    return release_dead_arrays("\n".join(write.lines) + "\n")


def gradients_name(adjoint: sp.MatrixSymbol) -> str:
    return f"dL_d{adjoint.name}"


def size_of(node: Seq) -> str:
    """The code for a node's number of rows, one of the dim_* variables."""
    return f"dim_{node.shape[0]}"


def _size_names(cell: Any) -> dict[str, tuple[str, int]]:
    """dim_h -> ("W_hh", 0) and so on: each symbolic size read off the first parameter that has it."""
    out: dict[str, tuple[str, int]] = {}
    for W in cell.params:
        for axis, size in enumerate(W.shape):
            if size.is_Symbol and f"dim_{size}" not in out:
                out[f"dim_{size}"] = (W.name, axis)
    return out


def _in_own_buffer(node: Seq, n: int) -> Seq:
    """The hoisted part of a node's definition goes into the node's own buffer, which the loop then updates."""
    if n:
        msg = f"more than one hoisted part in the definition of {node}"
        raise NotSupportedError(msg)
    return node


def _fresh(storage: Storage, prefix: str) -> Callable[[MatExpr], MatExpr]:
    counter = iter(range(1, 10**6))

    def fresh(value: MatExpr) -> MatExpr:
        temp = Seq(f"{prefix}{next(counter)}", t, *value.shape)
        storage.locals[temp] = temp.name
        return temp

    return fresh


def _emit(write: _Writer, statements: Sequence[Assign], storage: Storage, printer: RowPrinter, indent: int) -> None:
    for statement in statements:
        target = statement.target
        if isinstance(target, sp.MatrixSymbol) and target.name == "loss":
            write(f"loss = {printer.reduction(statement.expr)}", indent)
        elif isinstance(target, mx.ParamAdjoint):
            write(f"{gradients_name(target)} {statement.op} {printer.reduction(statement.expr)}", indent)
        else:
            name = storage.locals.get(target) or (storage.stacked_name(target) if printer.stacked
                                                  else storage.step_name(target))
            if printer.stacked and statement.op == "=" and isinstance(statement.expr, sp.MatAdd):
                _emit_sum_in_place(write, name, statement.expr, printer, indent)
            else:
                write(f"{name} {statement.op} {printer.doprint(statement.expr)}", indent)


def _emit_sum_in_place(write: _Writer, name: str, expr: sp.MatAdd, printer: RowPrinter, indent: int) -> None:
    """``name = a + b + …`` over all t without a temporary per ``+``: the product first, into ``name``."""
    terms = [printer.code(term) for term in expr.args]
    first = next((c for c in terms if c.text.startswith("_matmul(")), None)
    if first is None:
        write(f"{name} = {printer.doprint(expr)}", indent)
        return
    into = f"{first.text[:-1]}, out={name})" if "[" in name else first.text  # a slice is filled in place
    write(f"{name} = {into}" if "[" not in name else into, indent)
    for term in terms:
        if term is not first:
            negative = term.text.startswith("-")
            write(f"{name} {'-=' if negative else '+='} {term.text[1:] if negative else term.text}", indent)


def release_dead_arrays(source: str) -> str:
    """Insert ``del`` after the last top-level statement that reads each local array.

    Stacked arrays are as large as the data (T·B·h floats): keeping the dead
    ones until ``return`` would raise the peak memory for nothing.
    """
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    arguments = {a.arg for a in function.args.args}
    body = function.body
    returned = {n.id for n in ast.walk(body[-1]) if isinstance(n, ast.Name)}
    last_use: dict[str, int] = {}
    for position, statement in enumerate(body[:-1]):
        for node in ast.walk(statement):
            if isinstance(node, ast.Name):
                last_use[node.id] = position
    assigned = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    keep = arguments | returned | {"T", "B", "t"}
    dead: dict[int, list[str]] = {}
    for name, position in last_use.items():
        if name in assigned - keep and not name.startswith("dim_") and position < len(body) - 2:
            dead.setdefault(body[position].end_lineno or 0, []).append(name)
    lines = source.splitlines()
    for line_number in sorted(dead, reverse=True):
        lines.insert(line_number, f"    del {', '.join(sorted(dead[line_number]))}")
    return "\n".join(lines) + "\n"


def _carry_loop(write: _Writer, body: list[Assign], storage: Storage, strategy: str, state: tuple[Seq, ...]) -> None:
    in_loop = RowPrinter(storage.step_name, stacked=False)
    carries = [storage.locals[mx.carry(s)] for s in state]
    write(f"{', '.join(carries)} = {', '.join(['0.0'] * len(carries))}")
    write("for t in range(T, 0, -1):")
    _emit(write, [s for s in body if not s.guarded], storage, in_loop, 2)
    condition = {"full": "t > 1", "chunked": "t > 1 and (t - 1) % tau",
                 "randomized": "t > 1 and xi[t - 1] != 0"}[strategy]
    guarded = [s for s in body if s.guarded]
    write(f"if {condition}:  # carry ∂L/∂s_t back across s_(t-1) -> s_t", 2)
    temps = [s for s in guarded if not isinstance(s.target, mx.Carry)]
    _emit(write, temps, storage, in_loop, 3)
    values = [in_loop.doprint(s.expr) for s in guarded if isinstance(s.target, mx.Carry)]
    if strategy == "randomized":
        values = [f"xi[t - 1] * ({v})" for v in values]
    write(f"{', '.join(carries)} = {', '.join(values)}", 3)
    write("else:", 2)
    write(f"{', '.join(carries)} = {', '.join(['0.0'] * len(carries))}", 3)


def _window_loop(write: _Writer, step: ReverseStep, body: list[Assign], storage: Storage) -> None:
    """Each loss term's adjoint travels at most tau − 1 transitions: the travelling ones ride stacked."""
    cell = step.cell
    in_loop = RowPrinter(storage.step_name, stacked=False)
    pending = {s: f"pending_{s.name}" for s in cell.state}
    for s, name in pending.items():
        write(f"{name} = numpy.zeros((0, B, {size_of(s)}))  # adjoints still travelling, youngest first")
    write("for t in range(T, 0, -1):")
    for s, name in pending.items():
        write(f"{storage.locals[mx.carry(s)]} = {name}.sum(axis=0)", 2)
    _emit(write, body, storage, in_loop, 2)

    # the transition's VJP on the travelling adjoints: no loss term enters, they arrive as `arrive_s`
    o_adjoint = mx.adjoint(step.forward[-2][0])
    arrive = {mx.carry(s): Seq(f"arrive_{s.name}", t, *s.shape) for s in cell.state}
    travelling = _Travelling(storage)
    for temp in arrive.values():
        travelling.locals[temp] = temp.name
    statements = [Assign(travelling.rename(lhs), mx.rebuild(rhs.xreplace({o_adjoint: mx.zeros(*o_adjoint.shape)}))
                         .xreplace(arrive).xreplace(travelling.renames))
                  for lhs, rhs in step.adjoints if lhs != o_adjoint]
    outputs = [Assign(Seq(f"pending_{s.name}", t, *s.shape),
                      dict(step.carries)[p].xreplace(travelling.renames)) for s, p in zip(cell.state,
                                                                                        cell.previous_state,
                                                                                        strict=True)]
    for out in outputs:
        travelling.locals[out.target] = out.target.name
    program = prune(statements + outputs, [o.target for o in outputs])
    program = eliminate_common(program, _fresh(travelling, "w"))
    write("if t > 1 and tau > 1:  # carry the young enough adjoints across s_(t-1) -> s_t", 2)
    directs = _direct_parts(step)
    for s, name in pending.items():
        first = (f"direct_{s.name}[None]" if not mx.is_zero(directs[s])
                 else f"numpy.zeros((1, B, {size_of(s)}))")
        write(f"arrive_{s.name} = numpy.concatenate(({first}, {name}[:tau - 2]))", 3)
    traveller = RowPrinter(travelling.step_name, stacked=False)
    _emit(write, program, travelling, traveller, 3)


def _direct_parts(step: ReverseStep) -> dict[Seq, MatExpr]:
    """The part of ∂L/∂s_t that comes from the loss term l_t through the readout."""
    cell_adjoints = {lhs: mx.zeros(*lhs.shape) for lhs, _ in step.adjoints if mx.of(lhs) != step.forward[-2][0]}
    cell_adjoints |= {mx.carry(s): mx.zeros(*s.shape) for s in step.cell.state}
    adjoints = dict(step.adjoints)
    return {s: mx.rebuild(adjoints[mx.adjoint(s)].xreplace(cell_adjoints)) for s in step.cell.state}


class _Travelling(Storage):
    """Storage for the window's stacked travelling adjoints: their own local names."""

    def __init__(self, base: Storage) -> None:
        super().__init__(base.first, {})
        self.renames: dict[MatExpr, MatExpr] = {}

    def rename(self, adjoint: MatExpr) -> MatExpr:
        new = Seq(f"travel_{_key(adjoint)}", t, *adjoint.shape)
        self.renames[adjoint] = new
        self.locals[new] = new.name
        return new


def helpers_source() -> str:
    """The runtime helpers, verbatim."""
    return "\n\n".join(inspect.getsource(f) for f in runtime.HELPERS)


def module_source(step: ReverseStep, strategy: str, tau: int | None = None, pi: object = None,
                  seed: int | None = None) -> str:
    """A standalone module: the runtime helpers, ``core`` and ``grad(params, X, Y, h0, c0, xi)``."""
    cell = step.cell
    state = [s.name for s in cell.state]
    extra = STRATEGY_ARGUMENT[strategy]
    sizes = _size_names(cell)
    lines = [
        f'"""∂L/∂W of the {cell.title} cell, {step.loss.name} loss, strategy {strategy!r}: generated by symbptt.',
        "",
        "Needs only NumPy. ``grad(params, X, Y, h0=None, c0=None, xi=None)`` follows the",
        "symbptt contract: X (T, B, d), params by name, and it returns every gradient and the loss.",
        '"""',
        "",
        "import numpy",
        "",
        f"TAU = {tau!r}  # window length (window) or piece length (chunked)",
        f"PI = {pi!r}  # keep-probability for randomized, used when no xi is given",
        f"SEED = {seed!r}",
        f"PARAMS = {tuple(p.name for p in cell.params)!r}",
        "",
        "",
        helpers_source(),
        "",
        core_source(step, strategy),
        "",
        "def grad(params, X, Y, h0=None, c0=None, xi=None, *, tau=TAU, pi=PI, seed=SEED):",
        '    """The loss and ∂L/∂W for every parameter, as a dict by the contract\'s names."""',
        "    X = numpy.asarray(X, dtype=numpy.float64)",
        "    X, Y, h0, c0 = as_batch(X, numpy.asarray(Y), h0, c0)",
        "    T, B = X.shape[0], X.shape[1]",
    ]
    dim_h = "params[{!r}].shape[{}]".format(*sizes["dim_h"])
    for name in state:
        lines.append(f"    {name}0 = numpy.zeros((B, {dim_h})) if {name}0 is None "
                     f"else numpy.asarray({name}0, dtype=numpy.float64)")
    if step.loss.target == "class":
        dim_q = "params[{!r}].shape[{}]".format(*sizes["dim_q"])
        lines.append(f"    Y = one_hot(Y, {dim_q})")
    else:
        lines.append("    Y = Y.astype(numpy.float64, copy=False)")
    if strategy == "randomized":
        lines.append("    xi = sample_xi(pi, T, seed) if xi is None else numpy.asarray(xi, dtype=numpy.float64)")
    arguments = [f"params[{p.name!r}]" for p in cell.params] + ["X", "Y"] + [f"{n}0" for n in state]
    arguments += [extra] if extra else []
    lines += [
        f"    loss, *grads = core({', '.join(arguments)})",
        '    return {"loss": float(loss), **dict(zip(PARAMS, grads))}',
    ]
    return "\n".join(lines) + "\n"
