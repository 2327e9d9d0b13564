"""The contract's cells and losses, each written once as symbolic step equations.

A cell is the ordered list of its named quantities at step ``t`` (gates, then
the new state), in terms of ``x_t``, the previous state and the parameters.
Every cell reads out ``o_t = W_qh h_t + b_q`` (``linear``: ``o_t = W_qh h_t``).
There is no derivative code here: every gradient comes from the rules in
:mod:`symbptt.derive.rules`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from symbptt.model import matrices as mx
from symbptt.model import ops, symbols
from symbptt.model.matrices import MatExpr, Seq  # noqa: F401  (q: the readout)
from symbptt.model.symbols import d, h, q

# keys of the contract's input and output files
CONTRACT_NAMES = frozenset({"loss", "X", "Y", "h0", "c0", "xi", "lengths", "hT", "cT"})
# the initial value of each state, by position: h_0, then the second state's (the LSTM's c_0, whatever its name)
INITIAL_STATES = ("h0", "c0")
# a cell's name reaches generated code (docstrings, module names), documents and file names: letters only
CELL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,47}")


def check_name(name: object) -> str:
    """A cell's name, or a one-line ValueError: it reaches generated code, documents and file names."""
    if not isinstance(name, str) or not CELL_NAME.fullmatch(name):
        msg = ("a cell's name must be letters, digits, _ and -, starting with a letter, at most 48 characters; "
               f"got {name!r}")
        raise ValueError(msg)
    return name


@dataclass(frozen=True)
class Cell:
    """h_t = f(x_t, s_{t-1}, θ) as named step equations, and the readout o_t = g(h_t, θ_o)."""

    name: str
    activation: str | None  # elman only
    params: tuple[sp.MatrixSymbol, ...]  # in the contract's order
    state: tuple[Seq, ...]  # s_t: (h_t,) or (h_t, c_t)
    steps: tuple[tuple[Seq, MatExpr], ...]  # (node, definition) in order; ends with the state
    readout: MatExpr  # o_t
    layers: int = 1  # stacked: the states are (h_l1, …, h_lL), then (c_l1, …, c_lL) (model.stacked)

    def __post_init__(self) -> None:
        check_name(self.name)
        _check_types(self)
        names = [p.name for p in self.params]
        nodes = [node.name for node, _ in self.steps]
        repeated = sorted({n for n in names if names.count(n) > 1} | {n for n in nodes if n in names or n == "x"})
        if repeated:
            msg = f"cell {self.name!r}: each name must be one thing, but {', '.join(repeated)} is used twice"
            raise ValueError(msg)
        owned = sorted(set(names) & CONTRACT_NAMES)
        if owned:
            msg = (f"cell {self.name!r}: a parameter cannot be called {', '.join(owned)}: the contract's files and "
                   f"results use {', '.join(sorted(CONTRACT_NAMES))} for themselves")
            raise ValueError(msg)
        if len(self.state) > len(INITIAL_STATES) * self.layers:
            msg = (f"cell {self.name!r}: at most {len(INITIAL_STATES)} states (h, and one more whose initial value "
                   f"is c0), got {len(self.state)}: {', '.join(s.name for s in self.state)}")
            raise ValueError(msg)
        missing = [s.name for s in self.state if s.name not in nodes]
        if missing:
            msg = f"cell {self.name!r}: the state {', '.join(missing)} is never assigned"
            raise ValueError(msg)
        unknown = sorted(p.name for p in (self.readout.atoms(sp.MatrixSymbol) | _used(self)) if p not in self.params)
        if unknown:
            msg = f"cell {self.name!r}: {', '.join(unknown)} used but not among its params"
            raise ValueError(msg)

    @property
    def title(self) -> str:
        name = self.name if self.layers == 1 else f"{self.layers}-layer {self.name.rsplit('_x', 1)[0]}"
        return name if self.activation is None else f"{name} ({self.activation})"

    @property
    def initial_states(self) -> tuple[str, ...]:
        """The names the initial states are passed by (``h0``, ``c0``), one per kind of state, in order."""
        return INITIAL_STATES[:len(self.state) // self.layers]

    @property
    def state_groups(self) -> tuple[tuple[str, tuple[Seq, ...]], ...]:
        """Each initial state's name and the states it starts, one per layer: (("h0", (h_t,)),) for one layer."""
        L = self.layers
        return tuple((name, self.state[k * L:(k + 1) * L]) for k, name in enumerate(self.initial_states))

    @property
    def previous_state(self) -> tuple[Seq, ...]:
        return tuple(s.at(symbols.t - 1) for s in self.state)

    @property
    def readout_params(self) -> tuple[sp.MatrixSymbol, ...]:
        """The parameters of the readout o_t = g(h_t, θ_o), read off its expression."""
        used = self.readout.atoms(sp.MatrixSymbol)
        return tuple(p for p in self.params if p in used)

    def param(self, name: str) -> sp.MatrixSymbol:
        return next(p for p in self.params if p.name == name)


def _check_types(cell: Cell) -> None:
    """What each field of a cell holds, in one line (ex.Cell is built by users)."""
    expected = [("params", cell.params, sp.MatrixSymbol, "parameters (ex.param)"),
                ("state", cell.state, Seq, "states (ex.h_t, ex.c_t, ex.seq)")]
    for field, values, kind, what in expected:
        if not isinstance(values, tuple) or not values or not all(isinstance(v, kind) for v in values):
            msg = f"cell {cell.name!r}: {field} must be a non-empty tuple of {what}, got {values!r:.60}"
            raise TypeError(msg)
    if not isinstance(cell.steps, tuple) or not cell.steps or not all(
            isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], Seq) and isinstance(s[1], sp.MatrixExpr)
            for s in cell.steps):
        msg = f"cell {cell.name!r}: steps must be a non-empty tuple of (quantity, matrix expression) pairs"
        raise TypeError(msg)
    if not isinstance(cell.readout, sp.MatrixExpr):
        msg = f"cell {cell.name!r}: readout must be a matrix expression (ex.readout()), got {cell.readout!r:.40}"
        raise TypeError(msg)


