"""An independent forward pass of the contract's cells and losses, for finite differences.

Written from CONTRACT.md alone, sharing no code with the package. A strategy
is a weight ``w_j`` on each transition ``s_{j-1} → s_j``: the step reads
``s⁰_{j-1} + w_j (s_{j-1}(θ) − s⁰_{j-1})``, where ``s⁰`` are the states at
the base point ``θ⁰``. The value is unchanged at ``θ = θ⁰`` and every path
through the transition is scaled by ``w_j``, which is how the contract defines
the strategies; central differences of this loss at ``θ⁰`` are therefore the
strategy's gradient.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACTIVATIONS = {"identity": lambda z: z, "tanh": np.tanh, "sigmoid": sigmoid, "relu": lambda z: np.maximum(z, 0.0)}


def mgu(p, x, state):
    (h,) = state
    f = sigmoid(x @ p["W_xf"].T + h @ p["W_hf"].T + p["b_f"])
    return ((1 - f) * h + f * np.tanh(x @ p["W_xh"].T + (f * h) @ p["W_hh"].T + p["b_h"]),)


def indrnn(p, x, state):
    return (np.maximum(x @ p["W_hx"].T + p["w"] * state[0] + p["b_h"], 0.0),)


def peephole_lstm(p, x, state):
    h, c = state
    i = sigmoid(x @ p["W_xi"].T + h @ p["W_hi"].T + p["w_ci"] * c + p["b_i"])
    f = sigmoid(x @ p["W_xf"].T + h @ p["W_hf"].T + p["w_cf"] * c + p["b_f"])
    c_new = f * c + i * np.tanh(x @ p["W_xc"].T + h @ p["W_hc"].T + p["b_c"])
    g = sigmoid(x @ p["W_xo"].T + h @ p["W_ho"].T + p["w_co"] * c_new + p["b_o"])
    return (g * np.tanh(c_new), c_new)


OTHER_CELLS = {"mgu": mgu, "indrnn": indrnn, "peephole_lstm": peephole_lstm}  # the formula cells of examples/


def layered(cell):
    """(the cell, L) of a stacked cell's name, ``lstm_x2``; (cell, 1) for any other."""
    base, _, layers = cell.rpartition("_x")
    return (base, int(layers)) if base and layers.isdigit() else (cell, 1)


def stacked_step(cell, L, activation, p, x, state):
    """PyTorch's stacking, from the contract's words: layer l reads layer l-1's new state; parameter NAME of
    layer l is NAME_l{l}; the state is (h_l1..h_lL) then (c_l1..c_lL)."""
    kinds = len(state) // L
    new = [None] * len(state)
    for layer in range(L):
        own = {name[:-len(f"_l{layer + 1}")]: value for name, value in p.items() if name.endswith(f"_l{layer + 1}")}
        out = step(cell, activation, own, x, tuple(state[k * L + layer] for k in range(kinds)))
        for k in range(kinds):
            new[k * L + layer] = out[k]
        x = out[0]
    return tuple(new)


def output(cell, state):
    """The state the readout reads: h_t, or the last layer's."""
    return state[layered(cell)[1] - 1]


def step(cell, activation, p, x, state):
    """s_t from x_t (B, d) and s_{t-1}, a tuple of (B, h) arrays."""
    base, L = layered(cell)
    if L > 1:
        return stacked_step(base, L, activation, p, x, state)
    if cell in OTHER_CELLS:
        return OTHER_CELLS[cell](p, x, state)
    h = state[0]
    if cell == "linear":
        return (x @ p["W_hx"].T + h @ p["W_hh"].T,)
    if cell == "elman":
        return (ACTIVATIONS[activation](x @ p["W_hx"].T + h @ p["W_hh"].T + p["b_h"]),)
    if cell == "gru":
        r = sigmoid(x @ p["W_xr"].T + h @ p["W_hr"].T + p["b_r"])
        z = sigmoid(x @ p["W_xz"].T + h @ p["W_hz"].T + p["b_z"])
        candidate = np.tanh(x @ p["W_xh"].T + (r * h) @ p["W_hh"].T + p["b_h"])
        return (z * h + (1 - z) * candidate,)
    c = state[1]
    i = sigmoid(x @ p["W_xi"].T + h @ p["W_hi"].T + p["b_i"])
    f = sigmoid(x @ p["W_xf"].T + h @ p["W_hf"].T + p["b_f"])
    g = sigmoid(x @ p["W_xo"].T + h @ p["W_ho"].T + p["b_o"])
    candidate = np.tanh(x @ p["W_xc"].T + h @ p["W_hc"].T + p["b_c"])
    c_new = f * c + i * candidate
    return (g * np.tanh(c_new), c_new)


def readout(cell, p, h):
    o = h @ p["W_qh"].T
    return o if layered(cell)[0] == "linear" else o + p["b_q"]


def losses(loss, o, y):
    """l(o_t, y_t) per sample: (B,)."""
    if loss == "squared":
        return 0.5 * np.sum((o - y) ** 2, axis=-1)
    if loss == "mse":  # the mean over q here, over B and T in the objective: PyTorch's MSELoss
        return np.mean((o - y) ** 2, axis=-1)
    if loss == "bce":  # -y log σ(o) - (1 - y) log(1 - σ(o)) = softplus(o) - y o, averaged over q
        return np.mean(np.logaddexp(0.0, o) - y * o, axis=-1)
    m = o.max(axis=-1, keepdims=True)
    lse = (m + np.log(np.exp(o - m).sum(axis=-1, keepdims=True)))[..., 0]
    return lse - np.take_along_axis(o, y[..., None], axis=-1)[..., 0]


