"""``compile_gradient``: the contract's entry point, from names to a checked, compiled ∂L/∂W.

The derivation and the compilation happen once per (cell, activation, loss,
strategy) and are cached; ``tau``, ``pi`` and ``seed`` are run-time values, and
the returned callable infers ``d, h, q, T, B`` from the arrays it is given.
Inputs are validated here, so that bad input is a one-line ``ValueError``
naming the array, never a NumPy traceback or a silently wrong number.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np

from symbptt import arguments, strategies
from symbptt.codegen import module, program
from symbptt.derive import reverse
from symbptt.model import cells, losses, scalar

Arrays: TypeAlias = Mapping[str, Any]


@functools.cache
def _compiled(cell: str | cells.Cell, activation: str, loss: str, strategy_name: str
              ) -> tuple[reverse.ReverseStep, dict[str, Any]]:
    """Derive and compile once per kind of strategy: the reverse step and the module's namespace."""
    kind = strategies.kind_of(strategy_name)
    step = reverse.derive_step(cells.make_cell(cell, activation), losses.make_loss(loss))
    source = module.module_source(step, kind())
    return step, module.exec_module(source, f"symbptt_{step.cell.name}_{activation}_{loss}_{kind.name}")


class Gradient:
    """A compiled ∂L/∂W: ``grad(params, X, Y, h0=None, c0=None, xi=None) -> {name: array, "loss": float}``."""

    def __init__(self, cell: str | cells.Cell, activation: str, loss: str, strategy: strategies.Strategy) -> None:
        self.step, namespace = _compiled(cell, activation, loss, strategy.name)
        self._grad = namespace["grad"]
        self.cell, self.activation, self.loss = self.step.cell.name, activation, loss
        self.chosen = strategy
        self.param_names = tuple(p.name for p in self.step.cell.params)
        self.state_names = tuple(f"{s.name}0" for s in self.step.cell.state)
        # each parameter's shape in letters, read once: printing SymPy sizes per call cost more than the
        # gradient itself at small sizes
        self._shapes = tuple((W.name, tuple(str(s) for s in _storage_shape(W))) for W in self.step.cell.params)

    @property
    def strategy(self) -> str:
        return self.chosen.name

    @property
    def tau(self) -> int | None:
        return getattr(self.chosen, "tau", None)

    @property
    def pi(self) -> Any:
        return getattr(self.chosen, "pi", None)

    @property
    def seed(self) -> int | None:
        return getattr(self.chosen, "seed", None)

    @property
    def source(self) -> str:
        """The generated module, standalone (only NumPy), with this gradient's arguments written in."""
        return module.module_source(self.step, self.chosen)

    def module_source(self) -> str:
        """The standalone module (``symbptt code``): the same as :attr:`source`."""
        return self.source

    def __repr__(self) -> str:
        return (f"<symbptt gradient {self.cell} activation={self.activation!r} loss={self.loss!r} "
                f"strategy={self.chosen.describe()}>")

    def __call__(self, params: Arrays, X: Any, Y: Any, h0: Any = None, c0: Any = None,
                 xi: Any = None) -> dict[str, Any]:
        params = self._check_params(params)
        X = arguments.float_array(X, "X")
        if X.ndim not in (2, 3):
            msg = f"X must have shape (T, B, d) or (T, d), got {X.shape}"
            raise ValueError(msg)
        sizes, origins = self._sizes(params, X)
        T, B = sizes["T"], sizes["B"]
        empty = [f"{n} = 0" for n, v in sizes.items() if v == 0]
        if empty:
            msg = f"empty dimension: {', '.join(empty)} (X has shape {X.shape}); every size must be at least 1"
            raise ValueError(msg)
        Y = self._check_targets(Y, X, sizes["q"], origins)
        initial = {"h0": h0, "c0": c0}
        if c0 is not None and "c0" not in self.state_names:
            msg = f"c0 is the LSTM's initial cell state; the {self.cell} cell has none"
            raise ValueError(msg)
        for name in self.state_names:
            if initial[name] is not None:
                state = arguments.float_array(initial[name], name)
                if X.ndim == 2 and state.shape == (1, sizes["h"]):  # one sample, written either way
                    state = state[0]
                initial[name] = arguments.shape(state, name, (B, sizes["h"]) if X.ndim == 3 else (sizes["h"],),
                                             ("B", "h") if X.ndim == 3 else ("h",), origins)
        xi = self._check_xi(xi, T)
        def run(steps: int) -> dict[str, Any]:
            with np.errstate(all="ignore"):  # one warning below names the step, not NumPy's per operation
                return self._grad(params, X[:steps], Y[:steps], initial["h0"], initial["c0"],
                                  None if xi is None else xi[:steps], **self.chosen.values())

        out = run(T)
        if not _finite(out):  # the first step where it appears: the shortest prefix that is not finite
            low, high = 1, T
            while low < high:
                middle = (low + high) // 2
                low, high = (low, middle) if not _finite(run(middle)) else (middle + 1, high)
            msg = (f"the {self.cell} gradient is not finite (overflow for these weights or inputs): it first "
                   f"appears at time step t = {low} of {T}")
            warnings.warn(NonFiniteWarning(msg), stacklevel=2)
        return out

    # ---------------------------------------------------------------- validation
    def _check_params(self, params: Arrays) -> dict[str, np.ndarray]:
        if not isinstance(params, Mapping):
            names = ", ".join(self.param_names)
            msg = f"params must be a mapping of arrays by name ({names}), got {type(params).__name__}"
            raise ValueError(msg)
        missing = [n for n in self.param_names if n not in params]
        extra = sorted(set(params) - set(self.param_names))
        if missing or extra:
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unexpected {', '.join(extra)}"] if extra else [])
            msg = f"params of the {self.cell} cell are {', '.join(self.param_names)}: {'; '.join(parts)}"
            raise ValueError(msg)
        return {n: arguments.float_array(params[n], n) for n in self.param_names}

    def _sizes(self, params: Mapping[str, np.ndarray], X: np.ndarray) -> tuple[dict[str, int], dict[str, str]]:
        """T, B, d from X; h and q from the parameters (and where each was read); every parameter checked."""
        sizes = {"T": X.shape[0], "B": 1 if X.ndim == 2 else X.shape[1], "d": X.shape[-1]}
        origins = dict.fromkeys(sizes, "X")
        for name, letters in self._shapes:  # h and q from the first parameter that has them
            for axis, letter in enumerate(letters):
                if letter not in sizes and params[name].ndim == len(letters):
                    sizes[letter], origins[letter] = params[name].shape[axis], name
        for name, letters in self._shapes:
            expected = tuple(sizes.get(letter, -1) for letter in letters)
            arguments.shape(params[name], name, expected, letters, origins)
        return sizes, origins

    def _check_targets(self, Y: Any, X: np.ndarray, q: int, origins: Mapping[str, str]) -> np.ndarray:
        lead = X.shape[:-1]
        if self.step.loss.target == "class":
            Y = np.asarray(Y)
            if Y.dtype.kind not in "iu":
                msg = f"Y must hold integer class ids for the cross_entropy loss, got dtype {Y.dtype}"
                raise ValueError(msg)
            arguments.shape(Y, "Y", lead, ("T", "B") if X.ndim == 3 else ("T",), origins)
            if Y.size and (Y.min() < 0 or Y.max() >= q):
                msg = f"Y holds class ids from {int(Y.min())} to {int(Y.max())}; allowed: 0 to {q - 1} (q = {q})"
                raise ValueError(msg)
            return Y
        Y = arguments.float_array(Y, "Y")
        return arguments.shape(Y, "Y", (*lead, q), ("T", "B", "q") if X.ndim == 3 else ("T", "q"), origins)

    def _check_xi(self, xi: Any, T: int) -> np.ndarray | None:
        randomized = isinstance(self.chosen, strategies.Randomized)
        if xi is None:
            if randomized and self.pi is None:
                msg = "strategy 'randomized' needs xi (length T) at call time, or pi at compile time"
                raise ValueError(msg)
            if randomized and isinstance(self.pi, tuple) and len(self.pi) != T:
                msg = f"pi must be a number or have length T = {T}, got length {len(self.pi)}"
                raise ValueError(msg)
            return None
        if not randomized:
            msg = f"xi applies to the randomized strategy only, not {self.strategy!r}"
            raise ValueError(msg)
        xi = arguments.float_array(xi, "xi")
        arguments.shape(xi, "xi", (T,), ("T",), {"T": "X"})
        if (xi < 0).any():
            msg = f"xi must be >= 0, got {float(xi.min())!r} at index {int(xi.argmin())}"
            raise ValueError(msg)
        return xi


