"""``symbptt analyze …``: the section's claims as figures (PNG and SVG), on the user's model or the defaults.

Each subcommand computes with ``symbptt.analysis`` (the engine's compiled
gradients and symbolic derivations) and draws with ``analysis.figures``
(matplotlib: ``pip install 'symbptt[plot]'``).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from symbptt import inputs
from symbptt.analysis import alignment, estimators, figures, spectrum, training, truncation
from symbptt.cli import flags
from symbptt.derive import strategies
from symbptt.document import documents
from symbptt.model import ops

CHARACTERS = 40  # the opening of The Time Machine the figures are drawn on


def add_parser(verbs: argparse._SubParsersAction) -> None:
    a = verbs.add_parser("analyze", help="the section's claims as figures (PNG and SVG; needs matplotlib)",
                         description="The section's claims as figures, each written as STEM.png and STEM.svg.",
                         epilog="example: symbptt analyze spectrum --radii 0.9 1.0 1.1 --out spectrum "
                                "(symbptt analyze KIND --help for each kind's options)")
    kinds = a.add_subparsers(dest="analysis", required=True, parser_class=flags.Parser)

    s = kinds.add_parser("strategies", help="where each strategy cuts the gradient, on The Time Machine",
                         description="Where each truncation strategy cuts the gradient's way back, drawn over the "
                                     "first characters of The Time Machine (one step per character): the pieces, "
                                     "the update spans and, for randomized, the transitions its drawn xi keeps.",
                         epilog="example: symbptt analyze strategies --pi 0.8 --seed 2 --out cuts")
    s.add_argument("--characters", type=flags.steps_up_to(80), default=CHARACTERS, metavar="N",
                   help=f"characters of the text, one step each (default: {CHARACTERS}, at most 80)")
    s.add_argument("--pi", type=flags.probability, default=0.8, help="randomized: keep-probability (default: 0.8)")
    s.add_argument("--seed", type=flags.seed, default=2, help="randomized: the seed of xi (default: 2)")
    s.add_argument("--tau", type=flags.length, default=8, help="chunked: piece length (default: 8)")
    s.add_argument("--k1", type=flags.length, default=4, help="tbptt: an update every k1 steps (default: 4)")
    s.add_argument("--k2", type=flags.length, default=8, help="tbptt: backpropagated through k2 (default: 8)")
    _out(s, "strategies")
    s.set_defaults(run=_drawn(_strategies))

    m = kinds.add_parser("alignment", help="exercise 1: M^k x turns toward the top eigenvector",
                         description="Exercise 1 of the section: for a random symmetric M, the angle between M^k x "
                                     "and the top eigenvector v_1 shrinks as |lambda_2 / lambda_1|^k; the symbolic "
                                     "proof is checked first (--tex writes it).",
                         epilog="example: symbptt analyze alignment --size 5 --steps 30 --out alignment")
    m.add_argument("--size", type=flags.integer_in(2, 200), default=5, metavar="N",
                   help="size of the random symmetric M, 2 to 200 (default: 5)")
    m.add_argument("--steps", type=flags.steps_up_to(500), default=30, metavar="K", help="powers k (default: 30)")
    m.add_argument("--seed", type=flags.seed, default=0, help="seed of M and x (default: 0)")
    m.add_argument("--tex", type=flags.output, metavar="FILE.tex", help="also write the symbolic proof as LaTeX")
    _out(m, "alignment")
    m.set_defaults(run=_drawn(_alignment))

    e = kinds.add_parser("estimators", help="bias, variance and cost of every strategy against full",
                         description="Each strategy's gradient against full BPTT on an Elman network: the relative "
                                     "bias of the deterministic truncations as their length grows, the spread of "
                                     "randomized truncation's draws for several pi, and the cost of each.",
                         epilog="example: symbptt analyze estimators --draws 200 --out estimators")
    e.add_argument("--hidden", type=flags.steps_up_to(256), default=8, metavar="H", help="hidden size (default: 8)")
    e.add_argument("--draws", type=flags.steps_up_to(10000), default=200, metavar="N",
                   help="sampled xi per pi (default: 200)")
    e.add_argument("--seed", type=flags.seed, default=0, help="seed of the weights and of xi (default: 0)")
    _out(e, "estimators")
    e.set_defaults(run=_drawn(_estimators))

    r = kinds.add_parser("spectrum", help="vanishing and exploding gradients as powers of W_hh (E15)",
                         description="The norm of dl_T/dh_t against the lag T - t, from compiled gradients of the "
                                     "linear cell (E15's powers of W_hh^T) and of an Elman cell, for W_hh of given "
                                     "spectral radii or your own; with the eigenvalues and Pascanu's conditions.",
                         epilog="example: symbptt analyze spectrum --radii 0.9 1.0 1.1 --out spectrum")
    r.add_argument("--hidden", type=flags.steps_up_to(512), metavar="H",
                   help="size of the drawn W_hh (default: 32, a matrix whose spectrum is clearly visible)")
    r.add_argument("--steps", type=flags.steps_up_to(500), default=60, metavar="T",
                   help="the longest lag T - t drawn (default: 60)")
    r.add_argument("--radii", type=flags.threshold, nargs="+", metavar="RHO",
                   help="spectral radii of the drawn W_hh (default: 0.9 1.0 1.1)")
    r.add_argument("--weights", type=Path, metavar="W.npz", help="use this W_hh (an .npz holding W_hh) instead")
    r.add_argument("--activation", choices=tuple(ops.ACTIVATIONS), default="tanh",
                   help="the elman cell's activation beside the linear cell (default: tanh)")
    r.add_argument("--seed", type=flags.seed, default=0, help="seed of the drawn W_hh (default: 0)")
    _out(r, "spectrum")
    r.set_defaults(run=_drawn(_spectrum))

    c = kinds.add_parser("clipping", help="gradient norm and loss of a short training run, clipped or not",
                         description="Three gradient-descent runs from one start on The Time Machine (characters as "
                                     "classes): unclipped, with clip_norm and with clip_value; their gradient "
                                     "norms and losses per update.",
                         epilog="example: symbptt analyze clipping --updates 150 --out clipping")
    c.add_argument("--updates", type=flags.steps_up_to(5000), default=150, metavar="N",
                   help="gradient-descent updates of each run (default: 150)")
    c.add_argument("--theta", type=flags.threshold, default=1.0, help="clip_norm's threshold (default: 1)")
    c.add_argument("--c", type=flags.threshold, default=0.1, help="clip_value's bound (default: 0.1)")
    c.add_argument("--seed", type=flags.seed, default=0, help="seed of the weights and windows (default: 0)")
    _out(c, "clipping")
    c.set_defaults(run=_drawn(_clipping))


def _drawn(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``run``, once matplotlib is known to be there: a missing package is said before the work, not after it."""
    @functools.wraps(run)
    def checked(args: argparse.Namespace) -> int:
        figures.pyplot()
        return run(args)

    return checked


