"""Every generated module and document written to a folder, to compare two commits byte for byte.

    python tools/dump_outputs.py OUT                         # this checkout
    git worktree add /tmp/base HEAD~1
    PYTHONPATH=/tmp/base/src python tools/dump_outputs.py BASE
    for f in BASE/*; do cmp "$f" "OUT/$(basename "$f")"; done

A refactoring that claims "behaviour unchanged" shows it here: the modules of every cell × strategy × backend,
the straight-line scalar programs, a formula cell's module, the documents of every cell (several languages,
strategies, a ReLU, formula cells) and the notebook displays of the derivations.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import symbptt
from symbptt.cli.commands import main
from symbptt.derive import reverse
from symbptt.model import cells, losses

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = (("full", {}), ("window", {"tau": 3}), ("tbptt", {"k1": 2, "k2": 3}),
              ("randomized", {"pi": 0.5, "seed": 1}))
DOCUMENTS = {
    **{f"derive_{c}": ["--cell", c] for c in ("generic", "linear", "elman", "gru", "lstm")},
    "derive_elman_fr": ["--cell", "elman", "--lang", "fr"],
    "derive_lstm_ko": ["--cell", "lstm", "--lang", "ko", "--steps", "4"],
    "derive_elman_tbptt": ["--cell", "elman", "--steps", "6", "--strategy", "tbptt", "--k1", "2", "--k2", "3"],
    "derive_peephole": ["--cell-file", str(ROOT / "examples/cells/peephole_lstm.txt")],
    "derive_indrnn": ["--cell-file", str(ROOT / "examples/cells/indrnn.txt"), "--loss", "cross_entropy"],
    "derive_relu": ["--cell", "elman", "--activation", "relu", "--loss", "squared", "--steps", "4"],
}


def modules() -> str:
    out = []
    for cell in ("linear", "elman", "gru", "lstm"):
        for strategy, lengths in STRATEGIES:
            grad = symbptt.compile_gradient(cell, strategy=strategy, backend="numpy", **lengths)
            out += [grad.module_source(backend) for backend in ("numpy", "numba", "array_api")]
    scalar = symbptt.compile_scalar_gradient("elman", 5)
    out += [scalar.source, scalar.float_source]
    mgu = symbptt.cell_from_text((ROOT / "examples/cells/mgu.txt").read_text(), name="mgu")
    out.append(symbptt.compile_gradient(mgu, backend="numpy").source)
    return "\n#####\n".join(out)


def displays() -> str:
    out = []
    for name in ("elman", "gru", "linear"):
        model = symbptt.make_model(name)
        out += [symbptt.symbolic(model)._repr_latex_(), symbptt.explicit(model, 4)._repr_latex_()]
    for name in ("elman", "lstm"):
        out.append(reverse.derivation(cells.make_cell(name), losses.make_loss("squared"))._repr_latex_())
    return "\n####\n".join(out)


def document(argv: list[str]) -> str:
    text = io.StringIO()
    with contextlib.redirect_stdout(text), contextlib.redirect_stderr(io.StringIO()):
        main(["derive", *argv])
    return text.getvalue()


def run(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "modules.txt").write_text(modules())
    (folder / "displays.txt").write_text(displays())
    for name, argv in DOCUMENTS.items():
        (folder / f"{name}.tex").write_text(document(argv))
        print(f"wrote {folder / name}.tex", file=sys.stderr)


if __name__ == "__main__":
    run(Path(sys.argv[1]))