class NonFiniteWarning(RuntimeWarning):
    """A compiled gradient or loss came out NaN or infinite."""


def _finite(out: Mapping[str, Any]) -> bool:
    return all(np.isfinite(v).all() for v in out.values())


def _storage_shape(W: Any) -> tuple[Any, ...]:
    """A parameter's array shape: column vectors (biases) are 1-D."""
    return (W.shape[0],) if W.shape[1] == 1 else tuple(W.shape)


def compile_gradient(cell: str | cells.Cell, *, activation: str = "tanh", loss: str = "squared", strategy: str = "full",
                     tau: int | None = None, pi: Any = None, seed: int | None = None, k1: int | None = None,
                     k2: int | None = None) -> Gradient:
    """Derive ∂L/∂W of ``cell`` symbolically and compile it to NumPy (the contract's entry point).

    Args:
        cell: ``linear``, ``elman``, ``gru`` or ``lstm``.
        activation: of the ``elman`` cell: ``identity``, ``tanh``, ``sigmoid`` or ``relu``.
        loss: ``squared`` or ``cross_entropy``.
        strategy: ``full``; ``window`` (``tau`` steps); ``chunked`` (pieces of ``tau``);
            ``randomized`` (``xi`` at call time, or sampled from ``pi`` with ``seed``);
            ``tbptt`` (``k1``, ``k2``); ``last`` (the last ``tau`` steps).

    Returns:
        ``grad(params, X, Y, h0=None, c0=None, xi=None)`` returning every parameter's
        gradient by name and the scalar ``"loss"``.
    """
    cells.make_cell(cell, activation)  # the names are checked before any work
    losses.make_loss(loss)
    chosen = strategies.make(strategy, tau=tau, k1=k1, k2=k2, pi=pi, seed=seed)
    return Gradient(cell, activation, loss, chosen)


