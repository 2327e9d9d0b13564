"""Pure-NumPy helpers that generated code calls.

Every function here is copied verbatim (by ``inspect.getsource``) into each
generated module, so a module written by ``symbptt code`` needs only NumPy and
runs exactly the code the package runs. Keep them self-contained: no imports
but ``numpy``, no package globals. Those ``core`` calls are also written in
the subset of NumPy that Numba compiles (no ``keepdims``, no ``out=`` but by
assignment, contiguous reshapes): the Numba module compiles these very
functions, and :mod:`runtime_numba` replaces only what Numba cannot run.
"""

from __future__ import annotations

import numpy

from symbptt.derive.sampling import sample_xi


def _flat(a):
    """Samples (and time steps) on one axis: (..., n) -> (N, n), for sums over them."""
    return numpy.ascontiguousarray(a).reshape(-1, a.shape[-1])


def _matmul(a, w, out=None):
    """a @ w for a stack a (..., k) as one large product, optionally into ``out``."""
    product = _flat(a) @ w
    if out is None:
        return product.reshape(a.shape[:-1] + (w.shape[-1],))
    out[...] = product.reshape(out.shape)
    return out


def _rowsum(a):
    """The sum over the last axis, kept as an axis of length 1 (uᵀv per sample)."""
    s = a.sum(axis=a.ndim - 1)
    return s.reshape(s.shape + (1,))


def _logsumexp(a):
    """log Σ_i exp(a_i) over the last axis, kept as a length-1 axis; stable for large a."""
    m = a.max(axis=-1, keepdims=True)
    return m + numpy.log(numpy.exp(a - m).sum(axis=-1, keepdims=True))


def _softmax(a):
    """exp(a) / Σ_i exp(a_i) over the last axis; stable for large a."""
    e = numpy.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _mask(flags, like):
    """1.0 where a flag is set, else 0.0, as an array (T, 1, 1) beside ``like``."""
    out = numpy.zeros((len(flags), 1, 1))
    for i in range(len(flags)):
        if flags[i]:
            out[i] = 1.0
    return out


def _block(T, width):
    """Steps per block of the parameters' sums (``width`` floats a step): an eighth of T or 8, at most 1 MiB."""
    return max(1, min(T, max(8, T // 8), 131072 // max(width, 1)))


def _join_firsts(firsts, first, t):
    """The first states of the adjoints that cross s_(t-1) -> s_t, youngest first.

    l_t's adjoint, whose first state is ``first``, joins the travelling ones if
    it reaches s_(t-1) (``joins``): merged into the youngest when they share
    their first state (``merge``), since from here on they travel together.
    Those whose first state is s_t stop here: ``keep`` of them go on.
    """
    joins = first <= t - 1
    merge = joins and len(firsts) > 0 and firsts[0] == first
    if joins and not merge:
        firsts = numpy.concatenate((numpy.array([first]), firsts))
    keep = len(firsts)
    while keep > 0 and firsts[keep - 1] > t - 1:
        keep -= 1
    return firsts[:keep], joins, merge, keep


def _join_stack(stack, direct, joins, merge, keep):
    """One state component's travelling adjoints after :func:`_join_firsts` (``direct``: l_t's, or None)."""
    if joins:
        one = numpy.zeros((1,) + stack.shape[1:]) if direct is None else numpy.expand_dims(direct, 0)
        stack = numpy.concatenate((stack[:1] + one, stack[1:])) if merge else numpy.concatenate((one, stack))
    return stack[:keep]


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


# what core calls (each compiles under Numba as written), and what only the Python wrapper calls
CORE_HELPERS = (_flat, _matmul, _rowsum, _logsumexp, _softmax, _mask, _block, _join_firsts, _join_stack)
def sequence_weights(lengths, T, B, last):
    """Padded sequences: the mask m (1 at t <= len_b, else 0) and the loss weights w, both (T, B, 1) of float64:
    m / sum(len) for a loss at every real step, 1[t = len_b] / B for one at the last (no lengths: len_b = T)."""
    lengths = numpy.full(B, T) if lengths is None else numpy.reshape(numpy.asarray(lengths), (B,))
    steps = numpy.arange(1, T + 1).reshape(T, 1)
    mask = (steps <= lengths.reshape(1, B)).astype(numpy.float64).reshape(T, B, 1)
    if last:
        return mask, (steps == lengths.reshape(1, B)).astype(numpy.float64).reshape(T, B, 1) / B
    return mask, mask / float(lengths.sum())


WRAPPER_HELPERS = (one_hot, sample_xi, as_batch)
HELPERS = CORE_HELPERS + WRAPPER_HELPERS
