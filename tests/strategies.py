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


# ------------------------------------------------------------------ the matrix engine

MATRIX_CELLS = (("linear", "tanh"), *(("elman", a) for a in ("identity", "tanh", "sigmoid", "relu")),
                ("gru", "tanh"), ("lstm", "tanh"))
LOSSES = ("squared", "cross_entropy", "mse", "bce")
CONFIGS = tuple((cell, activation, loss) for cell, activation in MATRIX_CELLS for loss in LOSSES)


def quick(configs):
    """The configs for a parametrize: mse and bce, which share their code with squared and cross_entropy but for
    l_t, run in the quick loop for elman-tanh only (the rest with the slow tests, in CI)."""
    import pytest

    def slow(c):
        return c[2] in ("mse", "bce") and c[:2] != ("elman", "tanh")

    return [pytest.param(c, marks=pytest.mark.slow) if slow(c) else c for c in configs]
STRATEGY_NAMES = ("full", "window", "chunked", "randomized")


@st.composite
def matrix_problems(draw, config, max_T=6, max_size=4, max_B=3):
    """Sizes, T, B and arrays for a (cell, activation, loss), as the contract shapes them."""
    import numpy as np

    from symbptt.model import cells

    from .helpers import targets

    cell_name, activation, loss = config
    d, h, q = (draw(st.integers(1, max_size)) for _ in range(3))
    T, B = draw(st.integers(1, max_T)), draw(st.integers(1, max_B))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sizes = {"d": d, "h": h, "q": q}
    cell = cells.make_cell(cell_name, activation)
    params = {}
    for W in cell.params:
        shape = tuple(sizes[str(s)] for s in W.shape if str(s) != "1")
        params[W.name] = rng.uniform(-1, 1, shape)
    X = rng.standard_normal((T, B, d))
    Y = targets(rng, loss, (T, B, q))
    initial = tuple(rng.uniform(-0.5, 0.5, (B, h)) for _ in cell.state)
    return params, X, Y, initial
