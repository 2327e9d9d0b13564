"""The dialects of generated code: one IR and one schedule, printed three ways.

- ``numpy``: NumPy written in place (products into their buffers through
  ``out=``, slices filled): the fastest form on NumPy arrays;
- ``numba``: the same code for Numba's compiler, which wants one type per
  variable (a carry starts as an array of zeros, not the number 0), no ``del``,
  and 2-D operands for ``@``;
- ``array_api``: written against the array API standard through ``xp``, so
  PyTorch, JAX and CuPy arrays run it; nothing is written in place (JAX's
  arrays are immutable): the forward loop appends to lists it then stacks.

A dialect is data: the printers and the loop builders read it, no code path
is chosen by a dialect's name but in :mod:`symbptt.codegen.module`, which
packages each as a module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Dialect:
    """How one kind of generated module spells the same computation."""

    name: str
    module: str  # the array namespace the code calls: numpy, or xp
    mutable: bool = True  # buffers may be written in place
    typed: bool = False  # every variable keeps one type (Numba)
    releases: bool = True  # dead arrays are released with del
    # relu, step (H(z, 0)) and softplus -> code around {}
    forms: Mapping[str, str] = field(default_factory=dict, compare=False)
    # functions called by another name than the namespace's (Numba's tanh and exp: see runtime_numba)
    functions: Mapping[str, str] = field(default_factory=dict, compare=False)

    def zeros(self, shape: str, like: str) -> str:
        """Code for an array of zeros of ``shape``, float64, on the device of the array ``like``."""
        if self.module == "xp":
            return f"xp.zeros({shape}, dtype=xp.float64, device=device({like}))"
        return f"numpy.zeros({shape})"

    def empty(self, shape: str) -> str:
        """Code for an uninitialized float64 buffer of ``shape`` (Numba's on huge pages: see runtime_numba)."""
        return f"{self.functions.get('empty', 'numpy.empty')}({shape})"

    def zero_carry(self, shape: str, like: str) -> str:
        """What a carried adjoint starts as: the number 0 broadcasts, where the compiler lets it."""
        return self.zeros(shape, like) if self.typed else "0.0"


_NUMPY_FORMS = {"relu": "numpy.maximum({}, 0)", "step": "({} > 0)", "softplus": "numpy.logaddexp(0, {})"}

NUMPY = Dialect("numpy", "numpy", forms=_NUMPY_FORMS)
NUMBA = Dialect("numba", "numpy", typed=True, releases=False, forms=_NUMPY_FORMS,
               functions={"tanh": "_tanh", "exp": "_exp", "sigmoid": "_sigmoid", "empty": "_empty"})
ARRAY_API = Dialect("array_api", "xp", mutable=False,
                    forms={"relu": "_relu({})", "step": "_step({})", "softplus": "_softplus({})"})

# Python floats, for the scalar straight-line programs at B = 1: a float operation costs tens of ns where a
# NumPy call on one number costs about a µs, so T·(a few) lines of it beat a hand-written loop
MATH = Dialect("math", "math", forms={"relu": "max({}, 0.0)", "step": "float({} > 0)",
                                      "softplus": "(max({0}, 0.0) + math.log1p(math.exp(-abs({0}))))"})

DIALECTS = {d.name: d for d in (NUMPY, NUMBA, ARRAY_API)}
