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
from symbptt.gradient import backends, calls
from symbptt.model import cells, losses, sequences, stacked

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
            calls.check_float64(params, X, Y, h0, c0, xi)
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
        L = self.step.cell.layers
        lead, letters = ((L,), ("L",)) if L > 1 else ((), ())  # stacked: (L, B, h), PyTorch's layout
        origins = {**origins, "L": "layers"}
        for name in self.state_names:
            if initial[name] is not None:
                state = arguments.float_array(initial[name], name)
                if X.ndim == 2 and state.shape == (*lead, 1, sizes["h"]):  # one sample, written either way
                    state = state[..., 0, :]
                initial[name] = arguments.shape(state, name, (*lead, B, sizes["h"]) if X.ndim == 3 else
                                                (*lead, sizes["h"]), (*letters, "B", "h") if X.ndim == 3 else
                                                (*letters, "h"), origins)
        xi = calls.check_xi(xi, T, self.chosen)
        padded = lengths is not None
        sequence = {"lengths": calls.check_lengths(lengths, T, B)} if padded else {}
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
            arguments.shape(Y, "Y", lead, calls.target_axes(X, self.loss_at, ()), origins)
            if Y.size and (Y.min() < 0 or Y.max() >= q):
                msg = f"Y holds class ids from {int(Y.min())} to {int(Y.max())}; allowed: 0 to {q - 1} (q = {q})"
                raise ValueError(msg)
            return Y
        Y = arguments.float_array(Y, "Y")
        Y = arguments.shape(Y, "Y", (*lead, q), calls.target_axes(X, self.loss_at, ("q",)), origins)
        if self.loss == "bce" and Y.size and (Y.min() < 0 or Y.max() > 1):  # probabilities, as PyTorch's
            index = tuple(int(i) for i in np.unravel_index(int(np.argmax((Y < 0) | (Y > 1))), Y.shape))
            msg = f"Y must hold probabilities in [0, 1] for the bce loss, got {float(Y[index])!r} at index {index}"
            raise ValueError(msg)
        return Y


class NonFiniteWarning(RuntimeWarning):
    """A compiled gradient or loss came out NaN or infinite."""


def _finite(out: Mapping[str, Any]) -> bool:
    return all(np.isfinite(np.asarray(v)).all() for v in out.values())


def _storage_shape(W: Any) -> tuple[Any, ...]:
    """A parameter's array shape: column vectors (biases) are 1-D."""
    return (W.shape[0],) if W.shape[1] == 1 else tuple(W.shape)


def compile_gradient(cell: str | cells.Cell, *, activation: str = "tanh", loss: str = "squared", strategy: str = "full",
                     tau: int | None = None, pi: Any = None, seed: int | None = None, k1: int | None = None,
                     k2: int | None = None, backend: str = "auto", initial_state_grad: bool = False,
                     return_state: bool = False, loss_at: str = "every", layers: int = 1) -> Gradient:
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
        layers: PyTorch's stacking: layer ℓ ≥ 2 reads layer ℓ − 1's state; parameter NAME of layer ℓ is
            ``NAME_l{ℓ}`` (``W_qh``, ``b_q`` keep theirs); h0, c0 and what is returned of them are (L, B, h).
        loss_at: ``every`` step, or ``last``: one target per sequence, ``L = 1/B Σ_b l(o_T, y)`` (at len_b with
            ``lengths``), Y of shape ``(B, q)`` or ``(B,)`` class ids.

    Returns:
        ``grad(params, X, Y, h0=None, c0=None, xi=None, lengths=None)`` returning every parameter's
        gradient by name and the scalar ``"loss"``; ``lengths`` (B integers in 1..T) make sequence b end at
        step len_b: a padded step passes the state unchanged and has no loss term.
    """
    made = cells.make_cell(cell, activation)  # the names are checked before any work
    losses.make_loss(loss)
    written_in = activation
    if layers != 1:  # the stacked cell is a cell of its own (its activation written in)
        cell, written_in = stacked.stack(made, layers), "tanh"
    chosen = strategies.make(strategy, tau=tau, k1=k1, k2=k2, pi=pi, seed=seed)
    outputs = Outputs(arguments.flag(initial_state_grad, "initial_state_grad"),
                      arguments.flag(return_state, "return_state"))
    grad = Gradient(cell, written_in, loss, chosen, backends.check_backend(backend), outputs,
                    sequences.check_loss_at(loss_at))
    grad.activation = activation  # the user's, also for a stacked cell
    return grad


__all__ = ["Gradient", "NonFiniteWarning", "compile_gradient"]
