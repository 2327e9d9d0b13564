"""The statement IR of generated code.

Two levels, both data until the last moment:

- :class:`Assign` is a derived equation to schedule: ``target (op) expr`` on
  matrix expressions, which the passes (:mod:`passes`) hoist, share and prune,
  or one line of a straight-line scalar program (:mod:`program`), a step's
  template with the names it takes at that step;
- :class:`Line`, :class:`Block`, :class:`Del` and :class:`Blank` are the
  statements of the emitted function, printed by :func:`render`. Their reads and
  writes are read off the printed code with :mod:`ast` (analysis only: the
  code is never edited), which the dead-array pass uses.
"""

from __future__ import annotations

import ast
import enum
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import sympy as sp

from symbptt.model.matrices import MatExpr


def docstring(text: str) -> str:
    """``text`` as a triple-quoted string literal: a backslash, a quote or a control character in a name it
    quotes (a cell named by a user's file) is escaped, so no text ends the string or reaches the code."""
    escaped = "".join("\\\\" if c == "\\" else '\\"' if c == '"' else c if c.isprintable() or c == "\n"
                      else c.encode("unicode_escape").decode("ascii") for c in text)
    return f'"""{escaped}"""'


class Op(enum.StrEnum):
    """How an :class:`Assign` writes its target."""

    SET = "="
    ADD = "+="  # a parameter's running sum


@dataclass(frozen=True)
class Assign:
    """``target (op) expr``: set, or added to a parameter's running sum.

    In a matrix module the target and expression are matrix expressions. In a straight-line scalar program the
    expression is a step's template, printed once for every step, and ``names`` say what its placeholders stand
    for at this one (``H_prev`` is ``h_2``).
    """

    target: MatExpr | sp.Symbol
    expr: MatExpr | sp.Expr
    op: Op = Op.SET
    guarded: bool = False  # inside the strategy's `if` that carries adjoints to s_{t-1}
    names: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()

    def value(self) -> sp.Basic:
        """The expression with its placeholders' names put in."""
        return self.expr.xreplace(dict(self.names)) if self.names else self.expr


@dataclass(frozen=True)
class Line:
    """One simple statement, with the textbook equation it implements (``E14``) if any."""

    code: str
    comment: str = ""


@dataclass(frozen=True)
class Block:
    """A compound statement: ``header:`` then the body (and ``else:`` with ``orelse`` if given)."""

    header: str
    body: tuple[Node, ...]
    orelse: tuple[Node, ...] = ()
    comment: str = ""
    decorators: tuple[str, ...] = ()  # ``numba.njit(cache=True)``: each printed as ``@…`` above the header


@dataclass(frozen=True)
class Del:
    """``del`` of arrays nothing reads any more."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Blank:
    """An empty line, or a comment line on its own."""

    comment: str = ""


Node: TypeAlias = Line | Block | Del | Blank


def render(nodes: Iterable[Node], indent: int = 0) -> list[str]:
    """The nodes as source lines."""
    pad = "    " * indent
    out: list[str] = []
    for node in nodes:
        if isinstance(node, Line):
            out.append(f"{pad}{node.code}" + (f"  # {node.comment}" if node.comment else ""))
        elif isinstance(node, Block):
            out += [f"{pad}@{decorator}" for decorator in node.decorators]
            out.append(f"{pad}{node.header}:" + (f"  # {node.comment}" if node.comment else ""))
            out += render(node.body, indent + 1) if node.body else [f"{pad}    pass"]
            if node.orelse:
                out.append(f"{pad}else:")
                out += render(node.orelse, indent + 1)
        elif isinstance(node, Del):
            out.append(f"{pad}del {', '.join(node.names)}")
        else:
            out.append(f"{pad}# {node.comment}" if node.comment else "")
    return out


@functools.lru_cache(maxsize=4096)
def _names_in(code: str) -> tuple[frozenset[str], frozenset[str]]:
    """(read, written) names of one statement's code."""
    tree = ast.parse(code)
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    written = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    # `a[i] = …` and `a += …` read a as well
    for n in ast.walk(tree):
        if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
            read.add(n.target.id)
    return frozenset(read), frozenset(written)


def reads(node: Node) -> frozenset[str]:
    """Every name the node reads, in its body too."""
    if isinstance(node, Line):
        return _names_in(node.code)[0]
    if isinstance(node, Block):
        header = _header_code(node.header)
        inner = [reads(n) for n in (*node.body, *node.orelse)]
        return _names_in(header)[0].union(*inner)
    return frozenset()


def writes(node: Node) -> frozenset[str]:
    """Every name the node assigns, in its body too."""
    if isinstance(node, Line):
        return _names_in(node.code)[1]
    if isinstance(node, Block):
        inner = [writes(n) for n in (*node.body, *node.orelse)]
        return _names_in(_header_code(node.header))[1].union(*inner)
    return frozenset()


def sure_writes(node: Node) -> frozenset[str]:
    """The names ``node`` assigns on every path: a branch's only where both sides do; a loop's body's (the
    generated loops run at least once: T >= 1). What may be left unbound is never released with ``del``."""
    if isinstance(node, Line):
        return writes(node)
    if isinstance(node, Block):
        body = frozenset().union(*(sure_writes(n) for n in node.body))
        if node.header.startswith("if "):
            return body & frozenset().union(*(sure_writes(n) for n in node.orelse))
        return _names_in(_header_code(node.header))[1] | body
    return frozenset()


def _header_code(header: str) -> str:
    """A compound statement's header as a statement of its own, for reading its names."""
    if header.startswith("for "):
        target, _, iterable = header[4:].partition(" in ")
        return f"{target} = {iterable}"
    if header.startswith(("if ", "while ")):
        return header.split(" ", 1)[1]
    return "pass"


def lines(nodes: Sequence[Node]) -> list[Line]:
    """The simple statements among the nodes, in order, bodies included."""
    out: list[Line] = []
    for node in nodes:
        if isinstance(node, Line):
            out.append(node)
        elif isinstance(node, Block):
            out += lines(node.body) + lines(node.orelse)
    return out
