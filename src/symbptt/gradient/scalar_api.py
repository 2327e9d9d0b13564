"""``compile_scalar_gradient``: the derived gradient of a scalar cell over explicit T, as a straight-line program."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np

from symbptt import arguments
from symbptt.codegen import jit, module, program
from symbptt.derive import sampling, strategies
from symbptt.model import scalar

Arrays: TypeAlias = Mapping[str, Any]


class ScalarGradient:
    """A compiled ∂L/∂θ for a scalar cell over T steps: ``grad(params, x, y, h0=0, xi=None)``.

    ``x`` and ``y`` have shape ``(T,)`` or ``(T, B)``; the result maps every
    parameter name (and ``"loss"``) to a float, averaged over the batch as the
    contract's ``L = 1/(B·T) Σ_b Σ_t l``. With ``backend="numba"`` the float
    program is compiled by Numba (each sample in turn; ``compile_seconds``).
    """

    def __init__(self, built: program.Program, backend: str = "numpy") -> None:
        self.program = built
        model, strategy = built.model, built.strategy
        self.name = f"grad_{model.name}_{model.activation or 'linear'}_T{built.T}_{strategy.name}"
        self.source = program.program_source(built, self.name)
        self._function = module.compile_source(self.source, self.name)
        self.param_names = tuple(str(p) for p in built.model.params)
        self.backend = backend
        self.compile_seconds = 0.0
        if backend == "numba":
            self._jitted = self._compiled_floats()

    @functools.cached_property
    def float_source(self) -> str:
        """The program on Python floats (one sample), as a module."""
        return program.float_module(self.program, self.name)

    @functools.cached_property
    def _one_sample(self) -> Any:
        """The float program, for one sample: printed at the first such call."""
        return module.compile_source(self.float_source, self.name)

    def _compiled_floats(self) -> Any:
        """The float program compiled by Numba for its one signature, cached on disk across processes."""
        numba = jit.numba_module()
        loaded = jit.load(program.float_module(self.program, self.name, jit=True))
        vector = numba.types.Array(numba.float64, 1, "C")
        xi = vector if isinstance(self.program.strategy, strategies.Randomized) else numba.types.none
        signature = (*[numba.float64] * len(self.param_names), vector, vector, numba.float64, xi)
        self.compile_seconds = jit.compile_cached(loaded, self.name, signature)
        return getattr(loaded, self.name)

    def __call__(self, params: Arrays, x: Any, y: Any, h0: Any = 0.0, xi: Any = None) -> dict[str, float]:
        T, strategy = self.program.T, self.program.strategy
        params = arguments.mapping(params, "params", f"numbers by name ({', '.join(self.param_names)})")
        missing = sorted(set(self.param_names) - set(params))
        extra = sorted(map(str, set(params) - set(self.param_names)))
        if missing or extra:
            msg = f"parameters must be exactly {', '.join(self.param_names)}; missing {missing}, unexpected {extra}"
            raise ValueError(msg)
        values = [arguments.float_array(params[n], n) for n in self.param_names]
        for name, value in zip(self.param_names, values, strict=True):
            if value.ndim:  # one model for the whole batch: a batch of parameters is another question
                msg = f"{name} must be a number (each parameter of the scalar model is one), got shape {value.shape}"
                raise ValueError(msg)
        x_arr, y_arr = arguments.float_array(x, "x"), arguments.float_array(y, "y")
        for name, arr in (("x", x_arr), ("y", y_arr)):
            if arr.ndim not in (1, 2) or arr.shape[0] != T:
                msg = f"{name} must have shape (T,) or (T, B) with T = {T}, got {arr.shape}"
                raise ValueError(msg)
        if x_arr.shape != y_arr.shape:
            msg = f"x and y must have one shape, (T,) or (T, B); got {x_arr.shape} and {y_arr.shape}"
            raise ValueError(msg)
        batch = x_arr.shape[1:]
        if isinstance(strategy, strategies.Randomized):
            if xi is None:
                if strategy.pi is None:
                    msg = "strategy 'randomized' needs xi (length T) or a keep-probability pi"
                    raise ValueError(msg)
                xi = sampling.draw_xi(strategy.pi, T, strategy.seed)
            xi = arguments.float_array(xi, "xi")
            if xi.shape != (T,) or (xi < 0).any():
                msg = f"xi must have shape ({T},) with entries >= 0, got shape {xi.shape}"
                raise ValueError(msg)
        elif xi is not None:
            msg = f"xi applies to the randomized strategy only, not {strategy.name!r}"
            raise ValueError(msg)
        h0_arr = arguments.float_array(h0, "h0")
        if h0_arr.shape not in ((), batch):
            msg = f"h0 must be a number or have shape {batch} (one per sample of x), got {h0_arr.shape}"
            raise ValueError(msg)
        one_sample = x_arr.ndim == 1 and y_arr.ndim == 1 and h0_arr.ndim == 0 and all(v.ndim == 0 for v in values)
        if self.backend == "numba":
            results = self._call_jitted(values, x_arr, y_arr, h0_arr, xi, one_sample)
        elif one_sample:
            results = self._one_sample(*[float(v) for v in values], x_arr.tolist(), y_arr.tolist(), float(h0_arr),
                                       None if xi is None else xi.tolist())
        else:
            results = self._function(*values, x_arr, y_arr, h0_arr, xi)
        return {name: float(v) for name, v in zip(("loss", *self.param_names), results, strict=True)}

    def _call_jitted(self, values: list[Any], x: Any, y: Any, h0: Any, xi: Any, one_sample: bool) -> Any:
        """Each sample through the compiled float program; the contract's average over the batch."""
        xi = None if xi is None else np.ascontiguousarray(xi)
        if one_sample:  # no broadcasting: it costs more than the compiled program at small T
            return self._jitted(*[float(v) for v in values], np.ascontiguousarray(x), np.ascontiguousarray(y),
                                float(h0), xi)
        B = 1 if x.ndim == 1 else x.shape[1]
        columns = [np.broadcast_to(a.reshape(a.shape[0], -1), (a.shape[0], B)) for a in (x, y)]
        starts = np.broadcast_to(h0, (B,))
        per_sample = [np.broadcast_to(v, (B,)) for v in values]
        total = np.zeros(1 + len(self.param_names))
        for b in range(B):
            total += self._jitted(*[float(v[b]) for v in per_sample], np.ascontiguousarray(columns[0][:, b]),
                                  np.ascontiguousarray(columns[1][:, b]), float(starts[b]), xi)
        return total / B


def compile_scalar_gradient(model_name: str = "elman", T: int = 10, *, activation: str = "tanh",
                            strategy: str = "full", tau: int | None = None, pi: Any = None, seed: int | None = None,
                            k1: int | None = None, k2: int | None = None, backend: str = "numpy") -> ScalarGradient:
    """Derive and compile ∂L/∂θ of a scalar cell over ``T`` steps under a strategy (a straight-line program).

    ``backend="numba"`` compiles the program (about 8 s at T = 100 and 2 minutes at T = 1000, once: cached on
    disk), which then runs 20-35 times faster than a hand-written Python loop (benchmarks/straight_line.py).
    """
    if backend not in ("numpy", "numba"):
        msg = f"backend of a scalar program must be numpy or numba; got {backend!r}"
        raise ValueError(msg)
    chosen = strategies.make(strategy, tau=tau, k1=k1, k2=k2, pi=pi, seed=seed)
    return ScalarGradient(program.build(scalar.make_model(model_name, activation), T, chosen), backend)


__all__ = ["ScalarGradient", "compile_scalar_gradient"]
