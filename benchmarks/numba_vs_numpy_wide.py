"""The Numba backend against the NumPy backend at the wide sizes, as paired ratios with a confidence interval.

    OPENBLAS_NUM_THREADS=1 python benchmarks/numba_vs_numpy_wide.py [--repeats 200]

At h = 256 both backends spend most of their time in the same BLAS products, so
the difference between them is a few percent, less than the drift of a shared
machine between two medians. Here each repeat times the two back to back, in
alternating order, and the ratio numba / numpy of that pair is kept: drift
cancels within a pair. Printed: the median of the paired ratios and its 95%
bootstrap interval; an interval wholly below 1 means Numba is faster.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads BLAS

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from compiled_vs_handwritten import problem, timed  # noqa: E402

import symbptt  # noqa: E402

SIZES = [  # cell, (d, h, q, T, B): the README's sizes where the two are closest, and the gated cells wide
    ("elman", (32, 64, 32, 100, 32)),
    ("elman", (64, 256, 64, 100, 32)),
    ("elman", (64, 256, 64, 1000, 8)),
    ("lstm", (32, 64, 32, 100, 32)),
    ("lstm", (64, 256, 64, 100, 32)),
    ("gru", (64, 256, 64, 100, 32)),
]


def paired_ratios(cell: str, size: tuple[int, ...], repeats: int) -> list[float]:
    numpy_grad, numba_grad = (symbptt.compile_gradient(cell, backend=b) for b in ("numpy", "numba"))
    args = problem(numpy_grad, *size)
    params, X, Y, states = args
    first, second = numpy_grad(params, X, Y, *states), numba_grad(params, X, Y, *states)
    for key, value in first.items():  # the same numbers before any timing
        assert np.allclose(second[key], value, rtol=1e-12, atol=1e-14), key
    ratios = []
    for k in range(repeats):
        if k % 2:
            a = timed(numba_grad, params, X, Y, *states)
            b = timed(numpy_grad, params, X, Y, *states)
        else:
            b = timed(numpy_grad, params, X, Y, *states)
            a = timed(numba_grad, params, X, Y, *states)
        ratios.append(a / b)
    return ratios


def bootstrap_median(values: list[float], draws: int = 2000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    data = np.asarray(values)
    medians = np.median(rng.choice(data, size=(draws, data.size)), axis=1)
    return float(np.quantile(medians, 0.025)), float(np.quantile(medians, 0.975))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print(f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, {args.repeats} pairs per size")
    print("| cell | (d, h, q, T, B) | numba / numpy, median of pairs | 95% interval |")
    print("|---|---|---:|---|")
    for cell, size in SIZES:
        ratios = paired_ratios(cell, size, args.repeats)
        low, high = bootstrap_median(ratios)
        print(f"| {cell} | {size} | {statistics.median(ratios):.3f} | [{low:.3f}, {high:.3f}] |", flush=True)


if __name__ == "__main__":
    main()
