"""The helpers of the Numba module that differ from :mod:`runtime`'s.

Copied verbatim into the generated module like :mod:`runtime`'s, where each
is compiled with ``numba.njit``. Numba has no ``keepdims``, so the two
reductions over the last axis loop over its rows.

``_tanh`` and ``_exp`` replace NumPy's in the Numba module. Numba compiles
``numpy.tanh`` to a call of the C library's scalar ``tanh`` per element, 10×
slower than NumPy's SIMD loop (175 µs against 16 µs on 8192 numbers), which made
the compiled backend lose to the NumPy one at wide sizes. These are written in
arithmetic only, so LLVM vectorizes their loops: exp by Cody–Waite reduction
``x = m ln 2 + r`` (|r| ≤ ln 2 / 2), a degree-13 Taylor polynomial for e^r
(truncation error below 1e-17), and 2^m built from its bits; tanh as Cephes'
form x + x z P(z)/Q(z) for |x| < 0.625 and 1 − 2/(e^{2|x|} + 1) above, one
division per number, each a small correction to x or to 1 (1.3 ulp of the exact
tanh at most, where (e − 1)/(e + 1) reached 2.1). Both stay within 2 ulp of NumPy's over the whole range,
with inf, −inf, NaN and overflow kept (``tests/test_numba.py`` measures it).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy

if TYPE_CHECKING:  # the generated module imports both; this file is only read for its source without Numba
    import llvmlite.ir
    import numba

    from symbptt.codegen.runtime import _flat

HUGE_PAGES = sys.platform.startswith("linux")  # madvise's MADV_HUGEPAGE is Linux's (a constant: Numba prunes it)
LOG2_E = 1.4426950408889634
LN2_HIGH = 6.93145751953125e-1  # ln 2 = LN2_HIGH + LN2_LOW, the high part exact in m · LN2_HIGH for |m| < 2^11
LN2_LOW = 1.42860682030941723212e-6
TANH_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
TANH_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)


def _logsumexp(a):
    """log Σ_i exp(a_i) over the last axis, kept as a length-1 axis; stable for large a."""
    rows = numpy.ascontiguousarray(a).reshape(-1, a.shape[-1])
    out = numpy.empty((rows.shape[0], 1))
    for r in range(rows.shape[0]):
        m = rows[r].max()
        out[r, 0] = m + numpy.log(_exp(rows[r] - m).sum())
    return out.reshape(a.shape[:-1] + (1,))


def _softmax(a):
    """exp(a) / Σ_i exp(a_i) over the last axis; stable for large a."""
    rows = numpy.ascontiguousarray(a).reshape(-1, a.shape[-1])
    out = numpy.empty_like(rows)
    for r in range(rows.shape[0]):
        e = _exp(rows[r] - rows[r].max())
        out[r] = e / e.sum()
    return out.reshape(a.shape)


def _matmul(a, w, out=None):
    """a @ w for a stack a (..., k) as one large product, written straight into ``out`` (Numba's dot takes it)."""
    if out is None:
        out = _empty(a.shape[:-1] + (w.shape[-1],))
    numpy.dot(_flat(a), w, out.reshape(-1, w.shape[-1]))
    return out


def _add_rows(a, b):
    """a += b for a stack a (..., n) and a vector b (n,), row by row: Numba's broadcasting loop took 3× NumPy's
    time (1.1 ms against 0.37 ms on (100, 32, 256)), this one NumPy's."""
    rows = a.reshape(-1, b.shape[0])
    for i in range(rows.shape[0]):
        rows[i] += b


def _madvise(typingctx, address, length, advice):
    """The C library's madvise(address, length, advice) (a Numba intrinsic: the call, resolved in the process)."""

    def codegen(context, builder, signature, args):
        int32, int64 = llvmlite.ir.IntType(32), llvmlite.ir.IntType(64)
        pointer = llvmlite.ir.IntType(8).as_pointer()
        kind = llvmlite.ir.FunctionType(int32, [pointer, int64, int32])
        function = builder.module.globals.get("madvise") or llvmlite.ir.Function(builder.module, kind, "madvise")
        return builder.call(function, [builder.inttoptr(args[0], pointer), args[1], args[2]])

    return numba.int32(numba.uintp, numba.uintp, numba.int32), codegen


def _empty(shape):
    """numpy.empty(shape), on transparent huge pages from 4 MiB on, as NumPy's own arrays are on Linux.

    Numba allocates with malloc alone: a (T, B, h) buffer of 4 KiB pages cost its products 1.5 ms more than
    NumPy's at (T, B, h) = (100, 32, 256), in TLB misses (measured: 5.4 ms against 3.5 ms for the forward
    setup, level once NumPy's advice was turned off too)."""
    a = numpy.empty(shape)
    if HUGE_PAGES and a.nbytes >= 4194304:
        start = a.ctypes.data
        offset = (4096 - start % 4096) % 4096  # madvise takes whole pages
        _madvise(start + offset, a.nbytes - offset, numpy.int32(14))  # MADV_HUGEPAGE
    return a


def _float_bits(typingctx, bits):
    """The float64 whose bits are the int64 ``bits`` (a Numba intrinsic: one bitcast instruction)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvmlite.ir.DoubleType())

    return numba.float64(numba.int64), codegen


def _exp_one(x):
    """e^x for one float, in arithmetic LLVM vectorizes (see the module's docstring)."""
    x = 1100.0 if x > 1100.0 else x  # beyond ±1100 the result is inf or 0 already; NaN passes both tests
    x = -1100.0 if x < -1100.0 else x
    m = numpy.floor(LOG2_E * x + 0.5)
    r = (x - m * LN2_HIGH) - m * LN2_LOW
    p = TAYLOR[13]  # Σ_{k ≤ 13} r^k / k!, by Horner
    for k in range(12, -1, -1):
        p = p * r + TAYLOR[k]
    power = numpy.int64(m)
    half = power >> 1  # 2^m as 2^half · 2^(m − half), both normal numbers: gradual underflow and overflow kept
    return p * _float_bits((half + 1023) << 52) * _float_bits((power - half + 1023) << 52)


def _exp(a):
    """e^a elementwise, for an array of any shape."""
    flat = numpy.ascontiguousarray(a).reshape(-1)
    out = _empty(flat.size)
    for i in range(flat.size):
        out[i] = _exp_one(flat[i])
    return out.reshape(a.shape)


def _tanh_one(x):
    """tanh(x) for one float: one division (see the module's docstring)."""
    y = abs(x)
    z = y * y
    p = (TANH_P[0] * z + TANH_P[1]) * z + TANH_P[2]
    q = ((z + TANH_Q[0]) * z + TANH_Q[1]) * z + TANH_Q[2]
    e = _exp_one(2.0 * (20.0 if y > 20.0 else y))  # tanh(20) is 1 to the last bit; e stays finite
    small = y < 0.625
    d = (y * z * p if small else 2.0) / (q if small else e + 1.0)  # a small correction to y, or to 1
    return numpy.copysign(y + d if small else 1.0 - d, x)  # tanh(−0) = −0, as NumPy


def _tanh(a, out=None):
    """tanh(a) elementwise, for an array of any shape; written into ``out`` if given (a C-contiguous array of
    a's shape: the forward step's h_t, without a copy)."""
    flat = numpy.ascontiguousarray(a).reshape(-1)
    out = _empty(a.shape) if out is None else out
    into = out.reshape(-1)
    for i in range(flat.size):
        into[i] = _tanh_one(flat[i])
    return out


def _sigmoid(a, out=None):
    """σ(a) = 0.5 + 0.5 tanh(a / 2) elementwise, in one pass where the NumPy module makes three (a gate of the
    GRU and LSTM); written into ``out`` if given, as :func:`_tanh`."""
    flat = numpy.ascontiguousarray(a).reshape(-1)
    out = _empty(a.shape) if out is None else out
    into = out.reshape(-1)
    for i in range(flat.size):
        into[i] = 0.5 + 0.5 * _tanh_one(0.5 * flat[i])
    return out


TAYLOR = tuple(1.0 / float(numpy.prod(numpy.arange(1, k + 1))) for k in range(14))  # 1/k!
CONSTANTS = ("HUGE_PAGES", "LOG2_E", "LN2_HIGH", "LN2_LOW", "TANH_P", "TANH_Q", "TAYLOR")
HELPERS = (_madvise, _empty, _matmul, _add_rows, _float_bits, _exp_one, _exp, _tanh_one, _tanh, _sigmoid,
           _logsumexp, _softmax)
# how each is compiled: numba.extending.intrinsic for the bitcast, error_model="numpy" (a division by zero
# gives inf, as in NumPy, with no check per number that would stop LLVM from vectorizing the loop)
DECORATORS = {
    "_float_bits": "@numba.extending.intrinsic",
    "_madvise": "@numba.extending.intrinsic",
    "_exp_one": '@numba.njit(cache=True, inline="always", error_model="numpy")',
    "_exp": '@numba.njit(cache=True, error_model="numpy")',
    "_tanh_one": '@numba.njit(cache=True, inline="always", error_model="numpy")',
    "_tanh": '@numba.njit(cache=True, error_model="numpy")',
    "_sigmoid": '@numba.njit(cache=True, error_model="numpy")',
}
