"""Reading a cell's formula text: its bounds, the characters allowed, and the words for what is refused."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Sequence
from typing import Any

import sympy as sp

from symbptt.errors import FormulaError
from symbptt.model import matrices as mx
from symbptt.model import ops, symbols

MAX_CHARS, MAX_LINES, MAX_NAME = 4000, 64, 48  # bounds on the text (documented)
MAX_PARENTHESES, MAX_DEPTH = 32, 64  # nesting of parentheses, and of the expression's tree
FLOAT64_MIN, FLOAT64_MAX = sys.float_info.min, sys.float_info.max  # the normal numbers a printed constant can be
FUNCTIONS: dict[str, Any] = {"tanh": sp.tanh, "sigmoid": ops.sigmoid, "relu": ops.relu, "exp": sp.exp,
                             "log": sp.log, "identity": None, "softplus": ops.softplus}
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
NOT_OPERANDS = {"o": "o is the readout o = W_qh h + b_q, not a quantity of the step",
                "y": "y is the target, not a quantity of the step"}
DESCRIBE = {ast.Attribute: "attribute access", ast.Subscript: "a subscript", ast.Lambda: "a lambda",
             ast.ListComp: "a comprehension", ast.GeneratorExp: "a comprehension", ast.SetComp: "a comprehension",
             ast.DictComp: "a comprehension", ast.Compare: "a comparison", ast.BoolOp: "a boolean operator",
             ast.IfExp: "a conditional expression", ast.Starred: "a starred expression", ast.List: "a list",
             ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set", ast.JoinedStr: "a string",
             ast.NamedExpr: "an assignment expression", ast.Await: "await", ast.Yield: "yield"}


def checked_text(text: object) -> str:
    if not isinstance(text, str):
        msg = f"a cell's formulas must be a string, got {type(text).__name__}"
        raise TypeError(msg)
    lines = text.split("\n")
    if len(text) > MAX_CHARS or len(lines) > MAX_LINES:
        msg = f"formula text too long: {len(text)} characters in {len(lines)} lines; at most {MAX_CHARS} in {MAX_LINES}"
        raise FormulaError(msg)
    for number, line in enumerate(lines, start=1):
        for column, char in enumerate(line):
            if not (char.isascii() and (char.isprintable() or char == "\t")):
                msg = f"character {char!r} is not allowed (plain ASCII only)"
                raise FormulaError(msg, line, number, column)
        depth = 0
        for column, char in enumerate(line):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth > MAX_PARENTHESES:
                msg = f"parentheses nested deeper than {MAX_PARENTHESES}"
                raise FormulaError(msg, line, number, column)
    if not text.strip():
        msg = "no step equations: write one `name = expression` per line, with h among the names"
        raise FormulaError(msg)
    return text


def depth(node: ast.AST) -> int:
    """The nesting depth of an expression's tree, without recursion (a long sum is a deep tree)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack += [(child, level + 1) for child in ast.iter_child_nodes(current)]
    return deepest


def text(node: ast.AST) -> str:
    return ast.unparse(node)


def shape(symbol: sp.MatrixSymbol) -> str:
    return f"({symbol.shape[0]}, {symbol.shape[1]})" if symbol.shape[1] != 1 else f"({symbol.shape[0]},)"


def article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"



def refused_value(target: str, expr: sp.Expr, written: str) -> str | None:
    """Why a step's simplified value is refused: identically zero, or holding a constant float64 cannot hold."""
    if isinstance(expr, sp.ZeroMatrix) or expr == 0:
        return f"{target} = {written} is identically zero: a step must depend on something"
    for number in sorted(expr.atoms(sp.Number), key=abs, reverse=True):
        if number != 0 and not FLOAT64_MIN <= abs(float(number)) <= FLOAT64_MAX:
            return (f"{target} = …: the constant {str(sp.Float(number, 3)).lower()} it makes is outside float64's "
                    f"range ({FLOAT64_MIN:.3g} to {FLOAT64_MAX:.3g} in magnitude)")
    return None


def what_does_not_reach_h(steps: Sequence[tuple[mx.Seq, Any]], state: Sequence[mx.Seq],
                          params: Sequence[sp.MatrixSymbol]) -> tuple[str, str] | None:
    """The first name, and why, of what has no effect once SymPy has simplified (``h = 1 + 0 * h``,
    ``... + 0 * b``): a state whose previous value is never read, a step value or parameter that reaches h at
    neither this step nor a later one."""
    values = {node.name: value for node, value in steps}
    for s in state:
        if not any(value.has(s.at(symbols.t - 1)) for value in values.values()):
            return s.name, f"{s.name} must be a state, but its previous value cancels out of every step"
    reaching, pending = {"h"}, ["h"]  # the steps h_t or a later h depends on, through values and states
    while pending:
        for used in values[pending.pop()].atoms(mx.Seq):
            if used.name in values and used.name not in reaching:
                reaching.add(used.name)
                pending.append(used.name)
    for node, _ in steps:
        if node.name not in reaching:
            return node.name, f"{node.name} never reaches h (it is not used, or cancels out): every step must"
    for W in params:
        if not any(values[name].has(W) for name in reaching):
            return W.name, f"{W.name} cancels out of every step: a parameter must have an effect"
    return None
