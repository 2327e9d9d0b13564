"""The name allocator of generated code (tangent's ``naming``): no generated name captures a user's.

Names are handed out in order of ownership: first the module's own (``numpy``,
the runtime helpers, the builtins the code calls), then the user's and the
contract's (parameter names, ``x``, ``y``), then every temporary, each from a
hint that says what it holds (``delta_h``, ``dL_dh``). A name already taken
gets the first free ``hint_2``, ``hint_3``, … so two owners never share one.
"""

from __future__ import annotations

import builtins
import keyword
from collections.abc import Iterable


class Names:
    """Identifiers of one generated scope, each handed out once."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self.taken: set[str] = set(keyword.kwlist) | set(reserved)
        self.given: dict[object, str] = {}

    def fresh(self, hint: str) -> str:
        """``hint`` if nobody has it, else the first free ``hint_2``, ``hint_3``, …"""
        name, n = hint, 1
        while name in self.taken:
            n += 1
            name = f"{hint}_{n}"
        self.taken.add(name)
        return name

    def of(self, owner: object, hint: str) -> str:
        """The one name of ``owner``: allocated from ``hint`` at the first request, the same after."""
        if owner not in self.given:
            self.given[owner] = self.fresh(hint)
        return self.given[owner]

    def child(self) -> Names:
        """A scope nested in this one: it sees every name taken here."""
        inner = Names(self.taken)
        inner.given = dict(self.given)
        return inner


BUILTINS = frozenset(dir(builtins))
