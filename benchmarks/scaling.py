"""Derivation + compilation time of the scalar elman-tanh gradient against T.

    OPENBLAS_NUM_THREADS=1 python benchmarks/scaling.py [--max-T 2000]

Baseline measured in the same run: sympy.diff of the fully nested unrolled
loss (the approach the design rejects), at the small T where it still runs:
with SymPy 1.14 here it already takes about half a minute at T = 8.
"""

from __future__ import annotations

import argparse
import time

import sympy as sp

from symbptt.codegen import module, program
from symbptt.derive import strategies
from symbptt.model import graph
from symbptt.model import scalar as model


def symbptt_seconds(T: int, strategy: strategies.Strategy) -> tuple[float, float, float]:
    cell = model.make_model("elman", "tanh")
    t0 = time.perf_counter()
    prog = program.build(cell, T, strategy)
    t1 = time.perf_counter()
    module.compile_source(program.program_source(prog, "grad"), "grad")
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, t2 - t0


def nested_diff_seconds(T: int) -> float:
    cell = model.make_model("elman", "tanh")
    t0 = time.perf_counter()
    loss = graph.unroll(cell, T).nested_objective()
    sp.diff(loss, cell.recurrent_weight)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-T", type=int, default=2000)
    parser.add_argument("--baseline-max-T", type=int, default=8)
    args = parser.parse_args()
    sizes = [T for T in (4, 8, 32, 100, 250, 500, 1000, 2000, 4000) if args.max_T >= T]
    print(f"{'T':>6} {'strategy':>12} {'derive s':>9} {'compile s':>9} {'total s':>8} {'us/step':>8} "
          f"{'nested diff s':>14} {'ratio':>7}")
    per_step_ref = None
    for T in sizes:
        baseline = nested_diff_seconds(T) if args.baseline_max_T >= T else None
        for strategy in (strategies.make("full"), strategies.make("window", tau=5)):
            derive_s, compile_s, total = symbptt_seconds(T, strategy)
            per_step = total / T * 1e6
            if strategy.name == "full" and per_step_ref is None:
                per_step_ref = per_step
            base = f"{baseline:14.2f}" if baseline is not None and strategy.name == "full" else f"{'-':>14}"
            ratio = f"{baseline / total:7.1f}" if baseline is not None and strategy.name == "full" else f"{'-':>7}"
            label = strategy.describe()
            print(f"{T:>6} {label:>12} {derive_s:9.3f} {compile_s:9.3f} {total:8.3f} {per_step:8.0f} {base} {ratio}")
    print("linear growth: us/step stays flat as T grows; 'ratio' = nested sympy.diff time / symbptt time")


if __name__ == "__main__":
    main()
