"""The helpers of the Numba module that differ from :mod:`runtime`'s.

Copied verbatim into the generated module like :mod:`runtime`'s, where each
is compiled with ``numba.njit``. Numba has no ``keepdims``, so the two
reductions over the last axis loop over its rows.
"""

from __future__ import annotations

import numpy


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


HELPERS = (_logsumexp, _softmax)