# ------------------------------------------------------------------ the scalar programs


class ScalarGradient:
    """A compiled ∂L/∂θ for a scalar cell over T steps: ``grad(params, x, y, h0=0, xi=None)``.

    ``x`` and ``y`` have shape ``(T,)`` or ``(T, B)``; the result maps every
    parameter name (and ``"loss"``) to a float, averaged over the batch as the
    contract's ``L = 1/(B·T) Σ_b Σ_t l``.
    """

    def __init__(self, built: program.Program) -> None:
        self.program = built
        model, strategy = built.model, built.strategy
        self.name = f"grad_{model.name}_{model.activation or 'linear'}_T{built.T}_{strategy.name}"
        self.source = program.program_source(built, self.name)
        self._function = module.compile_source(self.source, self.name)
        self.param_names = tuple(str(p) for p in built.model.params)

    def __call__(self, params: Arrays, x: Any, y: Any, h0: Any = 0.0, xi: Any = None) -> dict[str, float]:
        T, strategy = self.program.T, self.program.strategy
        missing = sorted(set(self.param_names) - set(params))
        extra = sorted(set(params) - set(self.param_names))
        if missing or extra:
            msg = f"parameters must be exactly {', '.join(self.param_names)}; missing {missing}, unexpected {extra}"
            raise ValueError(msg)
        values = [arguments.float_array(params[n], n) for n in self.param_names]
        x_arr, y_arr = arguments.float_array(x, "x"), arguments.float_array(y, "y")
        for name, arr in (("x", x_arr), ("y", y_arr)):
            if arr.ndim not in (1, 2) or arr.shape[0] != T:
                msg = f"{name} must have shape (T,) or (T, B) with T = {T}, got {arr.shape}"
                raise ValueError(msg)
        if isinstance(strategy, strategies.Randomized):
            if xi is None:
                if strategy.pi is None:
                    msg = "strategy 'randomized' needs xi (length T) or a keep-probability pi"
                    raise ValueError(msg)
                xi = strategies.draw_xi(strategy.pi, T, strategy.seed)
            xi = arguments.float_array(xi, "xi")
            if xi.shape != (T,) or (xi < 0).any():
                msg = f"xi must have shape ({T},) with entries >= 0, got shape {xi.shape}"
                raise ValueError(msg)
        results = self._function(*values, x_arr, y_arr, arguments.float_array(h0, "h0"), xi)
        return {name: float(v) for name, v in zip(("loss", *self.param_names), results, strict=True)}


def compile_scalar_gradient(model_name: str = "elman", T: int = 10, *, activation: str = "tanh",
                            strategy: str = "full", tau: int | None = None, pi: Any = None, seed: int | None = None,
                            k1: int | None = None, k2: int | None = None) -> ScalarGradient:
    """Derive and compile ∂L/∂θ of a scalar cell over ``T`` steps under a strategy (a straight-line program)."""
    chosen = strategies.make(strategy, tau=tau, k1=k1, k2=k2, pi=pi, seed=seed)
    return ScalarGradient(program.build(scalar.make_model(model_name, activation), T, chosen))


__all__ = ["Gradient", "ScalarGradient", "compile_gradient", "compile_scalar_gradient"]
