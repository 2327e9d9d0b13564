"""The truncation strategies of the contract, on the forward form a_t = b_t + c_t a_{t-1}.

A strategy keeps or reweights the paths through the unrolled graph by the
transitions ``s_{t-1} → s_t`` they cross. On the forward form that is:

- ``full``: every path, the exact a_t.
- ``window`` (tau): a_t ≈ b_t + Σ_{i=max(1,t−tau+1)}^{t−1} (Π_{j=i+1}^{t} c_j) b_i  (E8).
- ``chunked`` (k): no path crosses s_k → s_{k+1}, s_{2k} → s_{2k+1}, …, so the
  sum starts at the first step of t's piece, k⌊(t−1)/k⌋ + 1.
- ``randomized`` (xi): z_t = b_t + xi_t c_t z_{t-1}  (E9), E[z_t] = a_t.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symbptt.codegen import runtime

STRATEGIES = ("full", "window", "chunked", "randomized")

tau, k = sp.symbols("tau k", integer=True, positive=True)
xi, pi = sp.IndexedBase("xi"), sp.IndexedBase("pi")


def check_strategy(name: str) -> str:
    if name not in STRATEGIES:
        msg = f"unknown strategy {name!r}; allowed: {', '.join(STRATEGIES)}"
        raise ValueError(msg)
    return name


def check_tau(value: object, strategy: str = "window") -> int:
    """tau (window length, or piece length k for chunked) as an int ≥ 1."""
    what = "tau" if strategy == "window" else "tau (the piece length k)"
    if isinstance(value, bool) or not isinstance(value, int | sp.Integer) or int(value) < 1:
        msg = f"{what} must be an integer >= 1 for strategy {strategy!r}, got {value!r}"
        raise ValueError(msg)
    return int(value)


def check_pi(value: object) -> float:
    """A keep-probability in (0, 1]."""
    try:
        p = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        p = math.nan
    if not 0 < p <= 1:  # also False for NaN
        msg = f"keep-probability pi must be in (0, 1], got {value!r}"
        raise ValueError(msg)
    return p


@dataclass(frozen=True)
class Strategy:
    """A strategy with its parameter: ``tau`` for window, the piece length for chunked."""

    name: str = "full"
    tau: int | None = None

    @classmethod
    def make(cls, name: str, tau: object = None) -> Strategy:
        name = check_strategy(name)
        if name in ("window", "chunked"):
            if tau is None:
                msg = f"strategy {name!r} needs tau (an integer >= 1)"
                raise ValueError(msg)
            return cls(name, check_tau(tau, name))
        return cls(name, None)

    def start(self, t: sp.Expr) -> sp.Expr:
        """First index i of the closed form's sum that this strategy keeps for step t."""
        if self.name == "window":
            assert self.tau is not None
            return sp.Max(1, t - self.tau + 1) if not t.is_Integer else sp.Integer(max(1, int(t) - self.tau + 1))
        if self.name == "chunked":
            assert self.tau is not None
            return self.tau * sp.floor((t - 1) / self.tau) + 1
        return sp.S.One

    def symbolic_start(self, t: sp.Expr) -> sp.Expr:
        """The same start with tau (or k) left as a symbol, for printing the general form."""
        if self.name == "window":
            return sp.Max(1, t - tau + 1)
        if self.name == "chunked":
            return k * sp.floor((t - 1) / k) + 1
        return sp.S.One

    def multipliers(self, T: int) -> list[sp.Expr]:
        """m_1..m_T with a_t = b_t + m_t c_t a_{t-1}: 0 where a transition is cut (chunked)."""
        if self.name == "chunked":
            assert self.tau is not None
            return [sp.S.Zero if (s - 1) % self.tau == 0 else sp.S.One for s in range(1, T + 1)]
        if self.name == "randomized":
            return [xi[s] for s in range(1, T + 1)]
        return [sp.S.One] * T


def chunk_cut_weights(T: int, k: int) -> list[float]:
    """The xi of ``randomized`` that equals ``chunked`` with k: 0 at the cuts, 1 elsewhere."""
    return [0.0 if (s - 1) % k == 0 and s > 1 else 1.0 for s in range(1, T + 1)]


def sample_xi(pi_values: float | Sequence[float], T: int, seed: int | None) -> list[float]:
    """xi_t ∈ {0, 1/pi_t} with P(xi_t = 1/pi_t) = pi_t; xi_1 is unused and set to 1."""
    pis = [check_pi(pi_values)] * T if isinstance(pi_values, int | float) else [check_pi(p) for p in pi_values]
    if len(pis) != T:
        msg = f"pi must be a number or have length T = {T}, got length {len(pis)}"
        raise ValueError(msg)
    return [float(v) for v in runtime.sample_xi(pis, T, seed)]
