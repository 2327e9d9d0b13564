"""The ``symbptt`` command line: it only calls the pipeline's stages.

Bad arguments print one line on stderr and exit with 2; failures while
working print one line and exit with 1. Neither prints a traceback or
leaves an output file behind.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from symbptt import __version__, derive, latex, model, ops, strategies
from symbptt.errors import SymbpttError
from symbptt.graph import check_steps, unroll


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _steps(text: str) -> int:
    try:
        return check_steps(int(text), "--steps")
    except ValueError:
        msg = f"must be an integer >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _tau(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"must be an integer >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symbptt", description="Backpropagation through time, derived symbolically.")
    parser.add_argument("--version", action="version", version=f"symbptt {__version__}")
    verbs = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = verbs.add_parser("derive", help="write the derivation of E1-E9 as a LaTeX document "
                         "(example: symbptt derive --model elman --steps 4 --out d.tex --pdf)")
    d.add_argument("--model", choices=model.MODELS, default="generic", help="the cell (default: generic)")
    d.add_argument("--activation", choices=tuple(ops.ACTIVATIONS), default="tanh",
                   help="activation of the elman cell (default: tanh)")
    d.add_argument("--steps", type=_steps, default=3, metavar="T", help="explicit T (default: 3)")
    d.add_argument("--strategy", choices=(*strategies.STRATEGIES, "all"), default="all",
                   help="which truncation strategy to derive (default: all)")
    d.add_argument("--tau", type=_tau, default=2, help="window length / piece length for the explicit forms (default: 2)")
    d.add_argument("--out", type=Path, help="write the .tex file here (default: standard output)")
    d.add_argument("--pdf", action="store_true", help="also compile the document to PDF (needs --out and pdflatex)")
    d.set_defaults(run=_derive)

    g = verbs.add_parser("graph", help="the unrolled computation graph in Graphviz DOT "
                         "(example: symbptt graph --steps 3 | dot -Tpdf > g.pdf)")
    g.add_argument("--model", choices=model.MODELS, default="generic")
    g.add_argument("--activation", choices=tuple(ops.ACTIVATIONS), default="tanh")
    g.add_argument("--steps", type=_steps, default=3, metavar="T")
    g.add_argument("--out", type=Path, help="write the .dot file here (default: standard output)")
    g.set_defaults(run=_graph)
    return parser


def _derive(args: argparse.Namespace) -> int:
    if args.pdf and args.out is None:
        print("symbptt: error: --pdf needs --out FILE.tex", file=sys.stderr)
        return 2
    chosen = strategies.STRATEGIES if args.strategy == "all" else (args.strategy,)
    cell = model.make_model(args.model, args.activation)
    print(f"symbptt: deriving {cell.title}, symbolic t and T = {args.steps} ...", file=sys.stderr)
    sections = [
        ("Gradient analysis for symbolic t", derive.symbolic(cell, chosen)),
        (f"Written out for T = {args.steps}", derive.explicit(cell, args.steps, chosen, args.tau)),
    ]
    text = latex.document(sections, f"Backpropagation through time: the {cell.title} model")
    if args.out is None:
        sys.stdout.write(text)
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"symbptt: wrote {args.out}", file=sys.stderr)
    if args.pdf:
        try:
            pdf = latex.compile_pdf(args.out)
        except SymbpttError:
            args.out.unlink()
            raise
        print(f"symbptt: wrote {pdf}", file=sys.stderr)
    return 0


def _graph(args: argparse.Namespace) -> int:
    dot = unroll(model.make_model(args.model, args.activation), args.steps).to_dot()
    if args.out is None:
        sys.stdout.write(dot)
    else:
        args.out.write_text(dot, encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (SymbpttError, ValueError, OSError) as exc:
        print(f"symbptt: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
