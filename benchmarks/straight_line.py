"""The scalar straight-line gradient against a hand-written Python loop of the same recurrence.

    python benchmarks/straight_line.py [--T 1000] [--repeats 30]

``compile_scalar_gradient("elman", T)`` prints one line per derived quantity
per step (no loop); for one sample it runs on Python floats. The baseline is
the BPTT a careful person writes in plain Python for the same scalar cell:
a forward loop, then a backward loop (``math.tanh``, floats). All are checked
to agree first, then timed interleaved (median). The derivation and printing
time is reported on its own, and so is Numba's compilation of the program
(``backend="numba"``: about two minutes at T = 1000, once; cached on disk).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

import symbptt


def python_loop(p, x, y, h0=0.0):
    """∂L/∂θ of h_t = tanh(w_hx x_t + w_hh h_(t-1) + b_h), o_t = w_qh h_t + b_q, L = 1/T Σ ½ (o_t - y_t)²."""
    w_hx, w_hh, b_h, w_qh, b_q = (p[k] for k in ("W_hx", "W_hh", "b_h", "W_qh", "b_q"))
    T = len(x)
    hs = [h0]
    loss = 0.0
    for t in range(T):
        hs.append(math.tanh(w_hx * x[t] + w_hh * hs[-1] + b_h))
        r = w_qh * hs[-1] + b_q - y[t]
        loss += 0.5 * r * r
    g_hx = g_hh = g_bh = g_qh = g_bq = 0.0
    carry = 0.0
    for t in range(T, 0, -1):
        r = w_qh * hs[t] + b_q - y[t - 1]
        g_qh += r * hs[t]
        g_bq += r
        delta = (carry + r * w_qh) * (1.0 - hs[t] * hs[t])
        g_hx += delta * x[t - 1]
        g_hh += delta * hs[t - 1]
        g_bh += delta
        carry = delta * w_hh
    return {"loss": loss / T, "W_hx": g_hx / T, "W_hh": g_hh / T, "b_h": g_bh / T, "W_qh": g_qh / T, "b_q": g_bq / T}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    T = args.T
    start = time.perf_counter()
    grad = symbptt.compile_scalar_gradient("elman", T)
    rng = np.random.default_rng(0)
    params = dict(zip(grad.param_names, rng.uniform(-0.8, 0.8, len(grad.param_names)), strict=True))
    x, y = rng.uniform(-1, 1, T), rng.uniform(-1, 1, T)
    ours = grad(params, x, y)  # prints the float version too
    build = time.perf_counter() - start
    start = time.perf_counter()
    jitted = symbptt.compile_scalar_gradient("elman", T, backend="numba")
    jit_total = time.perf_counter() - start
    theirs = python_loop(params, x.tolist(), y.tolist())
    for result in (ours, jitted(params, x, y)):
        for key, value in theirs.items():
            if not math.isclose(result[key], value, rel_tol=1e-9, abs_tol=1e-12):
                msg = f"the straight-line program and the loop disagree on {key}: {result[key]} vs {value}"
                raise AssertionError(msg)
    straight, loop, batched, compiled = [], [], [], []
    xs, ys = x.tolist(), y.tolist()
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        grad(params, x, y)
        t1 = time.perf_counter()
        python_loop(params, xs, ys)
        t2 = time.perf_counter()
        grad(params, x[:, None], y[:, None])  # the NumPy version: one sample as a batch of 1
        t3 = time.perf_counter()
        jitted(params, x, y)
        t4 = time.perf_counter()
        straight.append(t1 - t0)
        loop.append(t2 - t1)
        batched.append(t3 - t2)
        compiled.append(t4 - t3)
    s, lp, b = statistics.median(straight), statistics.median(loop), statistics.median(batched)
    c = statistics.median(compiled)
    print(f"T = {T}: derive + print + compile {build:.2f} s (once); Numba: {jitted.compile_seconds:.1f} s "
          f"compiling or loading from the cache ({jit_total:.1f} s with the derivation)")
    print("| evaluation | ms | ratio to the Python loop |")
    print("|---|---:|---:|")
    print(f"| hand-written Python loop (floats) | {lp * 1e3:.3f} | 1.00 |")
    print(f"| symbptt straight-line, floats (one sample, API checks included) | {s * 1e3:.3f} | {s / lp:.2f} |")
    print(f"| symbptt straight-line, NumPy (batch of 1) | {b * 1e3:.3f} | {b / lp:.2f} |")
    print(f"| symbptt straight-line, Numba (`backend=\"numba\"`, API checks included) | {c * 1e3:.3f} | {c / lp:.2f} |")


if __name__ == "__main__":
    main()
