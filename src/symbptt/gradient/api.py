"""``compile_gradient``: the contract's entry point, from names to a checked, compiled ∂L/∂W.

The derivation and the compilation happen once per (cell, activation, loss,
strategy) and are cached; ``tau``, ``pi`` and ``seed`` are run-time values, and
the returned callable infers ``d, h, q, T, B`` from the arrays it is given.
Inputs are validated here, so that bad input is a one-line ``ValueError``
naming the array, never a NumPy traceback or a silently wrong number.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np

from symbptt import arguments
from symbptt.codegen.dialects import DIALECTS
from symbptt.codegen.loops import GRADIENTS_ONLY, Outputs
from symbptt.derive import strategies
from symbptt.gradient import backends
from symbptt.model import cells, losses, sequences

Arrays: TypeAlias = Mapping[str, Any]


class Gradient:
    """A compiled ∂L/∂W: ``grad(params, X, Y, h0=None, c0=None, xi=None) -> {name: array, "loss": float}``."""

    def __init__(self, cell: str | cells.Cell, activation: str, loss: str, strategy: strategies.Strategy,
                 backend: str = "auto", outputs: Outputs = GRADIENTS_ONLY, loss_at: str = "every") -> None:
        self.step = backends.derived(cell, activation, loss, False, loss_at)
        self._model = backends.Model(cell, activation, loss, strategy.name, outputs, loss_at)
        self.outputs, self.loss_at = outputs, loss_at
        self.backend = backend
        self.compile_seconds: dict[str, float] = {}  # per backend compiled so far: Numba's is seconds, the rest ~0
        if backend != "auto":
            self._module(backend)  # compiled now, so that its cost is not the first call's
        self.cell, self.activation, self.loss = self.step.cell.name, activation, loss
        self.chosen = strategy
        self.param_names = tuple(p.name for p in self.step.cell.params)
        self.state_names = self.step.cell.initial_states
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
        """The generated NumPy module, standalone (only NumPy), with this gradient's arguments written in."""
        return self.module_source("numpy")

    def module_source(self, backend: str = "numpy", padded: bool = False) -> str:
        """The standalone module of a backend (``symbptt code --backend``), this gradient's arguments written in;
        ``padded``: the module whose ``grad`` takes ``lengths``."""
        if not isinstance(backend, str) or backend not in DIALECTS:
            msg = f"backend of a module must be one of {', '.join(DIALECTS)}; got {backend!r}"
            raise ValueError(msg)
        return backends.source(self._model._replace(padded=arguments.flag(padded, "padded")), DIALECTS[backend],
                               self.chosen)

    def _module(self, backend: str, padded: bool = False) -> Any:
        """The ``grad`` of a backend's module, compiled at the first request (with ``lengths``: the padded
        model's, at the first call that gives them)."""
        namespace, seconds = backends.namespace(self._model._replace(padded=padded), backend)
        self.compile_seconds.setdefault(backend, seconds)
        return namespace["grad"]

    def __repr__(self) -> str:
        return (f"<symbptt gradient {self.cell} activation={self.activation!r} loss={self.loss!r} "
                f"strategy={self.chosen.describe()}>")

    def __call__(self, params: Arrays, X: Any, Y: Any, h0: Any = None, c0: Any = None,
                 xi: Any = None, lengths: Any = None) -> dict[str, Any]:
        originals = (params, X, Y, h0, c0, xi)
        given = [X, Y, h0, c0, xi, *(params.values() if isinstance(params, Mapping) else ())]
        arrays_foreign = any(backends.foreign(a) for a in given)
        if arrays_foreign:
            _check_float64(params, X, Y, h0, c0, xi)
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
            msg = f"c0 is the initial value of a second state (the LSTM's c); the {self.cell} cell has only h"
            raise ValueError(msg)
        for name in self.state_names:
            if initial[name] is not None:
                state = arguments.float_array(initial[name], name)
                if X.ndim == 2 and state.shape == (1, sizes["h"]):  # one sample, written either way
                    state = state[0]
                initial[name] = arguments.shape(state, name, (B, sizes["h"]) if X.ndim == 3 else (sizes["h"],),
                                             ("B", "h") if X.ndim == 3 else ("h",), origins)
        xi = self._check_xi(xi, T)
        padded = lengths is not None
        sequence = {"lengths": _check_lengths(lengths, T, B)} if padded else {}
        model = self._model._replace(padded=padded)
        chosen = backends.choose(model, self.backend, arrays_foreign, sizes["h"])
        grad = self._module(chosen, padded)
        if chosen == "array_api" and arrays_foreign:  # checked on NumPy views; computed on the caller's arrays
            params = {n: originals[0][n] for n in self.param_names}
            X, Y, initial["h0"], initial["c0"], xi = originals[1:]

        def run(steps: int) -> dict[str, Any]:
            with np.errstate(all="ignore"):  # one warning below names the step, not NumPy's per operation
                return grad(params, X[:steps], Y[:steps] if self.loss_at == "every" else Y, initial["h0"],
                            initial["c0"], None if xi is None else xi[:steps], **sequence, **self.chosen.values())

        out = run(T)
        if not _finite(out) and (padded or self.loss_at == "last"):  # a prefix is another problem: no bisection
            msg = f"the {self.cell} gradient is not finite (overflow for these weights or inputs)"
            warnings.warn(NonFiniteWarning(msg), stacklevel=2)
        elif not _finite(out):  # the first step where it appears: the shortest prefix that is not finite
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
        extra = sorted(map(str, set(params) - set(self.param_names)))  # an int key among them too
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
        if "q" not in sizes and "h" in sizes:  # o_t = h_t: a model without a head has q = h outputs
            sizes["q"], origins["q"] = sizes["h"], origins["h"]
        for name, letters in self._shapes:
            expected = tuple(sizes.get(letter, -1) for letter in letters)
            arguments.shape(params[name], name, expected, letters, origins)
        return sizes, origins

    def _check_targets(self, Y: Any, X: np.ndarray, q: int, origins: Mapping[str, str]) -> np.ndarray:
        lead = X.shape[:-1] if self.loss_at == "every" else X.shape[1:-1]  # loss_at="last": one Y per sequence
        if self.step.loss.target == "class":
            Y = arguments.as_array(Y, "Y", "integer class ids")
            if Y.dtype.kind not in "iu":
                msg = f"Y must hold integer class ids for the cross_entropy loss, got dtype {Y.dtype}"
                raise ValueError(msg)
            arguments.shape(Y, "Y", lead, _axes(X, self.loss_at, ()), origins)
            if Y.size and (Y.min() < 0 or Y.max() >= q):
                msg = f"Y holds class ids from {int(Y.min())} to {int(Y.max())}; allowed: 0 to {q - 1} (q = {q})"
                raise ValueError(msg)
            return Y
        Y = arguments.float_array(Y, "Y")
        Y = arguments.shape(Y, "Y", (*lead, q), _axes(X, self.loss_at, ("q",)), origins)
        if self.loss == "bce" and Y.size and (Y.min() < 0 or Y.max() > 1):  # probabilities, as PyTorch's
            index = tuple(int(i) for i in np.unravel_index(int(np.argmax((Y < 0) | (Y > 1))), Y.shape))
            msg = f"Y must hold probabilities in [0, 1] for the bce loss, got {float(Y[index])!r} at index {index}"
            raise ValueError(msg)
        return Y

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


