"""Hypothesis strategies: the only place test inputs come from."""

from hypothesis import strategies as st

CELLS = (("linear", "tanh"), ("elman", "identity"), ("elman", "tanh"), ("elman", "sigmoid"), ("elman", "relu"))
values = st.floats(-1, 1, allow_nan=False, allow_infinity=False)


@st.composite
def problems(draw, max_T=8, batch=True):
    """(cell, activation, T, params draw seed, B)."""
    cell, activation = draw(st.sampled_from(CELLS))
    T = draw(st.integers(1, max_T))
    B = draw(st.integers(1, 3)) if batch else 1
    seed = draw(st.integers(0, 2**31 - 1))
    return cell, activation, T, B, seed
