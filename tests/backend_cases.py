"""The models every backend is checked on: each cell (a formula cell too) and each strategy of the contract."""

import numpy as np

import symbptt

STRATEGY_ARGUMENTS = {"full": {}, "window": {"tau": 3}, "chunked": {"tau": 2}, "randomized": {"pi": 0.5, "seed": 4},
                      "tbptt": {"k1": 2, "k2": 3}, "last": {"tau": 2}}
MINIMAL_GATED = ("f = sigmoid(W_xf @ x + W_hf @ h + b_f)\n"
                 "h = (1 - f) * h + f * tanh(W_xh @ x + W_hh @ (f * h) + b_h)")
CELLS = ("linear", "elman-identity", "elman-tanh", "elman-sigmoid", "elman-relu", "gru", "lstm", "formula")


def make(cell, strategy="full", loss="squared", backend="numpy"):
    name, _, activation = cell.partition("-")
    model = symbptt.cell_from_text(MINIMAL_GATED, name="minimal") if name == "formula" else name
    return symbptt.compile_gradient(model, activation=activation or "tanh", loss=loss, strategy=strategy,
                                    backend=backend, **STRATEGY_ARGUMENTS[strategy])


def arrays(grad, seed, T=5, B=2, d=3, h=4, q=3, loss="squared"):
    """Parameters scaled so that no run overflows, inputs, targets, initial states."""
    rng = np.random.default_rng(seed)
    sizes = {"d": d, "h": h, "q": q}
    params = {W.name: rng.uniform(-1, 1, tuple(sizes[str(s)] for s in W.shape if str(s) != "1")) / np.sqrt(h)
              for W in grad.step.cell.params}
    X = rng.standard_normal((T, B, d))
    Y = rng.integers(0, q, (T, B)) if loss == "cross_entropy" else rng.standard_normal((T, B, q))
    initial = [rng.uniform(-0.5, 0.5, (B, h)) for _ in grad.step.cell.state]
    return params, X, Y, initial


def assert_close(a, b, tolerance=1e-12):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(np.asarray(a[name]), np.asarray(b[name]), rtol=tolerance, atol=tolerance,
                                   err_msg=name)


def numba_equals_numpy(cell, strategy, seed, T, B, sizes):
    d, h, q = sizes
    numba_grad, numpy_grad = make(cell, strategy, backend="numba"), make(cell, strategy)
    params, X, Y, initial = arrays(numpy_grad, seed, T=T, B=B, d=d, h=h, q=q)
    assert_close(numba_grad(params, X, Y, *initial), numpy_grad(params, X, Y, *initial))
    assert numba_grad.compile_seconds["numba"] >= 0