def recurrent_weight(cell: Cell) -> sp.MatrixSymbol:
    """The textbook's w_h: ``W_hh`` if the cell has one, else the first parameter multiplying h_{t-1}."""
    named = [W for W in cell.params if W.name == "W_hh"]
    if named:
        return named[0]
    h_prev = cell.state[0].at(symbols.t - 1)
    for _, value in cell.steps:
        for product in (*value.atoms(sp.MatMul), *value.atoms(sp.HadamardProduct)):
            if h_prev in product.args:
                found = [a for a in product.args if isinstance(a, sp.MatrixSymbol) and a in cell.params]
                if found:
                    return found[0]
    hidden = [W for W in cell.params if W not in cell.readout_params]
    return hidden[0]


def param(name: str, rows: sp.Expr, cols: sp.Expr = 1) -> sp.MatrixSymbol:
    """A parameter; the Python name, the SymPy name and the contract's name are one string."""
    return sp.MatrixSymbol(name, rows, cols)


x_t, h_t, h_prev = mx.seq("x", d), mx.seq("h", h), mx.seq("h", h, -1)
c_t, c_prev = mx.seq("c", h), mx.seq("c", h, -1)
W_qh, b_q = param("W_qh", q, h), param("b_q", q)

sigma = mx.scalar_function(ops.sigmoid)
tanh = mx.scalar_function(sp.tanh)


def gate(W_x: sp.MatrixSymbol, W_h: sp.MatrixSymbol, b: sp.MatrixSymbol, phi: sp.Lambda = sigma,
         h_in: MatExpr = h_prev) -> MatExpr:
    """Γ = φ(W_x x_t + W_h h_{t-1} + b)  (E18, the cheatsheet's gate)."""
    return mx.elementwise(phi, mx.add(mx.mul(W_x, x_t), mx.mul(W_h, h_in), b))


def activate(name: str, expr: MatExpr) -> MatExpr:
    """The activation ``name`` (tanh, sigmoid, relu, identity, or one registered) applied entrywise."""
    return mx.elementwise(mx.scalar_function(ops.activation(name)), expr)


def linear() -> Cell:
    """h_t = W_hx x_t + W_hh h_{t-1}, o_t = W_qh h_t  (E10)."""
    W_hx, W_hh = param("W_hx", h, d), param("W_hh", h, h)
    step = mx.add(mx.mul(W_hx, x_t), mx.mul(W_hh, h_prev))
    return Cell("linear", None, (W_hx, W_hh, W_qh), (h_t,), ((h_t, step),), mx.mul(W_qh, h_t))


def elman(activation: str = "tanh") -> Cell:
    """h_t = φ(W_hx x_t + W_hh h_{t-1} + b_h), o_t = W_qh h_t + b_q."""
    phi = mx.scalar_function(ops.activation(activation))
    W_hx, W_hh, b_h = param("W_hx", h, d), param("W_hh", h, h), param("b_h", h)
    return Cell("elman", activation, (W_hx, W_hh, b_h, W_qh, b_q), (h_t,),
                ((h_t, gate(W_hx, W_hh, b_h, phi)),), readout())


