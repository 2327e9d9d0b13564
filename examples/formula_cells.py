"""Three cells written as formulas (examples/cells/*.txt): derived, printed, compiled and checked.

    python examples/formula_cells.py

A minimal gated unit, an IndRNN and a peephole LSTM are a few lines of text
each; symbptt parses them (never evaluates them), infers the parameters'
shapes, derives the adjoints, compiles every strategy and checks the full
gradient against central differences of the loss.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import symbptt
from symbptt.derive import reverse
from symbptt.document import latex
from symbptt.model import losses

CELLS = Path(__file__).parent / "cells"
STRATEGIES = {"full": {}, "window": {"tau": 3}, "chunked": {"tau": 3}, "tbptt": {"k1": 2, "k2": 4},
              "last": {"tau": 4}, "randomized": {"pi": 0.5, "seed": 0}}


def main() -> None:
    rng = np.random.default_rng(0)
    sizes = {"d": 3, "h": 4, "q": 2}
    for path in sorted(CELLS.glob("*.txt")):
        cell = symbptt.cell_from_text(path.read_text(), name=path.stem)
        shapes = {W.name: tuple(sizes[str(s)] for s in W.shape if str(s) != "1") for W in cell.params}
        print(f"{path.stem}: state {', '.join(s.name for s in cell.state)}; parameters {shapes}")
        adjoint = reverse.derivation(cell, losses.make_loss("generic", allow_generic=True))
        print("  " + latex.step_latex(adjoint["eq_bptt_partial_L_ht_recur"], inline=True)[:110] + " ...")
        params = {n: rng.uniform(-0.5, 0.5, s) for n, s in shapes.items()}
        X, Y = rng.uniform(0, 1, (8, 2, 3)), rng.standard_normal((8, 2, 2))
        for strategy, values in STRATEGIES.items():
            out = symbptt.compile_gradient(cell, strategy=strategy, **values)(params, X, Y)
            norm = np.sqrt(sum(np.sum(v**2) for k, v in out.items() if k != "loss"))
            print(f"  {strategy:10} loss {out['loss']:.6f}  |dL/dW| {norm:.6f}")
        full = symbptt.compile_gradient(cell)

        def loss(p, full=full, X=X, Y=Y):  # noqa: N803  (the contract's names)
            return full(p, X, Y)["loss"]

        symbptt.check_gradient(loss, params, full(params, X, Y))
        print("  full gradient = central differences: ok")


if __name__ == "__main__":
    main()
