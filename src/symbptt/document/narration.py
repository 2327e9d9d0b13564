"""The narration of a derivation document, one table of sentences per language.

The tables are ``data/narration/<lang>.toml``: the words of the document
(headings, step titles, the sentence before each step, the conventions, the
lines that say how a result was checked), in the terminology of the textbook's
translations in ``shared/reference``. The mathematics is shared: it comes from
the engine. A sentence names a step by its textbook label, ``\\eqref{…}``, and
its blanks as ``@T@``, ``@cell@``; :func:`fill` fills them.
"""

from __future__ import annotations

import functools
import re
import tomllib
from importlib import resources
from typing import Any

from symbptt.derive import strategies
from symbptt.derive.steps import Step

LANGUAGES = ("en", "fr", "ko", "vi", "tr")
NAMES = {"en": "English", "fr": "French", "ko": "Korean", "vi": "Vietnamese", "tr": "Turkish"}
BLANK = re.compile(r"@(\w+)@")
EXPLICIT = re.compile(r"_T(\d+)$")  # the label of a step written out at an explicit T: eq_bptt_at_T3
STRATEGY_LABELS = frozenset(kind.label for kind in strategies.TRUNCATIONS)  # one title, filled with the lengths


def check_language(lang: object) -> str:
    """``lang`` if the document can be written in it; else ValueError naming what is allowed."""
    if lang not in LANGUAGES:
        msg = f"unknown language {lang!r}; allowed: {', '.join(LANGUAGES)}"
        raise ValueError(msg)
    return str(lang)


@functools.cache
def table(lang: str) -> dict[str, Any]:
    """The sentences of ``lang``, by section and key."""
    text = resources.files("symbptt").joinpath("data", "narration", f"{check_language(lang)}.toml").read_text("utf-8")
    return tomllib.loads(text)


def fill(sentence: str, **values: object) -> str:
    """``sentence`` with every ``@name@`` replaced by ``values[name]``; KeyError for a blank not given."""
    return BLANK.sub(lambda m: str(values[m.group(1)]), sentence)


def key_of(label: str) -> str:
    """The table's key of a step: its label, ``…_T`` when written out at an explicit T (one key for any T),
    ``strategy_T`` for a deterministic truncation written out."""
    if not EXPLICIT.search(label):
        return label
    base = EXPLICIT.sub("", label)
    return "strategy_T" if base in STRATEGY_LABELS else f"{base}_T"


def sentence(lang: str, section: str, key: str, **values: object) -> str:
    """One sentence of ``lang``'s table, filled."""
    return fill(table(lang)[section][key], **values)


def title(step: Step, lang: str = "en", **blanks: object) -> str:
    """The title of a step of the section, in ``lang`` (LaTeX): filled with the step's own blanks, the T of its
    label, and ``blanks`` (a document's, which win: the cell's name escaped for LaTeX)."""
    key = key_of(step.label)
    written_out = EXPLICIT.search(step.label)
    values = {**dict(step.blanks), **({"T": written_out.group(1)} if written_out else {}), **blanks}
    if key == "strategy_T":
        values["strategy"] = sentence(lang, "titles", EXPLICIT.sub("", step.label))
    return sentence(lang, "titles", key, **values)
