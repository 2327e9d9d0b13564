"""The document a teacher hands out: every derivation of a model, narrated in one language, each result
followed by how it was checked when the document was built (:mod:`evidence`)."""

from __future__ import annotations

import sys
from typing import Any

from symbptt.derive import reverse, size_one
from symbptt.derive.one_state import EXACT_SUM_T
from symbptt.document import documents, evidence, latex, narration
from symbptt.model import cells, losses

CLOSED_FORM_T = 3  # the explicit T at which E7 is checked against sympy.diff of the unrolled loss
PROOF_T = 4  # the explicit T at which the adjoints' closed form is checked against their recurrence
PER_STEP_T = 3  # the explicit T at which E17 is checked with the weight untied


def build(cell: cells.Cell | None, loss: str | None, strategy_names: tuple[str, ...], T: int,
          lengths: dict[str, int], lang: str = "en") -> str:
    """The LaTeX document for ``cell`` (None: the textbook's generic model): the simplified analysis at symbolic
    ``t`` and written out for ``T`` where the cell has one state, then the matrix analysis."""
    sections = []
    say = narration.table(lang)["text"]
    title = "generic" if cell is None else cell.title
    analysis = size_one.of(cell)
    if analysis is not None:  # the textbook's analysis at size one
        _progress(f"deriving {title}, symbolic t and T = {T} ...")
        if cell is None:
            closed = say["closed_form_generic"]
        else:
            closed = _checked(say["closed_form"], evidence.closed_form(analysis, CLOSED_FORM_T))
        sections += [
            documents.Section("symbolic", analysis.symbolic(strategy_names),
                              {"eq_bptt_at_proof": say["proof"], "eq_bptt_partial_ht_wh_gen": closed}),
            documents.Section("explicit", analysis.explicit(T, strategy_names, **lengths),
                              {"eq_bptt_randomized_T": narration.fill(say["randomized"], T=EXACT_SUM_T)}),
        ]
    if cell is not None:
        _progress(f"deriving the adjoints of the {title} cell ...")
        derivation = reverse.derivation(cell, losses.make_loss(loss or "generic", allow_generic=True),
                                        proof_T=PROOF_T)
        checks = {"eq_bptt_partial_L_ht": _checked(say["adjoint_closed_form"], {"T": PROOF_T}),
                  "eq_bptt_partial_L_hidden": _checked(say["gradient"], evidence.matrix_gradient(cell, T=PROOF_T)),
                  "eq_bptt_gate_form": say["gate_form"]}
        if analysis is not None:  # E17's check runs on the size-one model
            digits = evidence.per_step(analysis, PER_STEP_T)
            checks["eq_bptt_per_step"] = _checked(say["per_step"], {"T": PER_STEP_T, "digits": digits})
        sections.append(documents.Section("matrix", derivation, checks))
    name = latex.escape(title)  # a formula cell's name may hold _ (peephole_lstm)
    return documents.render(sections, lang, model=name, T=T, cell=name)


def _checked(sentence: str, measured: dict[str, Any]) -> str:
    """A "Checked: ..." sentence filled with what the check measured, and at what T: never a number of its own."""
    values = {k: f"${evidence.scientific(v)}$" if k == "fd" else v for k, v in measured.items()}
    return narration.fill(sentence, **values)


def _progress(message: str) -> None:
    print(f"symbptt: {message}", file=sys.stderr)
