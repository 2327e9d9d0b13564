"""The compiled gradient against hand-written batched NumPy BPTT, measured in the same run.

    OPENBLAS_NUM_THREADS=1 python benchmarks/compiled_vs_handwritten.py [--repeats 30]

For each size it first checks that both give the same numbers, then times
them interleaved (median of the repeats) and measures the peak memory of one
call with tracemalloc (NumPy reports its buffers to it). Ratios are
symbptt / hand-written: below 1 means symbptt is faster or smaller. Finally
it times derivation + compilation of every cell × loss × strategy from scratch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads BLAS: stable ratios on 2 cores

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import handwritten  # noqa: E402

import symbptt  # noqa: E402
from symbptt import api as gradient  # noqa: E402
from symbptt import strategies  # noqa: E402
from symbptt.codegen import module  # noqa: E402
from symbptt.model import losses  # noqa: E402

SIZES = [  # cell, (d, h, q, T, B)
    ("elman", (8, 16, 8, 50, 1)),  # where the users' property tests live: hundreds of tiny cases
    ("elman", (32, 64, 32, 100, 32)),
    ("elman", (64, 256, 64, 100, 32)),
    ("elman", (64, 256, 64, 1000, 8)),
    ("lstm", (8, 16, 8, 50, 1)),
    ("lstm", (32, 64, 32, 100, 32)),
]


def problem(grad: gradient.Gradient, d: int, h: int, q: int, T: int, B: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    sizes = {"d": d, "h": h, "q": q}
    params = {}
    for W in grad.step.cell.params:
        shape = tuple(sizes[str(s)] for s in gradient._storage_shape(W))
        params[W.name] = rng.normal(scale=1 / np.sqrt(shape[-1]), size=shape)
    X, Y = rng.normal(size=(T, B, d)), rng.normal(size=(T, B, q))
    states = [rng.normal(scale=0.1, size=(B, h)) for _ in grad.state_names]
    return params, X, Y, states


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def peak_bytes(function, *args) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    function(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def compare(cell: str, size: tuple[int, ...], repeats: int) -> tuple[float, float, float, float, float]:
    grad = symbptt.compile_gradient(cell)
    params, X, Y, states = problem(grad, *size)
    baseline = handwritten.lstm if cell == "lstm" else handwritten.elman_tanh
    ours = grad(params, X, Y, *states)
    theirs = baseline(params, X, Y, *states)
    for name, value in theirs.items():
        if not np.allclose(ours[name], value, rtol=1e-9, atol=1e-12):
            msg = f"{cell} {size}: symbptt and the hand-written baseline disagree on {name}"
            raise AssertionError(msg)
    mine, base, bare = [], [], []
    for _ in range(repeats):  # interleaved, so all three see the same machine
        mine.append(timed(grad, params, X, Y, *states))
        base.append(timed(baseline, params, X, Y, *states))
        bare.append(timed(grad._grad, params, X, Y, *states))  # the generated code without the API's checks
    t_ours, t_base = statistics.median(mine), statistics.median(base)
    m_ours, m_base = peak_bytes(grad, params, X, Y, *states), peak_bytes(baseline, params, X, Y, *states)
    return t_ours, t_base, m_ours / 2**20, m_base / 2**20, t_ours - statistics.median(bare)


def derivation_seconds() -> dict[str, float]:
    """Derivation + compilation from scratch, the slowest loss × strategy per cell."""
    out: dict[str, float] = {}
    configs = [("linear", "tanh"), *(("elman", a) for a in ("identity", "tanh", "sigmoid", "relu")),
               ("gru", "tanh"), ("lstm", "tanh")]
    for cell, activation in configs:
        for loss in losses.LOSSES:
            for strategy in strategies.STRATEGIES:
                gradient._compiled.cache_clear()
                module.core_source.cache_clear()
                seconds = timed(gradient._compiled, cell, activation, loss, strategy)
                key = cell if cell != "elman" else f"elman-{activation}"
                out[key] = max(out.get(key, 0.0), seconds)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, numpy {np.__version__}, "
          f"median of {args.repeats} interleaved runs")
    print(f"{'cell':6} {'(d, h, q, T, B)':>22} {'symbptt ms':>11} {'hand ms':>9} {'time ratio':>10} "
          f"{'symbptt MiB':>12} {'hand MiB':>9} {'memory ratio':>12} {'checks µs':>10}")
    for cell, size in SIZES:
        t_ours, t_base, m_ours, m_base, checks = compare(cell, size, args.repeats)
        print(f"{cell:6} {size!s:>22} {t_ours * 1e3:11.2f} {t_base * 1e3:9.2f} {t_ours / t_base:10.2f} "
              f"{m_ours:12.2f} {m_base:9.2f} {m_ours / m_base:12.2f} {checks * 1e6:10.0f}")
    print("\nderivation + compilation, from scratch, slowest loss x strategy per cell:")
    for key, seconds in derivation_seconds().items():
        print(f"  {key:16} {seconds * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()