def _axes(X: np.ndarray, loss_at: str, last: tuple[str, ...]) -> tuple[str, ...]:
    """The letters of Y's shape: (T, B, …), or (B, …) for one target per sequence; without B for one sample."""
    return ("T",) * (loss_at == "every") + ("B",) * (X.ndim == 3) + last


def _check_lengths(lengths: Any, T: int, B: int) -> np.ndarray:
    """``lengths`` as B integers in 1..T, or a one-line ValueError."""
    array = arguments.as_array(lengths, "lengths", "integers")
    if array.dtype.kind not in "iu":
        msg = f"lengths must hold integers, got dtype {array.dtype}"
        raise ValueError(msg)
    arguments.shape(array, "lengths", (B,), ("B",), {"B": "X"})
    if array.size and (array.min() < 1 or array.max() > T):
        index = int(np.argmax((array < 1) | (array > T)))
        msg = f"lengths must be integers in 1..T = 1..{T}, got {int(array[index])} at index {index}"
        raise ValueError(msg)
    return array


class NonFiniteWarning(RuntimeWarning):
    """A compiled gradient or loss came out NaN or infinite."""


def _finite(out: Mapping[str, Any]) -> bool:
    return all(np.isfinite(np.asarray(v)).all() for v in out.values())


def _check_float64(params: Any, *arrays: Any) -> None:
    """Arrays of another library are computed on as given: they must be float64 already (Y may hold class ids)."""
    named = dict(zip(("X", "Y", "h0", "c0", "xi"), arrays, strict=True))
    named |= dict(params) if isinstance(params, Mapping) else {}
    for name, value in named.items():
        dtype = str(getattr(value, "dtype", ""))
        if backends.foreign(value) and "float" in dtype and not dtype.endswith("float64"):
            msg = (f"{name} is a {type(value).__module__.split('.')[0]} array of {dtype}; arrays of other libraries "
                   "are computed on as given and must be float64 (JAX: jax.config.update('jax_enable_x64', True))")
            raise ValueError(msg)


