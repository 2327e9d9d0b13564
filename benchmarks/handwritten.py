"""Hand-written batched NumPy BPTT, written only as the benchmark's baseline.

Straightforward code as a careful person writes it from the textbook: a
forward loop that stores what the backward loop needs, the readout and the
loss for all steps at once, and a backward loop that accumulates the
gradients. Squared loss, strategy ``full``, the contract's conventions
(``L = 1/(B·T) Σ l``). Nothing here is used by the package.
"""

from __future__ import annotations

import numpy as np


def _readout_backward(H1, Y, W_qh, b_q):
    T, B = Y.shape[0], Y.shape[1]
    O = H1 @ W_qh.T + b_q
    R = O - Y
    loss = 0.5 * np.sum(R * R) / (B * T)
    dO = R / (B * T)
    dW_qh = dO.reshape(-1, dO.shape[-1]).T @ H1.reshape(-1, H1.shape[-1])
    db_q = dO.sum(axis=(0, 1))
    return loss, dO, dW_qh, db_q


def elman_tanh(params, X, Y, h0):
    W_hx, W_hh, b_h, W_qh, b_q = (params[k] for k in ("W_hx", "W_hh", "b_h", "W_qh", "b_q"))
    T, B = X.shape[0], X.shape[1]
    H = np.empty((T + 1, B, W_hh.shape[0]))
    H[0] = h0
    for t in range(T):
        H[t + 1] = np.tanh(X[t] @ W_hx.T + H[t] @ W_hh.T + b_h)
    loss, dO, dW_qh, db_q = _readout_backward(H[1:], Y, W_qh, b_q)
    dW_hx, dW_hh, db_h = np.zeros_like(W_hx), np.zeros_like(W_hh), np.zeros_like(b_h)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        dh = dO[t] @ W_qh + dh_next
        da = dh * (1.0 - H[t + 1] * H[t + 1])
        dW_hx += da.T @ X[t]
        dW_hh += da.T @ H[t]
        db_h += da.sum(axis=0)
        dh_next = da @ W_hh
    return {"loss": loss, "W_hx": dW_hx, "W_hh": dW_hh, "b_h": db_h, "W_qh": dW_qh, "b_q": db_q}


def _sigmoid(z):
    return 0.5 + 0.5 * np.tanh(0.5 * z)


GATES = ("i", "f", "o", "c")  # input, forget, output (the contract's g_t), candidate


def lstm(params, X, Y, h0, c0):
    Wx = {k: params[f"W_x{k}"] for k in GATES}
    Wh = {k: params[f"W_h{k}"] for k in GATES}
    b = {k: params[f"b_{k}"] for k in GATES}
    W_qh, b_q = params["W_qh"], params["b_q"]
    T, B, n = X.shape[0], X.shape[1], W_qh.shape[1]
    H, C = np.empty((T + 1, B, n)), np.empty((T + 1, B, n))
    I, F, G, Ct, TC = (np.empty((T, B, n)) for _ in range(5))
    H[0], C[0] = h0, c0
    for t in range(T):
        I[t] = _sigmoid(X[t] @ Wx["i"].T + H[t] @ Wh["i"].T + b["i"])
        F[t] = _sigmoid(X[t] @ Wx["f"].T + H[t] @ Wh["f"].T + b["f"])
        G[t] = _sigmoid(X[t] @ Wx["o"].T + H[t] @ Wh["o"].T + b["o"])
        Ct[t] = np.tanh(X[t] @ Wx["c"].T + H[t] @ Wh["c"].T + b["c"])
        C[t + 1] = F[t] * C[t] + I[t] * Ct[t]
        TC[t] = np.tanh(C[t + 1])
        H[t + 1] = G[t] * TC[t]
    loss, dO, dW_qh, db_q = _readout_backward(H[1:], Y, W_qh, b_q)
    dWx = {k: np.zeros_like(v) for k, v in Wx.items()}
    dWh = {k: np.zeros_like(v) for k, v in Wh.items()}
    db = {k: np.zeros_like(v) for k, v in b.items()}
    dh_next, dc_next = np.zeros_like(h0), np.zeros_like(c0)
    for t in reversed(range(T)):
        dh = dO[t] @ W_qh + dh_next
        dc = dc_next + dh * G[t] * (1.0 - TC[t] * TC[t])
        da = {
            "i": dc * Ct[t] * I[t] * (1.0 - I[t]),
            "f": dc * C[t] * F[t] * (1.0 - F[t]),
            "o": dh * TC[t] * G[t] * (1.0 - G[t]),
            "c": dc * I[t] * (1.0 - Ct[t] * Ct[t]),
        }
        dh_next = np.zeros_like(dh)
        for k in GATES:
            dWx[k] += da[k].T @ X[t]
            dWh[k] += da[k].T @ H[t]
            db[k] += da[k].sum(axis=0)
            dh_next += da[k] @ Wh[k]
        dc_next = dc * F[t]
    out = {"loss": loss, "W_qh": dW_qh, "b_q": db_q}
    for k in GATES:
        out |= {f"W_x{k}": dWx[k], f"W_h{k}": dWh[k], f"b_{k}": db[k]}
    return out
