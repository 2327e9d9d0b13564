"""Exceptions raised by symbptt.

Wrong arguments raise built-in exceptions (``ValueError``); failures of the
engine raise :class:`SymbpttError` subclasses.
"""

from __future__ import annotations


class SymbpttError(Exception):
    """Base class of the errors raised by the engine itself."""


class NotSupportedError(SymbpttError, NotImplementedError):
    """The engine has no rule for this construct (yet)."""


class ProofError(SymbpttError, AssertionError):
    """A derivation step failed its own check: a bug in the engine, never in the input."""


class FormulaError(SymbpttError, ValueError):
    """A cell's formula text is refused: the message, then the line with a caret under the column."""

    def __init__(self, message: str, source: str = "", line: int = 0, column: int = 0) -> None:
        self.message, self.source, self.line, self.column = message, source, line, column
        where = f"line {line}, column {column + 1}: " if line else ""
        # a control or non-ASCII character is shown as ?, one column wide, so the caret stays under its column
        printed = "".join(c if c.isascii() and c.isprintable() else "?" for c in source)
        shown = f"\n    {printed}\n    {' ' * column}^" if source else ""
        super().__init__(f"{where}{message}{shown}")