def states(cell, activation, p, X, initial, weights=None, base=None):
    """[s_0, …, s_T]; with weights and base states, each transition blended as above."""
    out = [initial]
    for t in range(X.shape[0]):
        previous = out[-1]
        if weights is not None:
            w = weights[t]  # transition s_{t} -> s_{t+1} in 0-based storage, the contract's xi[t]
            previous = tuple(b + w * (s - b) for s, b in zip(previous, base[t], strict=True))
        out.append(step(cell, activation, p, X[t], previous))
    return out


def loss_terms(config, p, X, Y, initial, weights=None, base=None):
    """[Σ_b l(o_t, y_t) for t = 1..T], with one weight per transition (index t for s_{t-1} → s_t)."""
    cell, activation, loss = config
    s = states(cell, activation, p, X, initial, weights, base)
    return [float(np.sum(losses(loss, readout(cell, p, output(cell, s[t + 1])), Y[t]))) for t in range(X.shape[0])]


def loss_value(config, p, X, Y, initial):
    """L = 1/(B·T) Σ_t Σ_b l(o_t, y_t)."""
    return sum(loss_terms(config, p, X, Y, initial)) / (X.shape[0] * X.shape[1])


def strategy_loss(config, strategy, tau, xi, p, p0, X, Y, initial):
    """The loss whose gradient at p0 is the strategy's, per the contract."""
    T, B = X.shape[0], X.shape[1]
    base = states(config[0], config[1], p0, X, initial)
    if strategy == "window":  # l_t crosses the transitions s_{j-1} -> s_j with j >= t - tau + 2 (1-based)
        total = 0.0
        for t in range(1, T + 1):
            weights = [1.0 if j >= t - tau + 2 else 0.0 for j in range(1, T + 1)]
            total += loss_terms(config, p, X[:t], Y[:t], initial, weights, base)[-1]
        return total / (B * T)
    if strategy == "chunked":
        weights = [0.0 if j > 1 and (j - 1) % tau == 0 else 1.0 for j in range(1, T + 1)]
    elif strategy == "randomized":
        weights = list(xi)
    else:
        weights = [1.0] * T
    return sum(loss_terms(config, p, X, Y, initial, weights, base)) / (B * T)


def preactivation_margin(p, X, initial):
    """min |W_hx x_t + W_hh h_{t-1} + b_h| of an elman cell: how far relu is from its kink."""
    s = states("elman", "relu", p, X, initial)
    return min(float(np.min(np.abs(X[t] @ p["W_hx"].T + s[t][0] @ p["W_hh"].T + p["b_h"])))
               for t in range(X.shape[0]))


def first_state(strategy, t, T, tau=None, k1=None, k2=None):
    """The first state s_i that l_t reaches, from the contract's words (1-based t)."""
    if strategy in ("full", "randomized"):
        return 1
    if strategy == "window":  # l_t reaches h_t, h_{t-1}, …, h_{t-tau+1}
        return max(1, t - tau + 1)
    if strategy == "chunked":  # pieces [1..k], [k+1..2k], …: l_t reaches its own piece
        return (t - 1) // tau * tau + 1
    if strategy == "last":  # tbptt(T, k)
        strategy, k1, k2 = "tbptt", T, tau
    update = k1 * -(-t // k1)  # u(t) = k1 ⌈t/k1⌉, the update that takes l_t
    return max(1, update - k2 + 1)


def reached_loss(config, strategy, lengths, p, p0, X, Y, initial):
    """The loss whose gradient at p0 is the strategy's: l_t sees only s_i with i >= first_state(t).

    The states before the first one l_t reaches are the base point's, constants
    (detached); where first_state(t) > t even s_t is, and l_t reaches the readout only.
    """
    cell, activation, loss = config
    T, B = X.shape[0], X.shape[1]
    base = states(cell, activation, p0, X, initial)
    total = 0.0
    for t in range(1, T + 1):
        first = first_state(strategy, t, T, **lengths)
        s = base[min(first, t + 1) - 1]
        for i in range(first, t + 1):
            s = step(cell, activation, p, X[i - 1], s)
        if first > t:
            s = base[t]
        total += float(np.sum(losses(loss, readout(cell, p, output(cell, s)), Y[t - 1])))
    return total / (B * T)


def reaches_initial(strategy, t, T, tau=None, k1=None, k2=None):
    """Whether l_t reaches s_0, from the contract's words: where it would reach a state before s_1."""
    if strategy in ("full", "randomized"):
        return True
    if strategy == "window":  # its tau states are s_t..s_{t-tau+1}
        return t < tau
    if strategy == "chunked":  # the first piece
        return t <= tau
    if strategy == "last":
        return tau > T
    return k1 * -(-t // k1) < k2


def initial_state_loss(config, strategy, lengths, xi, p, X, Y, initial, initial0):
    """The part of the strategy's loss that depends on the initial states: the l_t that reach s_0, each through
    every transition (weighted by xi_2..xi_t for randomized about the states from ``initial0``, xi_1 unused); its
    gradient by ``initial`` at ``initial0`` is ∂L/∂s_0."""
    cell, activation, loss = config
    T, B = X.shape[0], X.shape[1]
    weights = [1.0, *xi[1:]] if strategy == "randomized" else None
    base = states(cell, activation, p, X, initial0) if weights is not None else None
    s = states(cell, activation, p, X, initial, weights, base)
    return sum(float(np.sum(losses(loss, readout(cell, p, output(cell, s[t])), Y[t - 1])))
               for t in range(1, T + 1) if reaches_initial(strategy, t, T, **lengths)) / (B * T)
