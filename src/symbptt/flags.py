"""The command line's flag types: each parses one flag's text or refuses it in one line (exit 2).

argparse calls a type with the flag's text; a refusal becomes
``symbptt VERB: error: argument --tau: must be an integer >= 1, got '0'``.
The checks themselves are ``arguments``' and ``strategies``', the same the
Python API makes, so the two cannot disagree.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from symbptt import arguments, strategies


class Parser(argparse.ArgumentParser):
    """argparse with the one-line error: no usage block above it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")




class UsageError(ValueError):
    """Flags that do not go together: exit 2, as argparse's own errors."""


def output(text: str) -> Path:
    """An output file's path: not empty, not a folder."""
    path = Path(text)
    if not text or text.endswith(("/", "\\")) or path.is_dir() or not path.name:
        msg = f"must name a file to write, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return path


def _flag(parse: Callable[[str], object], check: Callable[[object], object], allowed: str) -> Callable[[str], object]:
    """An argparse type: ``check(parse(text))``, or one line ``must be <allowed>, got '<text>'`` (exit 2)."""
    def flag(text: str) -> object:
        try:
            return check(parse(text))
        except (ValueError, TypeError, OverflowError):
            msg = f"must be {allowed}, got {text!r}"
            raise argparse.ArgumentTypeError(msg) from None

    return flag


def _between(low: int, high: int) -> Callable[[object], int]:
    def check(value: object) -> int:
        value = arguments.positive_int(value, "value")
        if not low <= value <= high:
            raise ValueError
        return value

    return check


def integer_in(low: int, high: int) -> Callable[[str], object]:
    """An integer from ``low`` to ``high``: a count with a bound on the work it asks for."""
    return _flag(int, _between(low, high), f"an integer from {low} to {high}")


def steps_up_to(bound: int) -> Callable[[str], object]:
    return integer_in(1, bound)


length = _flag(int, lambda v: arguments.positive_int(v, "length"), "an integer >= 1")
probability = _flag(float, arguments.probability, "a probability in (0, 1]")
seed = _flag(int, strategies.check_seed, "an integer >= 0")
threshold = _flag(float, lambda v: arguments.positive_number(v, "threshold"), "a finite number > 0")
