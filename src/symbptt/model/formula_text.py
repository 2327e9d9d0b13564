"""Reading a cell's formula text: its bounds, the characters allowed, and the words for what is refused."""

from __future__ import annotations

import ast
import re
from typing import Any

import sympy as sp

from symbptt.errors import FormulaError
from symbptt.model import ops

MAX_CHARS, MAX_LINES, MAX_NAME = 4000, 64, 48  # bounds on the text (documented)
MAX_PARENTHESES, MAX_DEPTH = 32, 64  # nesting of parentheses, and of the expression's tree
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

