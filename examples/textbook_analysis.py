"""Reproduce the textbook's gradient analysis: print E4-E9 as LaTeX, then check numbers.

    python examples/textbook_analysis.py [--steps T]
"""

from __future__ import annotations

import argparse

import numpy as np

import symbptt
from symbptt.document import latex

LABELS = ("eq_bptt_partial_ht_wh_recur", "eq_bptt_at", "eq_bptt_substitution",
          "eq_bptt_partial_ht_wh_gen", "eq_bptt_window", "eq_bptt_randomized")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)

    derivation = symbptt.symbolic(symbptt.make_model("generic"))
    for label in LABELS:
        print(f"% {label}\n{latex.step_latex(derivation[label])}\n")

    T = args.steps
    grad = symbptt.compile_scalar_gradient("elman", T, activation="tanh")
    rng = np.random.default_rng(0)
    params = dict(zip(grad.param_names, rng.uniform(-1, 1, 5).tolist(), strict=True))
    x, y = rng.normal(size=(2, T, 4))
    analytic = grad(params, x, y)
    numeric = symbptt.central_difference(lambda p: grad(p, x, y)["loss"], params)
    print(f"elman (tanh), T = {T}: compiled gradient against central differences")
    for name in grad.param_names:
        print(f"  dL/d{name:5s} compiled {analytic[name]: .10f}   finite differences {numeric[name]: .10f}")
    symbptt.assert_gradients_close(analytic, numeric)
    print("agree to rtol 1e-5")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
