"""Standalone LaTeX documents from derivations, and their PDF through a TeX engine."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from symbptt import latex
from symbptt.derive.steps import Derivation
from symbptt.errors import SymbpttError

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\allowdisplaybreaks
\title{%s}
\author{derived by symbptt}
\date{}
\begin{document}
\maketitle
"""


def render(sections: list[tuple[str, Derivation]], title: str) -> str:
    """A standalone LaTeX document: one section per derivation, steps in order."""
    out = [PREAMBLE % latex.escape(title)]
    for heading, derivation in sections:
        out.append(f"\\section{{{latex.escape(heading)}}}\n")
        out.extend(latex.step_environment(step) for step in derivation.steps)
    out.append("\\end{document}\n")
    return "\n".join(out)


def compile_pdf(tex_path: Path) -> Path:
    """Compile a .tex file with pdflatex (twice, for labels); the PDF's path, or SymbpttError."""
    tex_path = Path(tex_path).resolve()
    with tempfile.TemporaryDirectory() as build:
        _compile(tex_path, Path(build))
        pdf = tex_path.with_suffix(".pdf")
        shutil.copyfile(Path(build) / (tex_path.stem + ".pdf"), pdf)
    return pdf


def overfull_lines(tex_path: Path) -> list[str]:
    """TeX's report of every line that runs past the margin (``Overfull \\hbox``) in the compiled document."""
    tex_path = Path(tex_path).resolve()
    with tempfile.TemporaryDirectory() as build:
        log = _compile(tex_path, Path(build))
    return [line for line in log.splitlines() if line.startswith("Overfull \\hbox")]


def _compile(tex_path: Path, build: Path) -> str:
    """pdflatex twice into ``build``; the final log's text."""
    engine = shutil.which("pdflatex")
    if engine is None:
        msg = "no TeX engine found: install pdflatex (Debian: texlive-latex-base, texlive-latex-recommended)"
        raise SymbpttError(msg)
    for _ in range(2):
        run = subprocess.run(
            [engine, "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={build}", str(tex_path)],
            capture_output=True, text=True, check=False,
        )
        if run.returncode != 0:
            errors = [line for line in run.stdout.splitlines() if line.startswith("!")]
            msg = f"pdflatex failed on {tex_path.name}: {errors[0] if errors else 'see its log'}"
            raise SymbpttError(msg)
    return (build / (tex_path.stem + ".log")).read_text(errors="replace")


GRAPH_FORMATS = ("dot", "svg", "png", "pdf")


def draw_graph(dot_text: str, fmt: str = "dot") -> bytes:
    """The DOT text itself, or the graph drawn by Graphviz's ``dot`` as svg, png or pdf; SymbpttError without it."""
    if fmt not in GRAPH_FORMATS:
        msg = f"unknown graph format {fmt!r}; allowed: {', '.join(GRAPH_FORMATS)}"
        raise ValueError(msg)
    if fmt == "dot":
        return dot_text.encode("utf-8")
    engine = shutil.which("dot")
    if engine is None:
        msg = f"--format {fmt} needs Graphviz's dot (Debian: apt-get install graphviz); --format dot needs nothing"
        raise SymbpttError(msg)
    run = subprocess.run([engine, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True, check=False)
    if run.returncode != 0:
        first = run.stderr.decode(errors="replace").strip().splitlines()[:1]
        msg = f"Graphviz's dot failed: {first[0] if first else 'no message'}"
        raise SymbpttError(msg)
    return run.stdout
