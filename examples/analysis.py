"""The section's claims as five figures, from the API: runs in seconds.

    python examples/analysis.py [--out FOLDER]

Writes spectrum, alignment, strategies, estimators and clipping (.png and
.svg) into FOLDER (default: ./figures). The same figures, at full size, come
from ``symbptt analyze spectrum|alignment|strategies|estimators|clipping``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from symbptt.analysis import alignment, estimators, figures, spectrum, training, truncation
from symbptt.derive import strategies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("figures"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    # 1. vanishing and exploding: the compiled adjoints of the linear cell are E15's powers of W_hh^T
    rows = []
    for rho in (0.9, 1.0, 1.1):
        W = spectrum.with_spectral_radius(16, rho, seed=0)
        linear, elman = spectrum.spectrum(W, 40), spectrum.spectrum(W, 40, cell="elman")
        agreement = np.max(np.abs(linear.norms - linear.powers) / linear.powers)
        print(f"rho = {rho}: compiled vs E15 agree to {agreement:.1e}; {elman.conditions}")
        rows.append((rho, linear, elman))
    figures.save(figures.spectra(rows), args.out / "spectrum")

    # 2. exercise 1: proved symbolically, then measured
    alignment.derivation()  # raises ProofError if any line does not hold
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    figures.save(figures.alignment(alignment.alignment((A + A.T) / 2, rng.normal(size=4), 25)),
                 args.out / "alignment")

    # 3. where each strategy cuts the gradient, on the opening of The Time Machine
    text = truncation.opening(32)
    cut = [("randomized (π = 0.8, seed 2)", truncation.cuts(strategies.make("randomized", pi=0.8, seed=2), 32)),
           ("chunked (k = 8)", truncation.cuts(strategies.make("chunked", tau=8), 32)),
           ("tbptt (k1 = 4, k2 = 8)", truncation.cuts(strategies.make("tbptt", k1=4, k2=8), 32)),
           ("full", truncation.cuts(strategies.make("full"), 32))]
    figures.save(figures.truncation(text, cut), args.out / "strategies")

    # 4. bias, variance and cost of every strategy (a small elman model predicting the next character)
    X, Y, vocabulary = truncation.encode(truncation.opening(24))
    h, q = 6, len(vocabulary)
    params = {"W_hx": rng.normal(size=(h, q)), "W_hh": rng.normal(scale=0.4, size=(h, h)), "b_h": np.zeros(h),
              "W_qh": rng.normal(size=(q, h)), "b_q": np.zeros(q)}
    bias = estimators.bias("elman", params, X, Y, [1, 2, 4, 8, 16, 32], loss="cross_entropy")
    spread = estimators.randomized("elman", params, X, Y, [0.25, 0.5, 0.75, 1.0], 40, loss="cross_entropy")
    print(f"randomized: exact expectation {spread['expectation']:.12f} (1 is full), "
          f"mean of 40 draws at pi = 0.5: {spread['mean'][1]:.3f} ± {spread['std'][1] / np.sqrt(40):.3f}")
    cost = estimators.cost("elman", params, X, Y, [strategies.make("full"), strategies.make("window", tau=4),
                                                   strategies.make("chunked", tau=4)], repeats=5,
                           loss="cross_entropy")
    figures.save(figures.estimators(bias, spread, cost), args.out / "estimators")

    # 5. clipping on a short training run
    runs = training.train(60)
    print("largest gradient norm: " + ", ".join(f"{r.label} {max(r.norms):.3g}" for r in runs))
    figures.save(figures.clipping(runs), args.out / "clipping")
    print(f"wrote 5 figures (.png and .svg) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
