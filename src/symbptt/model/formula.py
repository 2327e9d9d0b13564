"""Cells written as formulas: text in, a :class:`~symbptt.model.cells.Cell` out, never evaluated.

The language (docs/contract.md, "Cells written as formulas"): one
``name = expression`` per line; ``@`` matrix product, ``*`` entrywise product
(or scaling by a number), ``+``, ``-``, ``/`` by a number, parentheses; the
functions tanh, sigmoid, relu, exp, log, identity, softplus. ``x`` is the input;
a name read before it is assigned is a state, read at t − 1; a name never
assigned is a parameter, its shape inferred from its first use.

The text is parsed with Python's :mod:`ast` and each node is checked against
an allow-list before it becomes a SymPy expression; nothing is evaluated, and
anything else is refused with the line and a caret under the column.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import sympy as sp

from symbptt.errors import FormulaError
from symbptt.model import cells
from symbptt.model import formula_text as reading
from symbptt.model import matrices as mx
from symbptt.model.symbols import d, h


@dataclass
class Value:
    """An operand: a matrix expression with its size (h or d), a number, or a parameter not yet shaped."""

    expr: Any
    size: Any = None  # h or d for a column; None for a number
    pending: str | None = None  # the name of a parameter whose shape the context decides


def cell_from_text(text: str, name: str = "formula") -> cells.Cell:
    """The cell the step equations in ``text`` define (see the module docstring)."""
    return _Parser(reading.checked_text(text), cells.check_name(name)).cell()


def cell_from_formulas(formulas: Mapping[str, str], name: str = "formula") -> cells.Cell:
    """The same from a mapping ``{"f": "sigmoid(W_xf @ x + b_f)", "h": ...}``, in its order."""
    if not isinstance(formulas, Mapping):
        msg = f"formulas must be a mapping of names to formula strings, got {type(formulas).__name__}"
        raise TypeError(msg)
    bad = [k for k, v in formulas.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        msg = f"formulas must map names to strings; {bad[0]!r} does not"
        raise TypeError(msg)
    return cell_from_text("\n".join(f"{k} = {v}" for k, v in formulas.items()), name)


class _Parser:
    def __init__(self, text: str, name: str) -> None:
        self.lines, self.name = text.split("\n"), name
        try:
            tree = ast.parse(text)  # parsing builds a tree; nothing is compiled or run
        except SyntaxError as exc:
            line = exc.lineno or 1
            msg = f"not a formula: {exc.msg}"
            raise FormulaError(msg, self._line(line), line, max((exc.offset or 1) - 1, 0)) from None
        self.statements = [self._statement(node) for node in tree.body]
        self.assigned = {target: number for number, (target, _) in enumerate(self.statements)}
        self.params: dict[str, tuple[sp.MatrixSymbol, int]] = {"W_qh": (cells.W_qh, 0), "b_q": (cells.b_q, 0)}
        self.order: list[str] = []  # the parameters in the order of their first use
        self.states: list[str] = []
        self.current = 0

    def _line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def fail(self, message: str, node: ast.AST) -> NoReturn:
        """Refuse the formula at ``node``: its line, and a caret under its column."""
        line = getattr(node, "lineno", 1)
        raise FormulaError(message, self._line(line), line, getattr(node, "col_offset", 0))

    def _statement(self, node: ast.stmt) -> tuple[str, ast.expr]:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            kind = type(node).__name__.lower()
            self.fail(f"each line is `name = expression`; this is {reading.article(kind)} {kind} statement", node)
        target = node.targets[0]
        self._check_name(target.id, target)
        if target.id == "x":
            self.fail("x is the input x_t: it cannot be assigned", target)
        if target.id in ("W_qh", "b_q"):
            self.fail(f"{target.id} is a parameter of the readout o = W_qh h + b_q", target)
        if reading.depth(node.value) > reading.MAX_DEPTH:
            self.fail(f"expression nested deeper than {reading.MAX_DEPTH}", node.value)
        return target.id, node.value

    def _check_name(self, name: str, node: ast.AST) -> None:
        if not reading.NAME.match(name) or len(name) > reading.MAX_NAME:
            self.fail(f"name {name!r} is not allowed: letters, digits and _, starting with a letter, "
                            f"at most {reading.MAX_NAME} characters", node)
        if name in reading.FUNCTIONS:
            self.fail(f"{name} is a function: call it, {name}(...)", node)
        if name in reading.NOT_OPERANDS:
            self.fail(reading.NOT_OPERANDS[name], node)

    # ---------------------------------------------------------------- the cell
    def cell(self) -> cells.Cell:
        seen = set()
        for number, (target, _) in enumerate(self.statements):
            if target in seen:
                self.fail(f"{target} is assigned twice", self._target_node(number))
            seen.add(target)
        if "h" not in self.assigned:
            last = len(self.statements)
            msg = "h is never assigned: the cell's state h must be a step equation `h = ...`"
            raise FormulaError(msg, self._line(last), last, 0)
        steps = []
        for number, (target, value) in enumerate(self.statements):
            self.current = number
            result = self._shaped(self.expr(value), h, value)
            if result.size != h:
                self.fail(f"{target} = …: a step's value must be (h,), this is ({result.size},)", value)
            refused = reading.refused_value(target, result.expr, reading.text(value))
            if refused:
                self.fail(refused, value)
            steps.append((mx.seq(target, h), result.expr))
        if "h" not in self.states:
            self.fail("h must be a state: read h (its previous value h_{t-1}) before assigning it",
                            self._target_node(self.assigned["h"]))
        state = tuple(mx.seq(s, h) for s in ["h", *(s for s in self.states if s != "h")])
        params = tuple(self.params[n][0] for n in self.order if n not in ("W_qh", "b_q"))
        unused = reading.what_does_not_reach_h(steps, state, params)
        if unused is not None:
            what, message = unused
            if what in self.assigned:
                self.fail(message, self._target_node(self.assigned[what]))
            self.fail(message, ast.Name(id="", lineno=self.params[what][1], col_offset=0))
        return cells.Cell(self.name, None, (*params, cells.W_qh, cells.b_q), state, tuple(steps), cells.readout())

    def _target_node(self, number: int) -> ast.AST:
        return ast.Name(id="", lineno=self._statement_line(number), col_offset=0)

    def _statement_line(self, number: int) -> int:
        target = self.statements[number][1]
        return getattr(target, "lineno", 1)

    # ---------------------------------------------------------------- expressions
    def expr(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            if not math.isfinite(node.value):  # 1e999 reads as inf
                self.fail(f"the number {self._line(node.lineno)[node.col_offset:node.end_col_offset]} is not finite",
                          node)
            value = sp.Rational(repr(node.value)) if isinstance(node.value, float) else sp.Integer(node.value)
            return Value(value)
        if isinstance(node, ast.Name):
            return self.name_value(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.expr(node.operand)
            return operand if isinstance(node.op, ast.UAdd) else self.scale(sp.S.NegativeOne, operand, node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        kind = reading.DESCRIBE.get(type(node)) or (
            "a string" if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes) else
            f"the constant {node.value!r}" if isinstance(node, ast.Constant) else type(node).__name__)
        return self.fail(f"{kind} is not allowed in a formula (allowed: names, numbers, @ * + - /, "
                        f"{', '.join(reading.FUNCTIONS)})", node)

    def name_value(self, node: ast.Name) -> Value:
        name = node.id
        self._check_name(name, node)
        if name == "x":
            return Value(cells.x_t, d)
        if name in self.assigned:
            if self.assigned[name] >= self.current:  # read before its assignment: the previous value
                if name not in self.states:
                    if len(self.states) == len(cells.INITIAL_STATES):
                        self.fail(f"{name} would be a third state; a cell has at most two (h, and one more, whose "
                                  "initial value is passed as c0)", node)
                    self.states.append(name)
                return Value(mx.seq(name, h, -1), h)
            return Value(mx.seq(name, h), h)
        if name not in self.params:
            self.order.append(name)
            return Value(None, pending=name)
        if name not in self.order:
            self.order.append(name)
        symbol, _ = self.params[name]
        if symbol.shape[1] != 1:
            self.fail(f"{name} is a matrix {reading.shape(symbol)} from line {self.params[name][1]}: "
                            f"use it as {name} @ v", node)
        return Value(symbol, symbol.shape[0])

    def declare(self, name: str, rows: Any, cols: Any, node: ast.AST) -> sp.MatrixSymbol:
        symbol = sp.MatrixSymbol(name, rows, cols)
        if name in self.params and self.params[name][0].shape != symbol.shape:  # W + W @ h: one name, two shapes
            earlier, line = self.params[name]
            self.fail(f"{name} is {reading.shape(earlier)} from line {line} and {reading.shape(symbol)} here: "
                      "a parameter has one shape", node)
        self.params[name] = (symbol, getattr(node, "lineno", 1))
        return symbol

    def _shaped(self, value: Value, size: Any, node: ast.AST) -> Value:
        """A parameter still unshaped becomes a column of ``size`` entries."""
        if value.pending is None:
            return value
        return Value(self.declare(value.pending, size, 1, node), size)

    def binary(self, node: ast.BinOp) -> Value:
        if isinstance(node.op, ast.MatMult):
            return self.matmul(node)
        left, right = self.expr(node.left), self.expr(node.right)
        if isinstance(node.op, ast.Div):
            if right.size is not None or right.pending is not None or right.expr == 0:
                self.fail("/ divides by a nonzero number only", node.right)
            return self.scale(1 / right.expr, left, node)
        if isinstance(node.op, ast.Mult):
            if left.size is None and left.pending is None:
                return self.scale(left.expr, right, node)
            if right.size is None and right.pending is None:
                return self.scale(right.expr, left, node)
            left, right = self.agree(left, right, "*", node)
            return Value(mx.hadamard(left.expr, right.expr), left.size)
        if isinstance(node.op, ast.Add | ast.Sub):
            if isinstance(node.op, ast.Sub):
                right = self.scale(sp.S.NegativeOne, right, node)
            if left.size is None and left.pending is None and right.size is None and right.pending is None:
                return Value(left.expr + right.expr)
            if left.size is None and left.pending is None:
                left = Value(mx.mul(left.expr, sp.OneMatrix(right.size or h, 1)), right.size or h)
            if right.size is None and right.pending is None:
                right = Value(mx.mul(right.expr, sp.OneMatrix(left.size or h, 1)), left.size or h)
            left, right = self.agree(left, right, "+" if isinstance(node.op, ast.Add) else "-", node)
            return Value(mx.add(left.expr, right.expr), left.size)
        return self.fail(f"the operator {type(node.op).__name__} is not allowed (allowed: @ * + - /; "
                         "write a * a for a square)", node)

    def scale(self, number: sp.Expr, value: Value, node: ast.AST) -> Value:
        if value.size is None and value.pending is None:
            return Value(number * value.expr)
        value = self._shaped(value, h, node)
        return Value(mx.mul(number, value.expr), value.size)

    def agree(self, left: Value, right: Value, op: str, node: ast.BinOp) -> tuple[Value, Value]:
        left = self._shaped(left, right.size or h, node)
        right = self._shaped(right, left.size, node)
        if left.size != right.size:
            a, b = reading.text(node.left), reading.text(node.right)
            self.fail(f"{a} {op} {b}: the sizes differ, {a} is ({left.size},) and {b} is ({right.size},)", node)
        return left, right

    def matmul(self, node: ast.BinOp) -> Value:
        right = self.expr(node.right)
        if right.size is None and right.pending is None:
            self.fail(f"{reading.text(node)}: the right of @ must be a vector, not a number", node.right)
        right = self._shaped(right, h, node)
        if not isinstance(node.left, ast.Name):
            self.expr(node.left)  # refused by the allow-list first, where it is not allowed anywhere
        if not isinstance(node.left, ast.Name) or node.left.id == "x" or node.left.id in self.assigned:
            self.fail(f"{reading.text(node)}: the left of @ must be a parameter (a matrix), "
                            f"and {reading.text(node.left)} is not one", node.left)
        name = node.left.id
        self._check_name(name, node.left)
        if name not in self.order:
            self.order.append(name)
        if name not in self.params:
            return Value(mx.mul(self.declare(name, h, right.size, node.left), right.expr), h)
        symbol, line = self.params[name]
        if symbol.shape != (h, right.size):
            where = f"from line {line}" if line else "(the readout's)"
            self.fail(f"{reading.text(node)}: {name} is {reading.shape(symbol)} {where}, "
                            f"{reading.text(node.right)} is ({right.size},)", node)
        return Value(mx.mul(symbol, right.expr), h)

    def call(self, node: ast.Call) -> Value:
        if not isinstance(node.func, ast.Name):
            self.expr(node.func)  # refused by the allow-list, with its own name (attribute, lambda, …)
        if not isinstance(node.func, ast.Name) or node.func.id not in reading.FUNCTIONS:
            called = reading.text(node.func)
            self.fail(f"calling {called} is not allowed; the functions are {', '.join(reading.FUNCTIONS)}", node.func)
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            self.fail(f"{node.func.id} takes one argument, written plainly", node)
        argument = self.expr(node.args[0])
        function = reading.FUNCTIONS[node.func.id]
        if function is None:
            return argument
        if argument.size is None and argument.pending is None:
            return Value(function(argument.expr))
        argument = self._shaped(argument, h, node)
        return Value(mx.elementwise(mx.scalar_function(function), argument.expr), argument.size)
