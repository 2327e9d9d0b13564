"""``compile_scalar_gradient``: the derived gradient of a scalar cell over explicit T, as a straight-line program."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

from symbptt import arguments, strategies
from symbptt.codegen import module, program
from symbptt.model import scalar

Arrays: TypeAlias = Mapping[str, Any]


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


__all__ = ["ScalarGradient", "compile_scalar_gradient"]
