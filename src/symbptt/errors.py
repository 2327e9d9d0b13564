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
