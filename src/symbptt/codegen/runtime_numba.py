"""The helpers of the Numba module that differ from :mod:`runtime`'s.

Copied verbatim into the generated module like :mod:`runtime`'s, where each
is compiled with ``numba.njit``. Numba's own tanh, exp and log call the scalar
libm: on a wide array they are about six times slower than NumPy's vectorized
loops, so an array of ``WIDE`` numbers or more goes to NumPy (``objmode``, a
few µs to enter), a narrow one stays compiled. Numba has no ``keepdims``, so
the two reductions over the last axis loop over its rows.
"""

# ruff: noqa: F821  (numba is the generated module's global; this file only holds the source)

from __future__ import annotations

import numpy

WIDE = 256  # numbers from which NumPy's vectorized transcendental functions win, measured (benchmarks/)


def _tanh(z):
    """tanh, by NumPy's vectorized loop when the array is wide."""
    if z.size < WIDE:
        return numpy.tanh(z)
    flat = numpy.ascontiguousarray(z).ravel()
    with numba.objmode(out="float64[::1]"):
        out = numpy.tanh(flat)
    return out.reshape(z.shape)


def _exp(z):
    """exp, by NumPy's vectorized loop when the array is wide."""
    if z.size < WIDE:
        return numpy.exp(z)
    flat = numpy.ascontiguousarray(z).ravel()
    with numba.objmode(out="float64[::1]"):
        out = numpy.exp(flat)
    return out.reshape(z.shape)


def _log(z):
    """log, by NumPy's vectorized loop when the array is wide."""
    if z.size < WIDE:
        return numpy.log(z)
    flat = numpy.ascontiguousarray(z).ravel()
    with numba.objmode(out="float64[::1]"):
        out = numpy.log(flat)
    return out.reshape(z.shape)


def _logsumexp(a):
    """log Σ_i exp(a_i) over the last axis, kept as a length-1 axis; stable for large a."""
    rows = numpy.ascontiguousarray(a).reshape(-1, a.shape[-1])
    out = numpy.empty((rows.shape[0], 1))
    for r in range(rows.shape[0]):
        m = rows[r].max()
        out[r, 0] = m + numpy.log(numpy.exp(rows[r] - m).sum())
    return out.reshape(a.shape[:-1] + (1,))


def _softmax(a):
    """exp(a) / Σ_i exp(a_i) over the last axis; stable for large a."""
    rows = numpy.ascontiguousarray(a).reshape(-1, a.shape[-1])
    out = numpy.empty_like(rows)
    for r in range(rows.shape[0]):
        e = numpy.exp(rows[r] - rows[r].max())
        out[r] = e / e.sum()
    return out.reshape(a.shape)


HELPERS = (_tanh, _exp, _log, _logsumexp, _softmax)
