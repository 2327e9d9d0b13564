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

from symbptt import arguments, files
from symbptt.analysis import figures
from symbptt.derive import strategies
from symbptt.model import cells, losses, ops, sequences, stacked


class Parser(argparse.ArgumentParser):
    """argparse with the one-line error: no usage block above it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")




class UsageError(ValueError):
    """Flags that do not go together: exit 2, as argparse's own errors."""


def output(text: str) -> Path:
    """An output file's path: not empty, not a folder, in a folder that exists, checked before any work."""
    path = Path(text)
    if not text or text.endswith(("/", "\\")) or path.is_dir() or not path.name:
        msg = f"must name a file to write, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    try:
        files.target(path)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return path


def stem(text: str) -> Path:
    """A figure's STEM, naming STEM.png and STEM.svg: both checked as outputs."""
    for path in figures.outputs(output(text)):
        output(str(path))
    return Path(text)


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
layers = integer_in(1, stacked.MAX_LAYERS)


# ------------------------------------------------------------------ flags several commands share


def add_compile_options(p: argparse.ArgumentParser) -> None:
    add_cell_choice(p, None, "the recurrent cell")
    p.add_argument("--activation", choices=tuple(ops.ACTIVATIONS), default="tanh",
                   help="activation of the elman cell (default: tanh)")
    p.add_argument("--loss", choices=losses.LOSSES, default="squared", help="default: squared")
    p.add_argument("--strategy", choices=strategies.STRATEGIES, default="full", help="default: full")
    p.add_argument("--tau", type=length, help="window length (window), piece length (chunked) or k (last)")
    p.add_argument("--k1", type=length, help="tbptt: an update every k1 steps")
    p.add_argument("--k2", type=length, help="tbptt: each update backpropagated through k2 states")
    p.add_argument("--pi", type=probability,
                   help="keep-probability in (0, 1] for randomized, when there is no xi")
    p.add_argument("--seed", type=seed, help="seed >= 0 for sampling xi (randomized)")
    p.add_argument("--layers", type=layers, default=1, metavar="L",
                   help="stacked layers, PyTorch's num_layers (default: 1); parameters NAME_l1, NAME_l2, …; h0 "
                        "and c0 in the input are then (L, B, h)")
    p.add_argument("--loss-at", choices=sequences.LOSS_AT, default="every",
                   help="every step (default), or last: one target per sequence, Y of shape (B, q) or (B,)")
    p.add_argument("--initial-state-grad", action="store_true",
                   help="also ∂L/∂h0 (and ∂L/∂c0), under the strategy's cut, as h0 (c0) in the output")
    p.add_argument("--return-state", action="store_true", help="also the final states, as hT (cT) in the output")


def add_cell_choice(p: argparse.ArgumentParser, default: str | None, help_text: str) -> None:
    """``--cell NAME`` (or ``--model``), or ``--cell-file FILE`` with the cell written as formulas."""
    choice = p.add_mutually_exclusive_group(required=default is None)
    names = ("generic", *cells.cell_names()) if default else cells.cell_names()
    choice.add_argument("--cell", dest="cell", choices=names, default=default, metavar="CELL",
                        help=f"{help_text}: {', '.join(names)}")
    choice.add_argument("--cell-file", type=Path, metavar="FILE",
                        help="a cell written as step equations, one `name = expression` per line "
                             "(docs/contract.md, 'Cells written as formulas')")


# ------------------------------------------------------------------ flags that do not go together


def refuse_unused(args: argparse.Namespace, cell: object) -> None:
    """A flag the chosen cell or strategy does not use is refused, never ignored."""
    refuse_unused_lengths(args)
    if args.activation is not None and cell != "elman":
        msg = f"--activation applies to the elman cell only, not {getattr(cell, 'name', cell)}"
        raise UsageError(msg)
    if getattr(args, "loss", None) is not None and cell == "generic":
        msg = "--loss applies to a cell's matrix section; the generic model's loss is the textbook's l"
        raise UsageError(msg)


def refuse_unused_lengths(args: argparse.Namespace) -> None:
    """``--tau``, ``--k1``, ``--k2``, ``--pi``, ``--seed`` only with a strategy that takes them."""
    strategy = getattr(args, "strategy", None) or "all"  # derive's default is all
    for argument in ("tau", "k1", "k2", "pi", "seed"):
        users = strategies.users_of(argument)
        if getattr(args, argument, None) is not None and strategy not in ("all", *users):
            also = " (or all)" if args.command == "derive" else ""
            msg = f"--{argument} applies to --strategy {' or '.join(users)}{also}, not {strategy}"
            raise UsageError(msg)
