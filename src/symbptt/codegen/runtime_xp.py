"""The helpers of the array API module: :mod:`runtime`'s, written against the standard.

Copied verbatim into the generated module, which imports ``array_namespace``
and ``device`` from ``array_api_compat``: each helper finds the namespace of
its argument, so one module runs on NumPy, PyTorch, JAX and CuPy arrays.
Nothing is written in place (JAX's arrays are immutable), and every array
made here lives on the device of the arrays it is made from.
"""

# ruff: noqa: F821  (array_namespace and device are the generated module's globals)

from __future__ import annotations


def _flat(a):
    """Samples (and time steps) on one axis: (..., n) -> (N, n), for sums over them."""
    return array_namespace(a).reshape(a, (-1, a.shape[-1]))


def _matmul(a, w):
    """a @ w for a stack a (..., k) as one large product."""
    return array_namespace(a).reshape(_flat(a) @ w, (*a.shape[:-1], w.shape[-1]))


def _rowsum(a):
    """The sum over the last axis, kept as an axis of length 1 (uᵀv per sample)."""
    return array_namespace(a).sum(a, axis=-1, keepdims=True)


def _logsumexp(a):
    """log Σ_i exp(a_i) over the last axis, kept as a length-1 axis; stable for large a."""
    xp = array_namespace(a)
    m = xp.max(a, axis=-1, keepdims=True)
    return m + xp.log(xp.sum(xp.exp(a - m), axis=-1, keepdims=True))


def _softmax(a):
    """exp(a) / Σ_i exp(a_i) over the last axis; stable for large a."""
    xp = array_namespace(a)
    e = xp.exp(a - xp.max(a, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def _mask(flags, like):
    """1.0 where a flag is set, else 0.0, as an array (T, 1, 1) beside ``like``."""
    xp = array_namespace(like)
    return xp.reshape(xp.asarray([float(f) for f in flags], dtype=xp.float64, device=device(like)), (-1, 1, 1))


def _join_stack(stack, direct, joins, merge, keep):
    """One state component's travelling adjoints after ``_join_firsts`` (``direct``: l_t's, or None)."""
    xp = array_namespace(stack)
    if joins:
        one = (xp.zeros((1, *stack.shape[1:]), dtype=stack.dtype, device=device(stack)) if direct is None
               else xp.expand_dims(direct, axis=0))
        stack = xp.concat((stack[:1] + one, stack[1:])) if merge else xp.concat((one, stack))
    return stack[:keep]


def _relu(z):
    xp = array_namespace(z)
    return xp.where(z > 0, z, xp.zeros_like(z))


def _step(z):
    """H(z, 0): 1 where z > 0, else 0 (relu'(0) = 0, the contract)."""
    xp = array_namespace(z)
    return xp.astype(z > 0, z.dtype)


def _softplus(z):
    xp = array_namespace(z)
    return xp.logaddexp(xp.zeros_like(z), z)


def one_hot_xp(ids, q, like):
    """Class ids (T, B) -> one-hot rows (T, B, q) in the namespace and on the device of ``like``."""
    xp = array_namespace(like)
    ids = xp.asarray(ids, device=device(like))
    return xp.astype(ids[..., None] == xp.arange(q, device=device(like)), xp.float64)


HELPERS = (_flat, _matmul, _rowsum, _logsumexp, _softmax, _mask, _join_stack, _relu, _step, _softplus, one_hot_xp)
