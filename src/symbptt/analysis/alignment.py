"""Exercise 1: a symmetric M = Σ λ_i v_i v_iᵀ gives M^k the eigenvalues λ_i^k, and M^k x turns toward v_1.

The proof is symbolic and checked: for generic 2×2 and 3×3 symmetric
matrices, built from symbolic eigenvalues and an orthonormal basis with
symbolic parameters, each ``M v_i = λ_i v_i`` cancels to an identity;
for any n the induction ``M^{k+1} v_i = M (λ_i^k v_i) = λ_i^{k+1} v_i`` is
written as steps. Numerically, the angle between ``M^k x`` and ``v_1``
shrinks as ``|λ_2/λ_1|^k``: in two dimensions exactly, ``tan θ_k = tan θ_0
|λ_2/λ_1|^k``.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from symbptt import arguments
from symbptt.derive.steps import Derivation, Step
from symbptt.errors import ProofError

k = sp.Symbol("k", integer=True, positive=True)


def orthonormal_basis(n: int) -> sp.Matrix:
    """Columns v_1..v_n of the Cayley rotation (I − A)(I + A)^{-1}, A skew-symmetric in symbolic a, b, c.

    Rational in the parameters (no trigonometry), so every identity below is
    decided by ``cancel`` rather than a trigonometric simplification.
    """
    if n not in (2, 3):
        msg = f"the generic symmetric matrix is built for n = 2 or 3, got {n!r}"
        raise ValueError(msg)
    a, b, c = sp.symbols("a b c", real=True)
    A = sp.Matrix([[0, -a], [a, 0]]) if n == 2 else sp.Matrix([[0, -a, b], [a, 0, -c], [-b, c, 0]])
    return ((sp.eye(n) - A) * (sp.eye(n) + A).inv()).applyfunc(sp.cancel)


def _is_zero(matrix: sp.Matrix) -> bool:
    return all(sp.cancel(entry) == 0 for entry in matrix)


def prove_powers(n: int) -> tuple[sp.Eq, ...]:
    """M = V Λ Vᵀ symmetric with symbolic λ_i; checked: Vᵀ V = I, M = Mᵀ, and M v_i = λ_i v_i for each i."""
    V = orthonormal_basis(n)
    lambdas = sp.symbols(f"lambda_1:{n + 1}", real=True)
    M = V * sp.diag(*lambdas) * V.T
    if not _is_zero(V.T * V - sp.eye(n)):
        msg = "the basis is not orthonormal"
        raise ProofError(msg)
    if not _is_zero(M - M.T):
        msg = "M is not symmetric"
        raise ProofError(msg)
    lines = []
    for i in range(n):
        v, lam = V[:, i], lambdas[i]
        if not _is_zero(M * v - lam * v):
            msg = f"M v_{i + 1} differs from lambda_{i + 1} v_{i + 1}"
            raise ProofError(msg)
        lines.append(sp.Eq(sp.Symbol(f"M v_{i + 1}"), lam * sp.Symbol(f"v_{i + 1}")))
    return tuple(lines)


def induction() -> tuple[sp.Eq, ...]:
    """M^{k+1} v_i = M (M^k v_i) = M (λ_i^k v_i) = λ_i^k (M v_i) = λ_i^{k+1} v_i, each line checked at numbers."""
    n = sp.Symbol("n", integer=True, positive=True)
    M, v, lam = sp.MatrixSymbol("M", n, n), sp.MatrixSymbol("v_i", n, 1), sp.Symbol("lambda_i")
    chain = [sp.MatMul(sp.MatPow(M, k + 1), v, evaluate=False),
             sp.MatMul(M, sp.MatMul(sp.MatPow(M, k), v, evaluate=False), evaluate=False),
             sp.MatMul(M, sp.MatMul(lam**k, v, evaluate=False), evaluate=False),
             sp.MatMul(lam**k, sp.MatMul(M, v, evaluate=False), evaluate=False),
             sp.MatMul(lam ** (k + 1), v, evaluate=False)]
    # an instance: a symmetric 3x3 with an eigenpair, k = 4; every expression of the chain has one value
    example = sp.Matrix([[2, 1, 0], [1, 2, 0], [0, 0, 5]])
    instance = {M: sp.ImmutableMatrix(example), v: sp.ImmutableMatrix([1, 1, 0]), lam: 3, k: 4, n: 3}
    values = [sp.ImmutableMatrix(e.xreplace(instance).doit()) for e in chain]
    if any(value != values[0] for value in values):
        msg = "the induction's lines differ at an instance"
        raise ProofError(msg)
    return tuple(sp.Eq(a, b, evaluate=False) for a, b in zip(chain, chain[1:], strict=False))


@functools.cache  # a proof, the same every time: checked once per process
def derivation() -> Derivation:
    """Exercise 1 as printed steps: the eigenpairs of the generic 2×2 and 3×3, and the induction for any n."""
    return Derivation("exercise 1", (
        Step("eq_ex1_2x2", prove_powers(2),
             title="A generic symmetric $2 \\times 2$ matrix: $M v_i = \\lambda_i v_i$ cancels to an identity"),
        Step("eq_ex1_3x3", prove_powers(3), title="A generic symmetric $3 \\times 3$ matrix"),
        Step("eq_ex1_induction", induction(),
             title="For any $n$, by induction on $k$ (the base $k = 1$ is $M v_i = \\lambda_i v_i$)",
             note="Each line uses $M^{k+1} = M M^k$, the hypothesis $M^k v_i = \\lambda_i^k v_i$, "
                  "linearity, and $M v_i = \\lambda_i v_i$."),
    ))


def alignment(M: object, x: object, steps: int = 30) -> dict[str, np.ndarray]:
    """The angle between M^k x and the top eigenvector v_1 for k = 0..steps, and the rate |λ_2/λ_1|^k.

    Returns ``k``, ``angle`` (radians), ``tan`` (tan of the angle) and ``rate``.
    """
    M = arguments.float_array(M, "M")
    x = arguments.float_array(x, "x")
    steps = arguments.positive_int(steps, "steps")
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 2:
        msg = f"M must be a square matrix of size at least 2, got shape {M.shape}"
        raise ValueError(msg)
    if not np.allclose(M, M.T, rtol=0, atol=1e-12 * max(1.0, float(np.abs(M).max()))):
        msg = "M must be symmetric (exercise 1's assumption)"
        raise ValueError(msg)
    arguments.shape(x, "x", (M.shape[0],), ("n",), {"n": "M"})
    values, vectors = np.linalg.eigh(M)
    order = np.argsort(-np.abs(values))
    values, vectors = values[order], vectors[:, order]
    if np.isclose(abs(values[0]), abs(values[1])):
        msg = f"|lambda_1| = |lambda_2| = {abs(values[0]):.3g}: M^k x has no single direction to turn toward"
        raise ValueError(msg)
    v1 = vectors[:, 0]
    ks = np.arange(steps + 1)
    angles, tans, y = [], [], x / np.linalg.norm(x)
    for _ in ks:
        along = float(y @ v1)
        across = float(np.linalg.norm(y - along * v1))  # not sqrt(1 − cos²), which loses the small angles
        angles.append(float(np.arctan2(across, abs(along))))
        tans.append(across / abs(along) if along else np.inf)
        y = M @ y
        y /= np.linalg.norm(y)  # the direction only: the length would over- or underflow
    rate = np.abs(values[1] / values[0]) ** ks
    return {"k": ks, "angle": np.array(angles), "tan": np.array(tans), "rate": rate,
            "eigenvalues": values}
