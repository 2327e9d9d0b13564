"""Where each quantity of the generated code lives, under which allocated name.

A time-indexed quantity is a stacked array over t (with index 0 holding
``s_0`` for a state, so its ``t = 1`` is at index 1) or, inside a loop, a local
variable; a parameter is an argument; a gradient is a running sum. Every name
comes from one :class:`names.Names`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from symbptt.codegen.names import Names
from symbptt.model import matrices as mx
from symbptt.model import symbols
from symbptt.model.matrices import MatExpr, Seq


def key(leaf: Seq) -> str:
    """What a time-indexed leaf holds, as a name hint: ``h``, ``dL_dh``, ``carry_h``."""
    prefix = {mx.Adjoint: "dL_d", mx.Carry: "carry_"}.get(type(leaf), "")
    return prefix + leaf.name


@dataclass
class Storage:
    """The arrays and locals of one generated function."""

    names: Names
    first: dict[str, int] = field(default_factory=dict)  # array key -> index of t = 1 (0 or 1)
    locals: dict[MatExpr, str] = field(default_factory=dict)  # per-step values: a local variable

    def array(self, hint: str) -> str:
        """The stacked array called ``hint`` in the math."""
        return self.names.of(("array", hint), hint)

    def local(self, leaf: MatExpr, hint: str | None = None) -> str:
        """Make ``leaf`` a local variable (one value per step) and return its name."""
        if leaf not in self.locals:
            self.locals[leaf] = self.names.of(("local", leaf), hint or key(leaf))
        return self.locals[leaf]

    def param(self, W: sp.MatrixSymbol) -> str:
        if isinstance(W, mx.ParamAdjoint):
            return self.names.of(("gradient", W.name), f"dL_d{W.name}")
        return self.names.of(("param", W.name), W.name)

    def _direct_name(self, leaf: MatExpr) -> str | None:
        """A parameter's or a local's name: the same inside the loop and for all t at once."""
        if isinstance(leaf, sp.MatrixSymbol):
            return self.param(leaf)
        return self.locals.get(leaf)

    def step_name(self, leaf: MatExpr) -> str:
        """The leaf inside the loop at step t."""
        direct = self._direct_name(leaf)
        if direct is not None:
            return direct
        hint = key(leaf)
        return f"{self.array(hint)}[{self._index(leaf.time + self.first[hint] - 1)}]"

    def stacked_name(self, leaf: MatExpr) -> str:
        """The leaf for every t = 1..T at once."""
        direct = self._direct_name(leaf)
        if direct is not None:
            return direct
        hint = key(leaf)
        array, first = self.array(hint), self.first[hint]
        start = leaf.offset + first
        if start == 0 and first == 0:
            return array
        if start == 0:
            return f"{array}[:-1]"
        T = self.names.of("T", "T")
        return f"{array}[{start}:]" if start == first else f"{array}[{start}:{start} + {T}]"

    def block_name(self, leaf: MatExpr, length: str) -> str:
        """The leaf for the ``length`` steps from t on (t, t + 1, …), for sums over a block of steps."""
        direct = self._direct_name(leaf)
        if direct is not None:
            return direct
        hint = key(leaf)
        start = self._index(leaf.time + self.first[hint] - 1)
        return f"{self.array(hint)}[{start}:{start} + {length}]"

    def _index(self, expr: sp.Expr) -> str:
        """``t + k`` with the loop variable's allocated name."""
        offset = int(expr - symbols.t)
        t = self.names.of("t", "t")
        return t if offset == 0 else f"{t} {'+' if offset > 0 else '-'} {abs(offset)}"
