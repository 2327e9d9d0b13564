"""A 2-layer LSTM (``layers=2``): the compiled NumPy backend against hand-written batched NumPy of the same model.

    OPENBLAS_NUM_THREADS=1 python benchmarks/stacked.py [--repeats 15]

The baseline is written here, as a careful person writes a stacked LSTM from the textbook: each layer's
forward loop over its input sequence, storing what the backward loop needs, then the layers' backward loops
from the top down, each passing ∂L/∂(its input) to the layer below. Squared loss, strategy ``full``, the
contract's conventions. Both are checked to agree before anything is timed; printed: median seconds and the
ratio symbptt / hand-written, measured interleaved in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import handwritten  # noqa: E402

import symbptt  # noqa: E402

GATES = handwritten.GATES
SIZES = [(8, 16, 8, 50, 1), (32, 64, 32, 100, 32), (64, 256, 64, 100, 32)]  # (d, h, q, T, B)


def _layer_forward(P, X, h0, c0):
    T, B, n = X.shape[0], X.shape[1], h0.shape[-1]
    H, C = np.empty((T + 1, B, n)), np.empty((T + 1, B, n))
    I, F, G, Ct, TC = (np.empty((T, B, n)) for _ in range(5))
    H[0], C[0] = h0, c0
    pre = {k: X @ P[f"W_x{k}"].T + P[f"b_{k}"] for k in GATES}  # the input's part, for all t at once
    for t in range(T):
        I[t] = handwritten._sigmoid(pre["i"][t] + H[t] @ P["W_hi"].T)
        F[t] = handwritten._sigmoid(pre["f"][t] + H[t] @ P["W_hf"].T)
        G[t] = handwritten._sigmoid(pre["o"][t] + H[t] @ P["W_ho"].T)
        Ct[t] = np.tanh(pre["c"][t] + H[t] @ P["W_hc"].T)
        C[t + 1] = F[t] * C[t] + I[t] * Ct[t]
        TC[t] = np.tanh(C[t + 1])
        H[t + 1] = G[t] * TC[t]
    return H, C, (I, F, G, Ct, TC)


def _layer_backward(P, X, H, C, saved, dH):
    """∂L/∂(the layer's parameters) and ∂L/∂X, given ∂L/∂h_t from above (dH, (T, B, h))."""
    I, F, G, Ct, TC = saved
    T = X.shape[0]
    grads = {name: np.zeros_like(value) for name, value in P.items()}
    dX = np.zeros_like(X)
    dh_next, dc_next = np.zeros_like(H[0]), np.zeros_like(C[0])
    for t in reversed(range(T)):
        dh = dH[t] + dh_next
        dc = dc_next + dh * G[t] * (1.0 - TC[t] * TC[t])
        da = {"i": dc * Ct[t] * I[t] * (1.0 - I[t]), "f": dc * C[t] * F[t] * (1.0 - F[t]),
              "o": dh * TC[t] * G[t] * (1.0 - G[t]), "c": dc * I[t] * (1.0 - Ct[t] * Ct[t])}
        dh_next = np.zeros_like(dh)
        for k in GATES:
            grads[f"W_x{k}"] += da[k].T @ X[t]
            grads[f"W_h{k}"] += da[k].T @ H[t]
            grads[f"b_{k}"] += da[k].sum(axis=0)
            dh_next += da[k] @ P[f"W_h{k}"]
            dX[t] += da[k] @ P[f"W_x{k}"]
        dc_next = dc * F[t]
    return grads, dX


def stacked_lstm(params, X, Y, h0, c0):
    """Hand-written 2-layer LSTM BPTT: params NAME_l1, NAME_l2, W_qh, b_q; h0, c0 (2, B, h)."""
    layers = [{name[:-3]: v for name, v in params.items() if name.endswith(f"_l{k}")} for k in (1, 2)]
    inputs, caches = [X], []
    for k, P in enumerate(layers):
        H, C, saved = _layer_forward(P, inputs[-1], h0[k], c0[k])
        caches.append((H, C, saved))
        inputs.append(H[1:])
    T, B = Y.shape[0], Y.shape[1]
    O = inputs[-1] @ params["W_qh"].T + params["b_q"]
    R = O - Y
    out = {"loss": 0.5 * np.sum(R * R) / (B * T)}
    dO = R / (B * T)
    out["W_qh"] = dO.reshape(-1, dO.shape[-1]).T @ inputs[-1].reshape(-1, inputs[-1].shape[-1])
    out["b_q"] = dO.sum(axis=(0, 1))
    dH = dO @ params["W_qh"]
    for k in (1, 0):
        grads, dH = _layer_backward(layers[k], inputs[k], caches[k][0], caches[k][1], caches[k][2], dH)
        out |= {f"{name}_l{k + 1}": value for name, value in grads.items()}
    return out


def problem(grad, d, h, q, T, B, seed=0):
    rng = np.random.default_rng(seed)
    sizes = {"d": d, "h": h, "q": q}
    params = {W.name: rng.normal(scale=1 / np.sqrt(h), size=tuple(sizes[str(s)] for s in W.shape if str(s) != "1"))
              for W in grad.step.cell.params}
    return params, rng.normal(size=(T, B, d)), rng.normal(size=(T, B, q)), rng.normal(scale=0.1, size=(2, B, h)), \
        rng.normal(scale=0.1, size=(2, B, h))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    grad = symbptt.compile_gradient("lstm", layers=2, backend="numpy")
    print(f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, median of {args.repeats}")
    print("| (d, h, q, T, B) | hand-written NumPy | symbptt numpy | ratio |")
    print("|---|---|---|---|")
    for size in SIZES:
        params, X, Y, h0, c0 = problem(grad, *size)
        ours, theirs = grad(params, X, Y, h0, c0), stacked_lstm(params, X, Y, h0, c0)
        for key, value in theirs.items():
            if not np.allclose(ours[key], value, rtol=1e-9, atol=1e-12):
                msg = f"{size}: symbptt and the hand-written 2-layer LSTM disagree on {key}"
                raise AssertionError(msg)
        times: dict[str, list[float]] = {"hand": [], "ours": []}
        for _ in range(args.repeats):
            for name, run in (("hand", stacked_lstm), ("ours", grad)):
                start = time.perf_counter()
                run(params, X, Y, h0, c0)
                times[name].append(time.perf_counter() - start)
        hand, ours_s = statistics.median(times["hand"]), statistics.median(times["ours"])
        print(f"| {size} | {hand * 1e3:.2f} ms | {ours_s * 1e3:.2f} ms | {ours_s / hand:.2f}× |")


if __name__ == "__main__":
    main()
