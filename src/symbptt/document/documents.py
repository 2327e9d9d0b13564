"""Standalone LaTeX documents from derivations, and their PDF through a TeX engine."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from symbptt.derive.steps import Derivation
from symbptt.document import latex, narration
from symbptt.errors import SymbpttError

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
%s
\allowdisplaybreaks
\setlength{\emergencystretch}{3em}  %% a long word the engine cannot hyphenate stretches its line, not the margin
\title{%s}
\author{%s}
\date{}
\begin{document}
\maketitle
"""
FONTS = r"""\usepackage[no-math]{fontspec}
\setmainfont{%s}
"""


@dataclass(frozen=True)
class Section:
    """A numbered section of the document: a heading (a key of the narration's ``headings``), a derivation, and
    for some of its steps (by :func:`narration.key_of`) a line saying how the result was checked."""

    heading: str
    derivation: Derivation
    checks: Mapping[str, str] = field(default_factory=dict)


def render(sections: list[Section], lang: str = "en", **blanks: object) -> str:
    """A standalone LaTeX document in ``lang``: the conventions, then each section's steps, each step with its
    title, its sentence and its check from the narration's table. ``blanks`` fill the sentences' ``@…@``."""
    words = narration.table(lang)["document"]
    fonts = FONTS % words["font"] + words["preamble"] if engine(lang) != "pdflatex" else ""
    out = [PREAMBLE % (fonts, narration.fill(words["title"], **blanks), words["author"]), words["intro"] + "\n",
           f"\\section*{{{narration.sentence(lang, 'headings', 'conventions')}}}",
           narration.sentence(lang, "text", "conventions") + "\n"]
    for section in sections:
        out.append(f"\\section{{{narration.sentence(lang, 'headings', section.heading, **blanks)}}}\n")
        named_before = False  # b_t, c_t kept by name are explained once a section
        for step in section.derivation.steps:
            key = narration.key_of(step.label)
            note = narration.sentence(lang, "narration", key)
            if step.names_from and not named_before:
                note += " " + narration.sentence(lang, "text", step.names_sentence, step=step.names_from)
                named_before = True
            out.append(latex.step_environment(step, title=narration.title(step, lang, **blanks),
                                              note=note, after=section.checks.get(key, "")))
    out.append("\\end{document}\n")
    return "\n".join(out)


def render_plain(sections: list[tuple[str, Derivation]], title: str) -> str:
    """A standalone English LaTeX document of derivations outside the section (an exercise's proof): each step
    with its own title and note."""
    out = [PREAMBLE % ("", latex.escape(title), "derived by symbptt")]
    for heading, derivation in sections:
        out.append(f"\\section{{{latex.escape(heading)}}}\n")
        out.extend(latex.step_environment(step) for step in derivation.steps)
    out.append("\\end{document}\n")
    return "\n".join(out)


def engine(lang: str) -> str:
    """The TeX engine for ``lang``: pdflatex for English, XeLaTeX (fonts by name) for the others."""
    return str(narration.table(lang)["document"]["engine"])


def compile_pdf(tex_path: Path, tex: str = "pdflatex") -> Path:
    """Compile a .tex file with ``tex`` (twice, for labels); the PDF's path, or SymbpttError."""
    tex_path = Path(tex_path).resolve()
    with tempfile.TemporaryDirectory() as build:
        _compile(tex_path, Path(build), tex)
        pdf = tex_path.with_suffix(".pdf")
        shutil.copyfile(Path(build) / (tex_path.stem + ".pdf"), pdf)
    return pdf


def overfull_lines(tex_path: Path, tex: str = "pdflatex") -> list[str]:
    """TeX's report of every line that runs past the margin (``Overfull \\hbox``) in the compiled document."""
    return [line for line in compile_log(tex_path, tex).splitlines() if line.startswith("Overfull \\hbox")]


def compile_log(tex_path: Path, tex: str = "pdflatex") -> str:
    """The log of the document's second run (labels resolved): overfull boxes, undefined references."""
    tex_path = Path(tex_path).resolve()
    with tempfile.TemporaryDirectory() as build:
        return _compile(tex_path, Path(build), tex)


PACKAGES = {"pdflatex": "texlive-latex-base, texlive-latex-recommended",
            "xelatex": "texlive-xetex, fonts-texgyre, fonts-nanum"}


def tex_engine(tex: str) -> str:
    """The path of the TeX engine ``tex``, or a one-line SymbpttError saying what to install."""
    program = shutil.which(tex)
    if program is None:
        msg = f"no TeX engine {tex} found: install it (Debian: {PACKAGES[tex]})"
        raise SymbpttError(msg)
    return program


def _compile(tex_path: Path, build: Path, tex: str = "pdflatex") -> str:
    """``tex`` twice into ``build``; the final log's text."""
    program = tex_engine(tex)
    for _ in range(2):
        run = subprocess.run(
            [program, "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={build}", str(tex_path)],
            capture_output=True, text=True, check=False,
        )
        if run.returncode != 0:
            errors = [line for line in run.stdout.splitlines() if line.startswith("!")]
            msg = f"{tex} failed on {tex_path.name}: {errors[0] if errors else 'see its log'}"
            raise SymbpttError(msg)
    return (build / (tex_path.stem + ".log")).read_text(errors="replace")


GRAPH_FORMATS = ("dot", "svg", "png", "pdf")


def graphviz(fmt: str) -> str:
    """The path of Graphviz's ``dot``, or a one-line SymbpttError saying what to install."""
    engine = shutil.which("dot")
    if engine is None:
        msg = f"--format {fmt} needs Graphviz's dot (Debian: apt-get install graphviz); --format dot needs nothing"
        raise SymbpttError(msg)
    return engine


def draw_graph(dot_text: str, fmt: str = "dot") -> bytes:
    """The DOT text itself, or the graph drawn by Graphviz's ``dot`` as svg, png or pdf; SymbpttError without it."""
    if fmt not in GRAPH_FORMATS:
        msg = f"unknown graph format {fmt!r}; allowed: {', '.join(GRAPH_FORMATS)}"
        raise ValueError(msg)
    if fmt == "dot":
        return dot_text.encode("utf-8")
    run = subprocess.run([graphviz(fmt), f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True, check=False)
    if run.returncode != 0:
        first = run.stderr.decode(errors="replace").strip().splitlines()[:1]
        msg = f"Graphviz's dot failed: {first[0] if first else 'no message'}"
        raise SymbpttError(msg)
    return run.stdout
