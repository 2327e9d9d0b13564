"""The four strategies of the contract on one LSTM problem: how far each is from the full gradient.

    python examples/truncation_strategies.py [--steps T] [--samples N]

Prints, for window, chunked and randomized truncation, the relative distance of
∂L/∂W_hc from the full gradient, and for randomized the average over N samples
of xi (unbiased: the average approaches the full gradient, the textbook's E9).
"""

from __future__ import annotations

import argparse

import numpy as np

import symbptt


def problem(T: int, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    d, h, q, B = 3, 8, 4, 16
    shapes = {"W_x": (h, d), "W_h": (h, h), "b_": (h,)}
    params = {f"{k}{g}": rng.normal(scale=0.6, size=s) for g in "ifoc" for k, s in shapes.items()}
    params |= {"W_qh": rng.normal(scale=0.5, size=(q, h)), "b_q": np.zeros(q)}
    return params, rng.normal(size=(T, B, d)), rng.integers(0, q, size=(T, B))


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    params, X, Y = problem(args.steps)
    full = symbptt.compile_gradient("lstm", loss="cross_entropy")(params, X, Y)["W_hc"]
    print(f"lstm, cross-entropy, T = {args.steps}: ||g - g_full|| / ||g_full|| for dL/dW_hc")
    for strategy, tau in (("window", 1), ("window", 5), ("window", 20), ("chunked", 5), ("chunked", 20)):
        grad = symbptt.compile_gradient("lstm", loss="cross_entropy", strategy=strategy, tau=tau)
        print(f"  {strategy:10} tau = {tau:3d}   {distance(grad(params, X, Y)['W_hc'], full):.4f}")
    randomized = symbptt.compile_gradient("lstm", loss="cross_entropy", strategy="randomized")
    rng = np.random.default_rng(1)
    draws = [randomized(params, X, Y, xi=symbptt.derive.sampling.sample_xi(0.5, args.steps, rng))["W_hc"]
             for _ in range(args.samples)]
    print(f"  randomized pi = 0.5    one draw {distance(draws[0], full):.4f}, "
          f"mean of {args.samples} draws {distance(np.mean(draws, axis=0), full):.4f} (unbiased)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
