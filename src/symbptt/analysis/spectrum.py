"""Vanishing and exploding gradients as powers of W_hhᵀ (E15), measured with the engine's compiled gradients.

``∂l_T/∂h_t`` for every t comes from two compiled gradients and no forward
pass: the loss term of the last step is ``l_T = T·L_T − (T−1)·L_{T−1}``
(the prefix of length T − 1 shares its states), and with the input at step
s the one-hot ``e_s`` (and ``W_hx = 0``, so the inputs change nothing)
column s of ``∂l_T/∂W_hx`` is the pre-activation adjoint ``δ_s``; then
``∂l_T/∂h_t = W_hhᵀ δ_{t+1}``. For the linear cell E15 says the same vector
is ``(W_hhᵀ)^{T−t} ∂l_T/∂h_T``; the two are compared.

Pascanu, Mikolov and Bengio (2013): with ``γ = sup |φ'|`` (derived here
symbolically from the activation: 1 for tanh, 1/4 for sigmoid), a largest
singular value of W_hh below ``1/γ`` is sufficient for the gradient to
vanish, and one above ``1/γ`` is necessary for it to explode.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.calculus.util import maximum

from symbptt import arguments
from symbptt.gradient import api
from symbptt.model import ops

z = sp.Symbol("z", real=True)


@functools.cache  # SymPy's maximum takes a moment; an activation's γ never changes
def gamma(activation: str) -> sp.Expr:
    """sup_z |φ'(z)|, derived symbolically; for a piecewise derivative, the largest of its pieces' suprema."""
    derivative = sp.diff(ops.activation(activation)(z), z)
    if not derivative.free_symbols:  # identity: a constant slope
        return sp.Abs(derivative)
    elementary = derivative.replace(lambda e: isinstance(e, ops.sigmoid), lambda e: 1 / (1 + sp.exp(-e.args[0])))
    elementary = elementary.replace(lambda e: isinstance(e, ops.relu), lambda e: sp.Max(e.args[0], 0))
    elementary = elementary.rewrite(sp.Piecewise)
    pieces = [piece for piece, _ in elementary.args] if isinstance(elementary, sp.Piecewise) else [elementary]
    return sp.Max(*(maximum(sp.Abs(piece), z, sp.S.Reals) for piece in pieces))


def with_spectral_radius(h: int, radius: float, seed: int = 0) -> np.ndarray:
    """A random h×h matrix (normal entries) scaled to spectral radius ``radius``."""
    h = arguments.positive_int(h, "h")
    radius = arguments.positive_number(radius, "spectral radius")
    return to_spectral_radius(np.random.default_rng(arguments.non_negative_int(seed, "seed")).normal(size=(h, h)),
                              radius)


def to_spectral_radius(W: np.ndarray, radius: float) -> np.ndarray:
    """``W`` scaled so that its largest |eigenvalue| is ``radius``."""
    return W * (radius / max(abs(np.linalg.eigvals(W))))


@dataclass(frozen=True)
class Spectrum:
    """‖∂l_T/∂h_t‖ against the lag T − t, the spectrum of W_hh, and the Pascanu–Mikolov–Bengio conditions."""

    cell: str
    activation: str
    lags: np.ndarray  # 1..T
    norms: np.ndarray  # ‖∂l_T/∂h_{T−lag}‖ from the compiled gradient
    powers: np.ndarray | None  # E15: ‖(W_hhᵀ)^lag ∂l_T/∂h_T‖, for the linear cell
    eigenvalues: np.ndarray
    singular_values: np.ndarray
    gamma: sp.Expr

    @property
    def conditions(self) -> str:
        """The conditions, for this matrix, in one sentence."""
        top, bound = float(self.singular_values[0]), float(1 / self.gamma)
        if top < bound:
            return (f"largest singular value {top:.3g} < 1/γ = {bound:.3g}: the gradient vanishes "
                    f"(sufficient condition met)")
        return (f"largest singular value {top:.3g} ≥ 1/γ = {bound:.3g}: it may explode "
                f"(necessary condition met, not sufficient)")


def spectrum(W_hh: Any, T: int = 50, *, cell: str = "linear", activation: str = "tanh", seed: int = 0) -> Spectrum:
    """‖∂l_T/∂h_t‖ for t = 0..T−1 for ``cell`` (linear or elman) with recurrent weights ``W_hh``."""
    W = arguments.float_array(W_hh, "W_hh")
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        msg = f"W_hh must be a square matrix, got shape {W.shape}"
        raise ValueError(msg)
    T = arguments.positive_int(T, "T")
    if cell not in ("linear", "elman"):
        msg = f"cell must be linear or elman (one state, W_hh acting on h), got {cell!r}"
        raise ValueError(msg)
    h, q = W.shape[0], 2
    rng = np.random.default_rng(arguments.non_negative_int(seed, "seed"))
    params = {"W_hx": np.zeros((h, T)), "W_hh": W, "W_qh": rng.normal(size=(q, h))}
    if cell == "elman":
        params |= {"b_h": np.zeros(h), "b_q": np.zeros(q)}
    X, Y, h0 = np.eye(T)[:, None, :], rng.normal(size=(T, 1, q)), rng.normal(size=(1, h))
    grad = api.compile_gradient(cell, activation=activation) if cell == "elman" else api.compile_gradient(cell)
    last = T * grad(params, X, Y, h0)["W_hx"]
    if T > 1:
        last -= (T - 1) * grad(params, X[:-1], Y[:-1], h0)["W_hx"]  # the prefix: every l_t but l_T
    deltas = last.T  # deltas[s - 1] = ∂l_T/∂(pre-activation at s)
    adjoints = deltas @ W  # row s - 1: W_hhᵀ δ_s = ∂l_T/∂h_{s-1}
    lags = np.arange(1, T + 1)
    norms = np.linalg.norm(adjoints[::-1], axis=1)  # lag T − (s − 1) for s = T..1
    powers = None
    if cell == "linear":
        top = deltas[-1]  # ∂l_T/∂h_T (the linear cell's pre-activation is h)
        powers = np.array([np.linalg.norm(np.linalg.matrix_power(W.T, lag) @ top) for lag in lags])
    return Spectrum(cell, activation if cell == "elman" else "identity", lags, norms, powers,
                    np.linalg.eigvals(W), np.linalg.svd(W, compute_uv=False),
                    gamma(activation if cell == "elman" else "identity"))
