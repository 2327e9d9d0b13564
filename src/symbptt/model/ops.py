"""Elementwise functions the cells use, as SymPy functions with their derivative rules.

Each function owns its derivative (``fdiff``) and its meaning in elementary
functions (``_eval_rewrite_as_*``), so that it differentiates, prints and can
be checked against an independent definition.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp


class sigmoid(sp.Function):  # noqa: N801  (the math's name)
    """σ(z) = 1 / (1 + e^{-z}), with σ' = σ (1 − σ)."""

    nargs = 1

    @classmethod
    def eval(cls, z: sp.Expr) -> sp.Expr | None:
        if z.is_zero:
            return sp.Rational(1, 2)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, z: sp.Expr, **kwargs: object) -> sp.Expr:
        return 1 / (1 + sp.exp(-z))


class relu(sp.Function):  # noqa: N801
    """relu(z) = max(z, 0), with relu'(z) = H(relu(z)) = H(z) and relu'(0) = 0 (the contract)."""

    nargs = 1

    @classmethod
    def eval(cls, z: sp.Expr) -> sp.Expr | None:
        if z.is_number and z.is_extended_real:
            return sp.Max(z, 0)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        # NOTE: Heaviside(.., 0) and not Heaviside(..): SymPy's H(0) is 1/2 since 1.9.
        # H(relu(z)) = H(z) for every real z; written on relu(z), the forward value,
        # it reads H(h_t) once the engine names relu(z) h_t, like tanh' = 1 - h_t².
        return sp.Heaviside(relu(self.args[0]), 0)

    def _eval_rewrite_as_Max(self, z: sp.Expr, **kwargs: object) -> sp.Expr:
        return sp.Max(z, 0)


class softplus(sp.Function):  # noqa: N801
    """softplus(z) = log(1 + e^z), with softplus' = σ."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, z: sp.Expr, **kwargs: object) -> sp.Expr:
        return sp.log(1 + sp.exp(z))


def identity(z: sp.Expr) -> sp.Expr:
    """φ(z) = z."""
    return z


ACTIVATIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "identity": identity,
    "tanh": sp.tanh,
    "sigmoid": sigmoid,
    "relu": relu,
}


def register_activation(name: str, function: Callable[[sp.Expr], sp.Expr]) -> None:
    """Make ``function`` (a SymPy function, or a function of one SymPy expression) the activation ``name``.

    Its derivative is SymPy's; it must be built from functions the printers know
    (``exp``, ``log``, ``tanh``, ``sigmoid``, …), e.g. softplus ``lambda z: sp.log(1 + sp.exp(z))``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        msg = f"an activation's name must be an identifier, got {name!r}"
        raise ValueError(msg)
    z = sp.Symbol("z", real=True)
    value = function(z)
    if not isinstance(value, sp.Expr) or value.free_symbols != {z}:
        msg = f"activation {name!r} must map a SymPy expression z to an expression in z, got {value!r}"
        raise ValueError(msg)
    ACTIVATIONS[name] = function


def activation(name: str) -> Callable[[sp.Expr], sp.Expr]:
    """The activation called ``name``; a ValueError names the allowed ones."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        msg = f"unknown activation {name!r}; allowed: {', '.join(ACTIVATIONS)}"
        raise ValueError(msg)
    return ACTIVATIONS[name]
