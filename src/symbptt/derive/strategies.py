"""The truncation strategies: one family of frozen objects, each owning its forward and reverse form.

Every strategy keeps or reweights the paths through the unrolled graph by the
transitions ``s_{j-1} → s_j`` they cross (CONTRACT, Strategies). Two numbers
say all of it, and every stage reads them from here:

- ``start(t)``: the first state the loss term ``l_t`` reaches; ``l_t`` reaches
  ``s_i`` for ``start(t) ≤ i ≤ t`` (none where ``start(t) > t``);
- ``multiplier(j)``: the weight of transition ``s_{j-1} → s_j`` on every path
  (``xi_j`` for ``randomized``, 1 for the others).

The forward form (E7, E8, E9) is ``∂h_t/∂w ≈ Σ_{i=start(t)}^{t} (Π_{j=i+1}^{t} m_j c_j) b_i``;
the reverse form carries ``∂L/∂s_t`` back across ``s_{t-1} → s_t`` for the
loss terms whose start is at most ``t − 1``, scaled by ``m_t``.

=============  ==================================  ===========================
strategy       start(t)                            identity
=============  ==================================  ===========================
full           1                                   tbptt(1, T)
window(tau)    max(1, t − tau + 1)                 tbptt(1, tau)
chunked(k)     k ⌊(t − 1)/k⌋ + 1                   tbptt(k, k)
tbptt(k1, k2)  max(1, k1 ⌈t/k1⌉ − k2 + 1)          Williams and Peng's BPTT(k2; k1)
last(k)        max(1, T − k + 1)                   tbptt(T, k)
randomized     1, with m_j = xi_j                  E[·] = full
=============  ==================================  ===========================
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import sympy as sp

from symbptt import arguments
from symbptt.derive import sampling
from symbptt.model.symbols import T

tau, k, k1, k2 = sp.symbols("tau k k1 k2", integer=True, positive=True)
xi, pi = sp.IndexedBase("xi"), sp.IndexedBase("pi")
SYMBOL = {"tau": tau, "k": k, "k1": k1, "k2": k2}  # by name: a class body's own field would shadow ``tau``

Length = Any  # an int, or a SymPy symbol for the general form


@dataclass(frozen=True)
class Strategy:
    """A truncation strategy: its forward form, its reverse form, its validation and run-time arguments."""

    name: ClassVar[str]
    label: ClassVar[str]  # the label of its step in a derivation
    symbols: ClassVar[tuple[tuple[str, Any], ...]] = ()  # (the contract's argument, its symbol in the forms)
    overlapping: ClassVar[bool] = False  # loss terms with different starts share a state: adjoints travel stacked

    # ---------------------------------------------------------------- the forms
    def start(self, t: sp.Expr, T: sp.Expr = T) -> sp.Expr:
        """The first state that the loss term l_t reaches."""
        return sp.S.One

    def multiplier(self, j: sp.Expr) -> sp.Expr:
        """The weight of the transition s_{j-1} → s_j on every path."""
        return sp.S.One

    def first(self, t: sp.Expr, T: sp.Expr = T) -> sp.Expr:
        """start(t) before it is bounded below by 1: the travelling adjoints' key where ∂L/∂h0 is asked (those
        whose first is at most 0 reach s_0)."""
        return self.start(t, T)

    def reaches_initial(self, t: sp.Expr, T: sp.Expr = T) -> sp.Basic:
        """Whether l_t reaches the initial state s_0 (``∂L/∂h0``): where it would reach a state before s_1, had
        the sequence one; s_0 → s_1 itself is never weighted (xi_1 is unused)."""
        return sp.true

    def update(self, t: int, T: int) -> int:
        """The step after which the update that takes l_t is made (its backward pass starts there)."""
        return T

    @property
    def drops_terms(self) -> bool:
        """Whether some l_t may reach no state at all (start(t) > t)."""
        return False

    def forward_multipliers(self, T: int) -> list[sp.Expr]:
        """m_1..m_T of the forward form z_t = b_t + m_t c_t z_{t-1} (E9's form), where one recurrence serves all t.

        That is where the loss terms that reach a state share their start
        (not ``window`` or ``tbptt``): m_t is the path weight where the
        transition is kept, 0 where it is cut.
        """
        if self.overlapping:
            msg = f"{self.name} has no single forward recurrence: each l_t starts its own sum"
            raise ValueError(msg)
        return [self.multiplier(sp.Integer(j)) if j > 1 and self.start(sp.Integer(j), sp.Integer(T)) <= j - 1
                else sp.S.Zero if j > 1 else sp.S.One for j in range(1, T + 1)]

    # ---------------------------------------------------------------- values
    def values(self) -> dict[str, Any]:
        """The run-time arguments by the contract's names: ``{"tau": 5}``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def symbolic(cls) -> Strategy:
        """The strategy with its lengths left as symbols, for the general form."""
        return cls(**{name: symbol for name, symbol in cls.symbols})

    def describe_math(self) -> str:
        """Its lengths as inline math for a heading: ``$\\tau = 2$``, ``$k_{1} = 2$, $k_{2} = 3$``."""
        values = self.values()
        shown = [f"${sp.latex(symbol)} = {values[argument]}$" for argument, symbol in self.symbols
                 if values.get(argument) is not None]
        return ", ".join(shown) or self.name

    def describe(self) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v in self.values().items() if v is not None)
        return f"{self.name}({shown})"


