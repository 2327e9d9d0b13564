"""The compiled gradient's backends against hand-written batched NumPy BPTT, measured in the same run.

    OPENBLAS_NUM_THREADS=1 python benchmarks/compiled_vs_handwritten.py [--repeats 30]

For each size it first checks that every variant gives the same numbers, then
times them interleaved (median of the repeats): symbptt's NumPy backend, its
Numba backend (compiled first; the compile time is printed on its own), the
default ``auto``, and, when installed, JAX's ``jit(value_and_grad)`` over
``lax.scan`` and PyTorch's ``backward`` (elman only; ``benchmarks/frameworks.py``).
Ratios are against the hand-written NumPy: below 1 is faster. Memory is the peak
of one call of the NumPy backend and of the baseline, by tracemalloc. Finally
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
import frameworks  # noqa: E402
import handwritten  # noqa: E402

import symbptt  # noqa: E402
from symbptt.codegen import module  # noqa: E402
from symbptt.derive import strategies  # noqa: E402
from symbptt.gradient import api as gradient  # noqa: E402
from symbptt.gradient import backends  # noqa: E402
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


def compare(cell: str, size: tuple[int, ...], repeats: int) -> dict[str, float]:
    """Median seconds per variant (and "MiB ...", "checks", "compile numba"), the same numbers checked first."""
    variants = {backend: symbptt.compile_gradient(cell, backend=backend) for backend in ("numpy", "numba", "auto")}
    out = {"compile numba": variants["numba"].compile_seconds["numba"]}
    params, X, Y, states = problem(variants["numpy"], *size)
    baseline = handwritten.lstm if cell == "lstm" else handwritten.elman_tanh
    runs = {"hand": baseline, **variants}
    if cell == "elman":
        runs |= {name: f for name, f in (("jax", frameworks.jax_elman()), ("torch", frameworks.torch_elman()))
                 if f is not None}
    theirs = baseline(params, X, Y, *states)
    for name, run in runs.items():
        ours = run(params, X, Y, *states)
        for key, value in theirs.items():
            if not np.allclose(ours[key], value, rtol=1e-9, atol=1e-12):
                msg = f"{cell} {size}: {name} and the hand-written baseline disagree on {key}"
                raise AssertionError(msg)
    bare = variants["numpy"]._module("numpy")
    times: dict[str, list[float]] = {name: [] for name in [*runs, "bare"]}
    for _ in range(repeats):  # interleaved, so every variant sees the same machine
        for name, run in [*runs.items(), ("bare", bare)]:
            times[name].append(timed(run, params, X, Y, *states))
    out |= {name: statistics.median(t) for name, t in times.items()}
    out["checks"] = out["numpy"] - out.pop("bare")  # the API's validation, per call
    out["MiB numpy"] = peak_bytes(variants["numpy"], params, X, Y, *states) / 2**20
    out["MiB hand"] = peak_bytes(baseline, params, X, Y, *states) / 2**20
    return out


def checks(r: dict[str, float], size: tuple[int, ...]) -> str:
    """The API's validation per call, in µs; at the wide sizes it is below the noise of a difference of medians."""
    _, h, _, _, B = size
    return f"{r['checks'] * 1e6:.0f}" if B * h <= 128 else "–"


def derivation_seconds() -> dict[str, float]:
    """Derivation + compilation from scratch, the slowest loss × strategy per cell."""
    out: dict[str, float] = {}
    configs = [("linear", "tanh"), *(("elman", a) for a in ("identity", "tanh", "sigmoid", "relu")),
               ("gru", "tanh"), ("lstm", "tanh")]
    for cell, activation in configs:
        for loss in losses.LOSSES:
            for strategy in strategies.STRATEGIES:
                backends.derived.cache_clear()
                backends.namespace.cache_clear()
                module.core_source.cache_clear()
                seconds = timed(backends.namespace, backends.Model(cell, activation, loss, strategy), "numpy")
                key = cell if cell != "elman" else f"elman-{activation}"
                out[key] = max(out.get(key, 0.0), seconds)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, numpy {np.__version__}, "
          f"median of {args.repeats} interleaved runs")
    columns = ("numpy", "numba", "auto", "jax", "torch")
    print("| cell | (d, h, q, T, B) | hand-written ms | " + " | ".join(f"{c} ×" for c in columns)
          + " | numpy MiB × | checks µs | numba compile s |")
    print("|---|---|" + "---:|" * (len(columns) + 4))
    for cell, size in SIZES:
        r = compare(cell, size, args.repeats)
        ratios = " | ".join(f"{r[c] / r['hand']:.2f}" if c in r else "–" for c in columns)
        print(f"| {cell} | {size} | {r['hand'] * 1e3:.2f} | {ratios} | {r['MiB numpy'] / r['MiB hand']:.2f} | "
              f"{checks(r, size)} | {r['compile numba']:.1f} |", flush=True)
    print("\nderivation + compilation, from scratch, slowest loss x strategy per cell:")
    for key, seconds in derivation_seconds().items():
        print(f"  {key:16} {seconds * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()
