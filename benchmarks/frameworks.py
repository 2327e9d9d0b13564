"""Elman-tanh BPTT in JAX and PyTorch, with their own autodiff: the benchmark's outside columns only.

``jax.jit(jax.value_and_grad)`` over ``lax.scan``, and PyTorch's ``backward``
on a forward loop; squared loss, strategy full, the contract's ``1/(B·T)``.
Each returns None when its library is not installed. Nothing here is used by
the package, whose gradients never come from an autodiff library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NAMES = ("W_hx", "W_hh", "b_h", "W_qh", "b_q")


def jax_elman() -> Callable[..., Any] | None:
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def loss(params, X, Y, h0):
        W_hx, W_hh, b_h, W_qh, b_q = (params[k] for k in NAMES)

        def step(h, xy):
            x, y = xy
            h = jnp.tanh(x @ W_hx.T + h @ W_hh.T + b_h)
            r = h @ W_qh.T + b_q - y
            return h, 0.5 * jnp.sum(r * r)

        _, terms = jax.lax.scan(step, h0, (X, Y))
        return jnp.sum(terms) / (X.shape[0] * X.shape[1])

    compiled = jax.jit(jax.value_and_grad(loss))

    def run(params, X, Y, h0):
        value, grads = compiled(params, X, Y, h0)
        jax.block_until_ready(grads)
        return {"loss": float(value), **{k: jax.device_get(v) for k, v in grads.items()}}

    return run


def torch_elman() -> Callable[..., Any] | None:
    try:
        import torch
    except ImportError:
        return None

    def run(params, X, Y, h0):
        p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        X_, Y_, h = torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(h0)
        total = 0.0
        for t in range(X_.shape[0]):
            h = torch.tanh(X_[t] @ p["W_hx"].T + h @ p["W_hh"].T + p["b_h"])
            r = h @ p["W_qh"].T + p["b_q"] - Y_[t]
            total = total + 0.5 * (r * r).sum()
        loss = total / (X_.shape[0] * X_.shape[1])
        loss.backward()
        return {"loss": loss.item(), **{k: v.grad.numpy() for k, v in p.items()}}

    return run