def gru() -> Cell:
    """Reset and update gates, candidate state, and h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ h̃_t."""
    W_xr, W_hr, b_r = param("W_xr", h, d), param("W_hr", h, h), param("b_r", h)
    W_xz, W_hz, b_z = param("W_xz", h, d), param("W_hz", h, h), param("b_z", h)
    W_xh, W_hh, b_h = param("W_xh", h, d), param("W_hh", h, h), param("b_h", h)
    r_t, z_t, htilde_t = mx.seq("r", h), mx.seq("z", h), mx.seq("htilde", h)
    steps = (
        (r_t, gate(W_xr, W_hr, b_r)),
        (z_t, gate(W_xz, W_hz, b_z)),
        (htilde_t, gate(W_xh, W_hh, b_h, tanh, h_in=mx.hadamard(r_t, h_prev))),
        (h_t, mx.add(mx.hadamard(z_t, h_prev),
                     mx.hadamard(mx.add(mx.ones_like(z_t), mx.mul(-1, z_t)), htilde_t))),
    )
    params = (W_xr, W_hr, b_r, W_xz, W_hz, b_z, W_xh, W_hh, b_h, W_qh, b_q)
    return Cell("gru", None, params, (h_t,), steps, readout())


def lstm() -> Cell:
    """Input, forget and output gates, candidate cell, c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t, h_t = g_t ⊙ tanh(c_t)."""
    W_xi, W_hi, b_i = param("W_xi", h, d), param("W_hi", h, h), param("b_i", h)
    W_xf, W_hf, b_f = param("W_xf", h, d), param("W_hf", h, h), param("b_f", h)
    W_xo, W_ho, b_o = param("W_xo", h, d), param("W_ho", h, h), param("b_o", h)
    W_xc, W_hc, b_c = param("W_xc", h, d), param("W_hc", h, h), param("b_c", h)
    i_t, f_t, g_t, ctilde_t = mx.seq("i", h), mx.seq("f", h), mx.seq("g", h), mx.seq("ctilde", h)
    steps = (
        (i_t, gate(W_xi, W_hi, b_i)),
        (f_t, gate(W_xf, W_hf, b_f)),
        (g_t, gate(W_xo, W_ho, b_o)),
        (ctilde_t, gate(W_xc, W_hc, b_c, tanh)),
        (c_t, mx.add(mx.hadamard(f_t, c_prev), mx.hadamard(i_t, ctilde_t))),
        (h_t, mx.hadamard(g_t, mx.elementwise(tanh, c_t))),
    )
    params = (W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_qh, b_q)
    return Cell("lstm", None, params, (h_t, c_t), steps, readout())


def readout() -> MatExpr:
    """o_t = W_qh h_t + b_q, the contract's readout."""
    return mx.add(mx.mul(W_qh, h_t), b_q)


def _used(cell: Cell) -> set[sp.MatrixSymbol]:
    return {W for _, value in cell.steps for W in value.atoms(sp.MatrixSymbol)}


# ------------------------------------------------------------------ the registry


@dataclass(frozen=True)
class Entry:
    """A registered cell: its builder, and whether it takes an activation."""

    build: Callable[..., Cell]
    activation: bool = False


_REGISTRY: dict[str, Entry] = {}


def register_cell(name: str, build: Callable[..., Cell], *, activation: bool = False) -> None:
    """Make ``build()`` (or ``build(activation)``) the cell ``name`` everywhere: API, CLI, derivations."""
    _REGISTRY[check_name(name)] = Entry(build, activation)


def cell_names() -> tuple[str, ...]:
    """Every registered cell, the built-in ones first."""
    return tuple(_REGISTRY)


def make_cell(name: str | Cell, activation: str = "tanh") -> Cell:
    """The cell called ``name`` (or ``name`` itself, a :class:`Cell`); ``activation`` only where it takes one."""
    if isinstance(name, Cell):
        if activation != "tanh":
            msg = f"activation {activation!r} applies to the elman cell only; the {name.name} cell writes its own"
            raise ValueError(msg)
        return name
    entry = _REGISTRY.get(name) if isinstance(name, str) else None
    if entry is None:
        msg = f"unknown cell {name!r}; allowed: {', '.join(_REGISTRY)}"
        raise ValueError(msg)
    if entry.activation:
        return entry.build(activation)
    if activation != "tanh":
        ops.activation(activation)  # an unknown name is reported as such first
        msg = f"activation {activation!r} applies to the elman cell only; {name} has none to choose"
        raise ValueError(msg)
    return entry.build()


register_cell("linear", linear)
register_cell("elman", elman, activation=True)
register_cell("gru", gru)
register_cell("lstm", lstm)
