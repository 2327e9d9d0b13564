"""The ``symbptt`` command line: it only calls the pipeline's stages.

Bad arguments print one line on stderr and exit with 2; failures while
working print one line and exit with 1. Neither prints a traceback or
leaves an output file behind.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from symbptt import files, inputs
from symbptt._version import __version__
from symbptt.cli import analyze, flags
from symbptt.codegen import jit
from symbptt.codegen.dialects import DIALECTS
from symbptt.derive import size_one, strategies
from symbptt.document import documents, handout, narration
from symbptt.errors import SymbpttError
from symbptt.gradient import api, backends, clipping
from symbptt.model import cells, formula, formula_text, graph, losses, ops, stacked

MAX_DERIVE_STEPS = 100  # the written-out part costs ~T² (benchmarks/derive_steps.py: T = 50 1.7 s, T = 100 2.4 s)
MAX_GRAPH_STEPS = 500  # a graph of more steps is no figure anyone reads


def build_parser() -> argparse.ArgumentParser:
    parser = flags.Parser(prog="symbptt", description="Backpropagation through time, derived symbolically.",
                          epilog="example: symbptt derive --cell elman --out bptt.tex --pdf "
                                 "(symbptt COMMAND --help for each command's options and examples)")
    parser.add_argument("--version", action="version", version=f"symbptt {__version__}")
    verbs = parser.add_subparsers(dest="command", required=True, parser_class=flags.Parser)

    d = verbs.add_parser("derive", help="write the derivation (E1-E18) as a LaTeX document",
                         description="The derivation of backpropagation through time for a cell, as a standalone "
                                     "LaTeX document: E1-E9 for symbolic t and written out for T = --steps, "
                                     "then the adjoints E10-E16 of the cell's matrix form, the per-step "
                                     "decomposition E17 and the gates and activations E18.",
                         epilog="examples: symbptt derive --out bptt.tex --pdf; "
                                "symbptt derive --cell gru --loss cross_entropy --out gru.tex --pdf; "
                                "symbptt derive --steps 6 --strategy window --tau 3; "
                                "symbptt derive --cell lstm --lang ko --out lstm-ko.tex --pdf")
    flags.add_cell_choice(d, "generic", "the cell (default: generic, the textbook's f, g, l)")
    d.add_argument("--activation", choices=tuple(ops.ACTIVATIONS),
                   help="activation of the elman cell (default: tanh)")
    d.add_argument("--loss", choices=("generic", *losses.LOSSES),
                   help="loss of the matrix-level section (default: generic l(o_t, y_t))")
    d.add_argument("--steps", type=flags.steps_up_to(MAX_DERIVE_STEPS), metavar="T",
                   help=f"explicit T, at most {MAX_DERIVE_STEPS} (default: 3)")
    d.add_argument("--strategy", choices=(*strategies.STRATEGIES, "all"),
                   help="which truncation strategy to derive (default: all)")
    d.add_argument("--tau", type=flags.length,
                   help="window length / piece length / last k for the explicit forms (default: 2)")
    d.add_argument("--k1", type=flags.length, help="tbptt's k1 for the explicit forms (default: 2)")
    d.add_argument("--k2", type=flags.length, help="tbptt's k2 for the explicit forms (default: 3)")
    d.add_argument("--out", type=flags.output, help="write the .tex file here (default: standard output)")
    d.add_argument("--layers", type=flags.layers, default=1, metavar="L",
                   help="the cell stacked L deep (default: 1): the adjoints of layer l gather from layer l at t+1 "
                        "and layer l+1 at t")
    d.add_argument("--lang", choices=narration.LANGUAGES, default="en",
                   help="the language of the narration: " + ", ".join(f"{k} ({v})" for k, v in narration.NAMES.items())
                   + "; the mathematics is the same (default: en)")
    d.add_argument("--pdf", action="store_true",
                   help="also compile the document to PDF (needs --out; pdflatex, or XeLaTeX for other languages)")
    d.set_defaults(run=_derive)

    r = verbs.add_parser("grad", help="the gradient of the arrays in an .npz file, per the contract",
                         description="Read the parameters (by the contract's names), X, Y and optionally h0, c0, "
                                     "xi, lengths from INPUT.npz; write every parameter's gradient and the loss "
                                     "to GRADS.npz (and h0, c0, hT, cT when asked).",
                         epilog="example: symbptt grad in.npz --cell elman --strategy window --tau 5 --out g.npz")
    r.add_argument("input", type=Path, metavar="INPUT.npz",
                   help="parameters by name, X, Y, and optionally h0, c0, xi, lengths")
    flags.add_compile_options(r)
    r.add_argument("--clip-norm", type=flags.threshold, metavar="THETA",
                   help="scale all gradients to global norm <= THETA")
    r.add_argument("--clip-value", type=flags.threshold, metavar="C",
                   help="clip every entry to [-C, C] (after --clip-norm)")
    r.add_argument("--out", type=flags.output, required=True, metavar="GRADS.npz", help="the gradients and the loss")
    r.add_argument("--backend", choices=backends.BACKENDS, default="auto",
                   help="auto (default): Numba for narrow problems once compiled, else NumPy; numba compiles "
                        "(about 10 s the first time, cached on disk); array_api runs the array API module")
    r.set_defaults(run=_grad)

    c = verbs.add_parser("code", help="a standalone module of a compiled gradient (NumPy, Numba or array API)",
                         description="The generated module, readable, with the strategy's arguments written in; "
                                     "grad(params, X, Y, h0=None, c0=None, xi=None). --backend numpy needs only "
                                     "NumPy; numba adds Numba; array_api runs on PyTorch, JAX or CuPy arrays "
                                     "through array-api-compat.",
                         epilog="example: symbptt code --cell gru --strategy tbptt --k1 4 --k2 8 > gru_grad.py")
    flags.add_compile_options(c)
    c.add_argument("--backend", choices=tuple(DIALECTS), default="numpy",
                   help="the module's dialect (default: numpy)")
    c.add_argument("--padded", action="store_true",
                   help="the module for padded sequences: its grad takes lengths (B integers in 1..T)")
    c.add_argument("--out", type=flags.output, help="write the module here (default: standard output)")
    c.set_defaults(run=_code)

    g = verbs.add_parser("graph", help="the unrolled computation graph in Graphviz DOT",
                         description="The model unrolled over T steps as a Graphviz DOT graph: inputs, states, "
                                     "outputs, losses and the parameters they share.",
                         epilog="examples: symbptt graph --steps 3 --format pdf --out graph.pdf; "
                                "symbptt graph --cell gru | dot -Tsvg > gru.svg; symbptt graph --cell lstm --steps 6 "
                                "--reverse --strategy chunked --tau 3 --format png --out chunked.png")
    flags.add_cell_choice(g, "generic", "the cell (default: generic)")
    g.add_argument("--activation", choices=tuple(ops.ACTIVATIONS), help="of the elman cell (default: tanh)")
    g.add_argument("--steps", type=flags.steps_up_to(MAX_GRAPH_STEPS), default=3, metavar="T",
                   help=f"time steps drawn, at most {MAX_GRAPH_STEPS} (default: 3)")
    g.add_argument("--reverse", action="store_true",
                   help="also draw the gradient's reverse flow dL/ds_t -> dL/ds_(t-1) along every state, and with "
                        "--strategy the transitions no loss term's gradient crosses as cuts")
    g.add_argument("--strategy", choices=tuple(n for n in strategies.STRATEGIES if n != "randomized"),
                   default="full", help="the truncation whose cuts --reverse marks (default: full, no cut); "
                                        "randomized has no fixed cut")
    g.add_argument("--tau", type=flags.length, help="window length (window), piece length (chunked) or k (last)")
    g.add_argument("--k1", type=flags.length, help="tbptt: an update every k1 steps")
    g.add_argument("--k2", type=flags.length, help="tbptt: each update backpropagated through k2 states")
    g.add_argument("--format", choices=documents.GRAPH_FORMATS, default="dot",
                   help="dot (the text), or svg, png, pdf drawn by Graphviz's dot (default: dot)")
    g.add_argument("--out", type=flags.output, help="write the graph here (default: standard output)")
    g.set_defaults(run=_graph)
    analyze.add_parser(verbs)
    return parser


def _cell(args: argparse.Namespace) -> str | cells.Cell:
    """The cell by name, or the one the --cell-file's formulas define (its name is the file's stem)."""
    if args.cell_file is None:
        return str(args.cell)
    stem = args.cell_file.stem
    if not cells.CELL_NAME.fullmatch(stem):
        msg = (f"the cell is named by its file's stem, {stem!r}: name the file with letters, digits, _ and - "
               "(starting with a letter, at most 48), e.g. my_cell.txt")
        raise ValueError(msg)
    text = inputs.read_text(args.cell_file, formula_text.MAX_CHARS)
    return formula.cell_from_text(text, name=stem)


def _compile(args: argparse.Namespace) -> api.Gradient:
    cell = _cell(args)  # a bad cell file is bad data (exit 1); everything else here came from a flag (exit 2)
    flags.refuse_unused_lengths(args)
    try:
        cells.make_cell(cell, args.activation)
        strategies.make(args.strategy, tau=args.tau, pi=args.pi, seed=args.seed, k1=args.k1, k2=args.k2)
    except ValueError as exc:
        raise flags.UsageError(str(exc)) from None
    backend = args.backend if args.run is _grad else "numpy"  # code prints a module, compiles nothing
    return api.compile_gradient(cell, activation=args.activation, loss=args.loss, strategy=args.strategy,
                                tau=args.tau, pi=args.pi, seed=args.seed, k1=args.k1, k2=args.k2, backend=backend,
                                loss_at=args.loss_at, initial_state_grad=args.initial_state_grad,
                                return_state=args.return_state, layers=args.layers)


def _derive(args: argparse.Namespace) -> int:
    if args.pdf and args.out is None:
        print("symbptt: error: --pdf needs --out FILE.tex", file=sys.stderr)
        return 2
    if args.pdf:  # the PDF beside the document, and the engine, are checked before the work, as --out is
        try:
            flags.output(str(args.out.with_suffix(".pdf")))
        except argparse.ArgumentTypeError as exc:
            msg = f"argument --pdf: {exc}"
            raise flags.UsageError(msg) from None
        documents.tex_engine(documents.engine(args.lang))
    chosen = strategies.STRATEGIES if args.strategy in (None, "all") else (args.strategy,)
    chosen_cell = _cell(args)
    flags.refuse_unused(args, chosen_cell)
    cell = None if chosen_cell == "generic" else cells.make_cell(chosen_cell, args.activation or "tanh")
    if args.layers != 1:
        if cell is None:
            msg = "--layers stacks a cell: give --cell or --cell-file (the generic model is the textbook's one layer)"
            raise flags.UsageError(msg)
        cell = stacked.stack(cell, args.layers)
    if cell is not None and size_one.of(cell) is None:  # no analysis at size one to change
        given = [f"--{n.replace('_', '-')}" for n in ("steps", "strategy", "tau", "k1", "k2")
                 if getattr(args, n) is not None]
        if given:
            msg = (f"{', '.join(given)} appl{'y' if len(given) > 1 else 'ies'} to the scalar analysis (E1-E9), "
                   f"which the {cell.name} cell ({len(cell.state)} states) does not have")
            raise flags.UsageError(msg)
    lengths = {"tau": args.tau or 2, "k1": args.k1 or 2, "k2": args.k2 or 3}
    text = handout.build(cell, args.loss, chosen, args.steps or 3, lengths, args.lang)
    if args.out is None:
        files.to_stdout(text)
        return 0
    compile_pdf = functools.partial(documents.compile_pdf, tex=documents.engine(args.lang))
    pdf = files.write_document(args.out, text, compile_pdf if args.pdf else None)
    for written in (args.out, pdf):
        if written is not None:
            print(f"symbptt: wrote {written}", file=sys.stderr)
    return 0


def _grad(args: argparse.Namespace) -> int:
    backends.check_backend(args.backend)  # a missing optional package is said before any work
    if args.backend == "numba":
        print(f"symbptt: compiling the numba backend (several seconds the first time; cached in {jit.cache_folder()})",
              file=sys.stderr)
    grad = _compile(args)
    if args.backend == "numba":
        print(f"symbptt: numba backend ready in {grad.compile_seconds['numba']:.1f} s", file=sys.stderr)
    arrays = inputs.read_inputs(args.input, grad.param_names, grad.cell)
    params = {n: arrays[n] for n in grad.param_names if n in arrays}
    result = grad(params, arrays["X"], arrays["Y"], arrays.get("h0"), arrays.get("c0"), arrays.get("xi"),
                  arrays.get("lengths"))
    if args.clip_norm is not None:
        result = clipping.clip_norm(result, args.clip_norm)
    if args.clip_value is not None:
        result = clipping.clip_value(result, args.clip_value)
    files.write_npz(args.out, {k: np.asarray(v) for k, v in result.items()})
    print(f"symbptt: wrote {args.out} (loss = {result['loss']:.6g})", file=sys.stderr)
    return 0


def _code(args: argparse.Namespace) -> int:
    source = _compile(args).module_source(args.backend, padded=args.padded)
    if args.out is None:
        files.to_stdout(source)
    else:
        _write_text(args.out, source)
    return 0


def _write_text(path: Path, text: str) -> None:
    files.write_text(path, text)
    print(f"symbptt: wrote {path}", file=sys.stderr)


def _graph(args: argparse.Namespace) -> int:
    chosen = _cell(args)
    flags.refuse_unused(args, chosen)
    cell = None if chosen == "generic" else cells.make_cell(chosen, args.activation or "tanh")
    cuts = None
    if args.reverse:
        try:
            strategy = strategies.make(args.strategy, tau=args.tau, k1=args.k1, k2=args.k2)
        except ValueError as exc:
            raise flags.UsageError(str(exc)) from None
        cuts = strategies.cut_transitions(strategy, args.steps)
    elif args.strategy != "full":
        msg = f"--strategy {args.strategy} marks its cuts on the reverse flow: add --reverse"
        raise flags.UsageError(msg)
    if args.out is None and args.format != "dot" and sys.stdout is not None and sys.stdout.isatty():
        msg = f"--format {args.format} is binary: give --out FILE, or redirect standard output to a file"
        raise flags.UsageError(msg)
    if args.format != "dot":
        documents.graphviz(args.format)  # before the work
    drawn = documents.draw_graph(graph.figure(cell, args.steps, cuts).to_dot(), args.format)
    if args.out is None:
        files.to_stdout(drawn.decode("utf-8") if args.format == "dot" else drawn)
    else:
        files.write_bytes(args.out, drawn)
        print(f"symbptt: wrote {args.out}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else list(argv)):
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", api.NonFiniteWarning)
            code = int(args.run(args))
        for warning in caught:
            print(f"symbptt: warning: {warning.message}", file=sys.stderr)
        return code
    except flags.UsageError as exc:
        print(f"symbptt: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        print("symbptt: error: standard output was closed before everything was written", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("symbptt: interrupted; no output file was written or changed", file=sys.stderr)
        return 130
    except (SymbpttError, ValueError, OSError) as exc:
        print(f"symbptt: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug of ours: one line all the same; SYMBPTT_DEBUG=1 shows where
        if os.environ.get("SYMBPTT_DEBUG"):
            raise
        first = (str(exc).splitlines() or [""])[0]
        print(f"symbptt: internal error (a bug in symbptt; SYMBPTT_DEBUG=1 shows the traceback): "
              f"{type(exc).__name__}: {first}", file=sys.stderr)
        return 70


if __name__ == "__main__":
    raise SystemExit(main())