def _period_end(t_: int, period: Any, T_: int) -> int:
    """The first multiple of ``period`` at or after t, or T if the sequence ends first (an update every period)."""
    return min(T_, int(period) * -(-t_ // int(period)))


@dataclass(frozen=True)
class Full(Strategy):
    name: ClassVar[str] = "full"
    label: ClassVar[str] = "eq_bptt_full"


@dataclass(frozen=True)
class Window(Strategy):
    """Regular truncation: l_t reaches h_t, …, h_{t−tau+1} (E8)."""

    tau: Length = None
    name: ClassVar[str] = "window"
    label: ClassVar[str] = "eq_bptt_window"
    symbols: ClassVar[tuple[tuple[str, Any], ...]] = (("tau", SYMBOL["tau"]),)
    overlapping: ClassVar[bool] = True

    def start(self, t: sp.Expr, T: sp.Expr = T) -> sp.Expr:
        return sp.Max(1, t - self.tau + 1)

    def first(self, t: sp.Expr, T: sp.Expr = T) -> sp.Expr:
        return t - self.tau + 1

    def reaches_initial(self, t: sp.Expr, T: sp.Expr = T) -> sp.Basic:
        return sp.Lt(t, self.tau)  # its tau states are s_t..s_(t-tau+1)

    def update(self, t: int, T: int) -> int:
        return t


@dataclass(frozen=True)
class Chunked(Strategy):
    """No gradient crosses s_k → s_{k+1}, s_{2k} → s_{2k+1}, …: l_t reaches its own piece."""

    tau: Length = None
    name: ClassVar[str] = "chunked"
    label: ClassVar[str] = "eq_bptt_chunked"
    symbols: ClassVar[tuple[tuple[str, Any], ...]] = (("tau", SYMBOL["k"]),)

    def start(self, t: sp.Expr, T: sp.Expr = T) -> sp.Expr:
        return self.tau * sp.floor((t - 1) / self.tau) + 1

    def reaches_initial(self, t: sp.Expr, T: sp.Expr = T) -> sp.Basic:
        return sp.Le(t, self.tau)  # the first piece

    def update(self, t: int, T: int) -> int:
        return _period_end(t, self.tau, T)


@dataclass(frozen=True)
class TBPTT(Strategy):
    """Sutskever's TBPTT(k1, k2): updates every k1 steps, each backpropagated through k2 states."""

    k1: Length = None
    k2: Length = None
    name: ClassVar[str] = "tbptt"
    label: ClassVar[str] = "eq_bptt_tbptt"
    symbols: ClassVar[tuple[tuple[str, Any], ...]] = (("k1", SYMBOL["k1"]), ("k2", SYMBOL["k2"]))
    overlapping: ClassVar[bool] = True

    def start(self, t: sp.Expr, T: sp.Expr = T) -> sp.Expr:
        update = self.k1 * sp.ceiling(t / self.k1)  # u(t): the update that takes l_t
        return sp.Max(1, update - self.k2 + 1)

    def first(self, t: sp.Expr, T: sp.Expr = T) -> sp.Expr:
        return self.k1 * sp.ceiling(t / self.k1) - self.k2 + 1

    def reaches_initial(self, t: sp.Expr, T: sp.Expr = T) -> sp.Basic:
        return sp.Lt(self.k1 * sp.ceiling(t / self.k1), self.k2)

    def update(self, t: int, T: int) -> int:
        return _period_end(t, self.k1, T)

    @property
    def drops_terms(self) -> bool:
        return True


@dataclass(frozen=True)
class Last(Strategy):
    """PyTensor's truncate_gradient=k: only the last k states of the sequence get a gradient."""

    tau: Length = None
    name: ClassVar[str] = "last"
    label: ClassVar[str] = "eq_bptt_last"
    symbols: ClassVar[tuple[tuple[str, Any], ...]] = (("tau", SYMBOL["k"]),)

    def start(self, t: sp.Expr, T: sp.Expr = T) -> sp.Expr:
        return sp.Max(1, T - self.tau + 1)

    def reaches_initial(self, t: sp.Expr, T: sp.Expr = T) -> sp.Basic:
        return sp.Lt(T, self.tau)

    @property
    def drops_terms(self) -> bool:
        return True


@dataclass(frozen=True)
class Randomized(Strategy):
    """Every path weighted by the xi_t of the transitions it crosses: z_t = b_t + xi_t c_t z_{t-1} (E9)."""

    pi: float | tuple[float, ...] | None = None
    seed: int | None = None
    name: ClassVar[str] = "randomized"
    label: ClassVar[str] = "eq_bptt_randomized"

    def multiplier(self, j: sp.Expr) -> sp.Expr:
        return xi[j]

    @classmethod
    def symbolic(cls) -> Strategy:
        return cls()


FAMILY: tuple[type[Strategy], ...] = (Full, Window, Chunked, Randomized, TBPTT, Last)
STRATEGIES = tuple(kind.name for kind in FAMILY)
TRUNCATIONS = tuple(kind for kind in FAMILY if kind.symbols)  # the deterministic ones, each cut by its lengths
_BY_NAME = {kind.name: kind for kind in FAMILY}


def kind_of(name: object) -> type[Strategy]:
    """The strategy class called ``name``, or a ValueError naming the allowed ones."""
    if not isinstance(name, str) or name not in _BY_NAME:
        msg = f"unknown strategy {name!r}; allowed: {', '.join(STRATEGIES)}"
        raise ValueError(msg)
    return _BY_NAME[name]


def users_of(argument: str) -> tuple[str, ...]:
    """The strategies that take ``argument`` (``tau``: window, chunked, last)."""
    return tuple(kind.name for kind in FAMILY if argument in {f.name for f in fields(kind)})


def make(name: str, *, tau: object = None, k1: object = None, k2: object = None, pi: object = None,
         seed: object = None) -> Strategy:
    """The strategy ``name`` with its arguments checked; an argument it does not use is refused."""
    kind = kind_of(name)
    given = {"tau": tau, "k1": k1, "k2": k2, "pi": pi, "seed": seed}
    used = {f.name for f in fields(kind)}
    unused = [n for n, v in given.items() if v is not None and n not in used]
    if unused:
        msg = "; ".join(f"{n} applies to the {', '.join(users_of(n))} strateg{'y' if len(users_of(n)) == 1 else 'ies'}"
                        for n in unused) + f", not {name!r}"
        raise ValueError(msg)
    if kind is Randomized:
        return Randomized(sampling.check_pis(pi), check_seed(seed))
    lengths = {}
    for n in used:
        if given[n] is None:
            msg = f"strategy {name!r} needs {n} (an integer >= 1)"
            raise ValueError(msg)
        lengths[n] = arguments.positive_int(given[n], n, f" for strategy {name!r}", at_most=arguments.MAX_LENGTH)
    return kind(**lengths)


def check_seed(value: object) -> int | None:
    if value is None:
        return None
    return arguments.non_negative_int(value, "seed")


def cut_transitions(strategy: Strategy, T: int) -> frozenset[int]:
    """The k in 2..T whose transition s_{k-1} → s_k no loss term's gradient crosses (l_t's: start(t) < k ≤ t)."""
    starts = {t_: int(sp.sympify(strategy.start(sp.Integer(t_), sp.Integer(T)))) for t_ in range(1, T + 1)}
    return frozenset(k for k in range(2, T + 1) if not any(starts[t_] <= k - 1 for t_ in range(k, T + 1)))
