"""Wall time of ``symbptt derive --steps T --pdf`` (the whole command, TeX included) against T.

    python benchmarks/derive_steps.py [--steps 3 12 50 100]

Each T runs the command in a fresh process, as a user would; the ratio is
against T = 3 (the default) measured in the same run. The work grows about as
T² (the written-out closed form has T terms of up to T factors); randomized
truncation's exact unbiasedness is computed by linearity, not by summing the
2^(T-1) outcomes of xi, and long sums are elided in the document.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def seconds(T: int, model: str, folder: Path) -> float:
    out = folder / f"d{T}.tex"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "symbptt", "derive", "--cell", model, "--steps", str(T),
                    "--out", str(out), "--pdf"], check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[3, 12, 50, 100])
    parser.add_argument("--cell", default="generic")
    args = parser.parse_args()
    if shutil.which("pdflatex") is None:
        sys.exit("needs pdflatex")
    with tempfile.TemporaryDirectory() as folder:
        base = seconds(3, args.cell, Path(folder))
        print(f"derive --cell {args.cell} --steps T --pdf   (baseline T = 3: {base:.2f} s)")
        print(f"{'T':>5} {'seconds':>8} {'x T=3':>7}")
        for T in args.steps:
            s = seconds(T, args.cell, Path(folder))
            print(f"{T:>5} {s:>8.2f} {s / base:>7.2f}")


if __name__ == "__main__":
    main()