def _storage_shape(W: Any) -> tuple[Any, ...]:
    """A parameter's array shape: column vectors (biases) are 1-D."""
    return (W.shape[0],) if W.shape[1] == 1 else tuple(W.shape)


def compile_gradient(cell: str | cells.Cell, *, activation: str = "tanh", loss: str = "squared", strategy: str = "full",
                     tau: int | None = None, pi: Any = None, seed: int | None = None, k1: int | None = None,
                     k2: int | None = None, backend: str = "auto", initial_state_grad: bool = False,
                     return_state: bool = False, loss_at: str = "every") -> Gradient:
    """Derive ∂L/∂W of ``cell`` symbolically and compile it to NumPy (the contract's entry point).

    Args:
        cell: ``linear``, ``elman``, ``gru`` or ``lstm``.
        activation: of the ``elman`` cell: ``identity``, ``tanh``, ``sigmoid`` or ``relu``.
        loss: ``squared``, ``cross_entropy``, ``mse`` (PyTorch's ``MSELoss``) or ``bce`` (``BCEWithLogitsLoss``).
        strategy: ``full``; ``window`` (``tau`` steps); ``chunked`` (pieces of ``tau``);
            ``randomized`` (``xi`` at call time, or sampled from ``pi`` with ``seed``);
            ``tbptt`` (``k1``, ``k2``); ``last`` (the last ``tau`` steps).
        backend: ``auto`` (default: Numba for narrow problems when installed, NumPy otherwise, the array
            API module for PyTorch, JAX or CuPy arrays), ``numpy``, ``numba`` or ``array_api``
            (:mod:`symbptt.gradient.backends`).
        initial_state_grad: also return ``∂L/∂h0`` as ``"h0"`` (and ``∂L/∂c0`` as ``"c0"``), shaped as h0,
            under the strategy's own cut (the contract's "Models").
        return_state: also return the final states ``"hT"`` (and ``"cT"``), shaped as h0: PyTorch's h_n, c_n,
            to carry into the next chunk without a second forward pass (with ``lengths``: at len_b).
        loss_at: ``every`` step, or ``last``: one target per sequence, ``L = 1/B Σ_b l(o_T, y)`` (at len_b with
            ``lengths``), Y of shape ``(B, q)`` or ``(B,)`` class ids.

    Returns:
        ``grad(params, X, Y, h0=None, c0=None, xi=None, lengths=None)`` returning every parameter's
        gradient by name and the scalar ``"loss"``; ``lengths`` (B integers in 1..T) make sequence b end at
        step len_b: a padded step passes the state unchanged and has no loss term.
    """
    cells.make_cell(cell, activation)  # the names are checked before any work
    losses.make_loss(loss)
    chosen = strategies.make(strategy, tau=tau, k1=k1, k2=k2, pi=pi, seed=seed)
    outputs = Outputs(arguments.flag(initial_state_grad, "initial_state_grad"),
                      arguments.flag(return_state, "return_state"))
    return Gradient(cell, activation, loss, chosen, backends.check_backend(backend), outputs,
                    sequences.check_loss_at(loss_at))


__all__ = ["Gradient", "NonFiniteWarning", "compile_gradient"]
