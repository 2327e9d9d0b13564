"""The Numba backend under every strategy of the contract: the same numbers as the NumPy backend to 1e-12.

Each strategy on elman-tanh, and the pairs that exercise the most code: two
states travelling under window and tbptt, the randomized carry of a gated
cell, a formula cell's truncation, a loss term that reaches no state (last).
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..backend_cases import STRATEGY_ARGUMENTS, numba_equals_numpy

pytestmark = pytest.mark.slow

PAIRS = sorted({("elman-tanh", s) for s in STRATEGY_ARGUMENTS if s != "full"}
               | {("lstm", "window"), ("lstm", "tbptt"), ("gru", "randomized"), ("formula", "chunked"),
                  ("elman-relu", "last")})


@pytest.mark.parametrize(("cell", "strategy"), PAIRS)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), T=st.integers(1, 9), B=st.integers(1, 3), sizes=st.tuples(
    st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)))
def test_numba_equals_numpy_under_every_strategy(numba_cache, cell, strategy, seed, T, B, sizes):
    numba_equals_numpy(cell, strategy, seed, T, B, sizes)
