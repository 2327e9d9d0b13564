"""Pure-NumPy helpers that generated code calls.

Every function here is copied verbatim (by ``inspect.getsource``) into each
generated module, so a module written by ``symbptt code`` needs only NumPy and
runs exactly the code the package runs. Keep them self-contained: no imports
but ``numpy``, no package globals.
"""

from __future__ import annotations

import numpy


def _flat(a):
    """Samples (and time steps) on one axis: (..., n) -> (N, n), for sums over them."""
    return a.reshape(-1, a.shape[-1])


def _matmul(a, w, out=None):
    """a @ w for a stack a (..., k) as one large product, optionally into ``out`` (no temporary)."""
    if out is None:
        return (_flat(a) @ w).reshape(*a.shape[:-1], w.shape[-1])
    numpy.matmul(_flat(a), w, out=_flat(out))
    return out


def _logsumexp(a):
    """log Σ_i exp(a_i) over the last axis, kept as a length-1 axis; stable for large a."""
    m = a.max(axis=-1, keepdims=True)
    return m + numpy.log(numpy.exp(a - m).sum(axis=-1, keepdims=True))


def _softmax(a):
    """exp(a) / Σ_i exp(a_i) over the last axis; stable for large a."""
    e = numpy.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def one_hot(ids, q):
    """Class ids (T, B) -> one-hot rows (T, B, q) of float64."""
    out = numpy.zeros((*ids.shape, q))
    numpy.put_along_axis(out, ids[..., None].astype(numpy.intp), 1.0, axis=-1)
    return out


def sample_xi(pi, T, seed):
    """xi_t in {0, 1/pi_t} with P(xi_t = 1/pi_t) = pi_t; xi_1 (index 0) is unused and set to 1."""
    pi = numpy.broadcast_to(numpy.asarray(pi, dtype=float), (T,))
    keep = numpy.random.default_rng(seed).random(T) < pi
    xi = numpy.where(keep, 1.0 / pi, 0.0)
    xi[0] = 1.0
    return xi


def as_batch(X, Y, h0, c0):
    """2-D inputs (T, d), (T, q) or (T,), (h,) mean one sample: give them a batch axis of 1."""
    if X.ndim == 2:
        X, Y = X[:, None], Y[:, None]
        h0 = None if h0 is None else numpy.reshape(h0, (1, -1))
        c0 = None if c0 is None else numpy.reshape(c0, (1, -1))
    return X, Y, h0, c0


HELPERS = (_flat, _matmul, _logsumexp, _softmax, one_hot, sample_xi, as_batch)