def _out(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument("--out", type=flags.stem, default=default, metavar="STEM",  # a text default: checked too
                   help=f"write STEM.png and STEM.svg (default: {default})")


def _written(paths: tuple[Path, Path]) -> int:
    print(f"symbptt: wrote {paths[0]} and {paths[1]}", file=sys.stderr)
    return 0


def _strategies(args: argparse.Namespace) -> int:
    text = truncation.opening(args.characters)
    T = len(text)
    rows = [
        (f"randomized (π = {args.pi:g}, seed {args.seed})",
         truncation.cuts(strategies.make("randomized", pi=args.pi, seed=args.seed), T)),
        (f"chunked (k = {args.tau})", truncation.cuts(strategies.make("chunked", tau=args.tau), T)),
        (f"tbptt (k1 = {args.k1}, k2 = {args.k2})",
         truncation.cuts(strategies.make("tbptt", k1=args.k1, k2=args.k2), T)),
        ("full", truncation.cuts(strategies.make("full"), T)),
    ]
    return _written(figures.save(figures.truncation(text, rows), args.out))


def _alignment(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    A = rng.normal(size=(args.size, args.size))
    result = alignment.alignment((A + A.T) / 2, rng.normal(size=args.size), args.steps)
    proof = alignment.derivation()  # proved before anything is written
    also = {}
    if args.tex is not None:  # written with the figure, or none of the three
        document = documents.render_plain([("Exercise 1: the powers of a symmetric matrix", proof)],
                                          "Exercise 1, proved symbolically")
        also[args.tex] = document.encode("utf-8")
    written = _written(figures.save(figures.alignment(result), args.out, also))
    if args.tex is not None:
        print(f"symbptt: wrote {args.tex}", file=sys.stderr)
    return written


def _estimators(args: argparse.Namespace) -> int:
    X, Y, vocabulary = truncation.encode(truncation.opening(CHARACTERS))
    params = _elman_weights(args.hidden, len(vocabulary), args.seed)
    T = X.shape[0]
    print(f"symbptt: {len(vocabulary)} classes, T = {T}: bias, {args.draws} draws per pi, cost ...", file=sys.stderr)
    lengths = [n for n in (1, 2, 4, 8, 16, 32, 64) if n < 2 * T]
    bias = estimators.bias("elman", params, X, Y, lengths, loss="cross_entropy")
    spread = estimators.randomized("elman", params, X, Y, [0.2, 0.4, 0.6, 0.8, 1.0], args.draws, seed=args.seed,
                                   loss="cross_entropy")
    chosen = [strategies.make("full"), strategies.make("window", tau=8), strategies.make("chunked", tau=8),
              strategies.make("tbptt", k1=4, k2=8), strategies.make("last", tau=8),
              strategies.make("randomized", pi=0.5, seed=args.seed)]
    cost = estimators.cost("elman", params, X, Y, chosen, loss="cross_entropy")
    title = (f"elman-tanh (h = {args.hidden}) predicting the next character of The Time Machine's opening "
             f"(T = {T}, {len(vocabulary)} classes, cross-entropy)")
    return _written(figures.save(figures.estimators(bias, spread, cost, title), args.out))


def _elman_weights(h: int, classes: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"W_hx": rng.normal(scale=1.0, size=(h, classes)), "W_hh": rng.normal(scale=0.9 / np.sqrt(h), size=(h, h)),
            "b_h": np.zeros(h), "W_qh": rng.normal(scale=1.0 / np.sqrt(h), size=(classes, h)), "b_q": np.zeros(classes)}


def _spectrum(args: argparse.Namespace) -> int:
    if args.weights is not None:
        given = [flag for flag, value in (("--radii", args.radii), ("--hidden", args.hidden)) if value is not None]
        if given:
            msg = f"{' and '.join(given)} draw a W_hh; --weights gives one: use one or the other"
            raise flags.UsageError(msg)
        arrays = inputs.read_npz(args.weights)
        if "W_hh" not in arrays:
            msg = f"{args.weights} has no array 'W_hh'"
            raise ValueError(msg)
        matrices = [arrays["W_hh"]]
    else:
        radii = args.radii or [0.9, 1.0, 1.1]
        if len(radii) > len(figures.RADIUS_COLOURS):
            msg = f"--radii takes at most {len(figures.RADIUS_COLOURS)} values, got {len(radii)}"
            raise flags.UsageError(msg)
        matrices = [spectrum.with_spectral_radius(args.hidden or 32, rho, args.seed) for rho in radii]
    rows = []
    for W in matrices:
        linear = spectrum.spectrum(W, args.steps)  # checks W first
        elman = spectrum.spectrum(W, args.steps, cell="elman", activation=args.activation)
        rho = float(max(abs(linear.eigenvalues)))
        print(f"symbptt: rho = {rho:.3g}, {args.activation}: {elman.conditions}", file=sys.stderr)
        rows.append((rho, linear, elman))
    return _written(figures.save(figures.spectra(rows), args.out))


def _clipping(args: argparse.Namespace) -> int:
    runs = training.train(args.updates, theta=args.theta, c=args.c, seed=args.seed)
    title = (f"elman-tanh, h = {training.HIDDEN}, gradient descent (step {training.RATE:g}) on windows of "
             f"{training.WINDOW} characters of The Time Machine; W_hh starts at spectral radius {training.RADIUS:g}")
    return _written(figures.save(figures.clipping(runs, title), args.out))
