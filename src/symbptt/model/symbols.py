"""The symbols every stage shares, defined once: the time step t, the number of steps T, the batch size B, and
the sizes d (input), h (hidden) and q (output) that the matrices' shapes are written in (the state h_t of the
size-one view is model.scalar.h, an IndexedBase: no module imports both by that name).

SymPy would treat two symbols of one name and the same assumptions as equal anyway; one definition keeps it
from depending on that, and gives each a single place to be read.
"""

from __future__ import annotations

import sympy as sp

t = sp.Symbol("t", integer=True, positive=True)
T = sp.Symbol("T", integer=True, positive=True)
B = sp.Symbol("B", integer=True, positive=True)  # the batch size, in the 1/(B·T) of L
d, h, q = sp.symbols("d h q", integer=True, positive=True)  # input, hidden and output sizes
