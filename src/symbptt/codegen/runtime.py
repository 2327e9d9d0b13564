"""Pure-NumPy helpers that generated code calls.

Every function here is copied verbatim (by ``inspect.getsource``) into each
generated module, so a module written by ``symbptt code`` needs only NumPy and
runs exactly the code the package runs. Keep them self-contained: no imports
but ``numpy``, no package globals.
"""

from __future__ import annotations

import numpy

from symbptt.strategies import sample_xi


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


def _join_travelling(stacks, firsts, directs, first, t):
    """The adjoints that cross s_(t-1) -> s_t, youngest first, and the first state each reaches.

    l_t's own adjoint (``directs``, None for a component it does not reach) joins
    the travelling ones if it reaches s_(t-1): merged into the youngest when they
    share their first state, since from here on they travel together. Those whose
    first state is s_t stop here.
    """
    firsts = list(firsts)
    if first <= t - 1:
        ones = [numpy.zeros((1, *s.shape[1:])) if d is None else d[None] for s, d in zip(stacks, directs, strict=True)]
        if firsts and firsts[0] == first:
            stacks = [numpy.concatenate((s[:1] + d, s[1:])) for s, d in zip(stacks, ones, strict=True)]
        else:
            stacks = [numpy.concatenate((d, s)) for s, d in zip(stacks, ones, strict=True)]
            firsts.insert(0, first)
    keep = len(firsts)
    while keep and firsts[keep - 1] > t - 1:
        keep -= 1
    return tuple(s[:keep] for s in stacks), firsts[:keep]


def as_batch(X, Y, h0, c0):
    """2-D inputs (T, d), (T, q) or (T,), (h,) mean one sample: give them a batch axis of 1."""
    if X.ndim == 2:
        X, Y = X[:, None], Y[:, None]
        h0 = None if h0 is None else numpy.reshape(h0, (1, -1))
        c0 = None if c0 is None else numpy.reshape(c0, (1, -1))
    return X, Y, h0, c0


HELPERS = (_flat, _matmul, _logsumexp, _softmax, one_hot, sample_xi, as_batch, _join_travelling)
