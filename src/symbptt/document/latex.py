"""LaTeX for derivations: steps laid out as displayed equations, long sums broken, long lists elided.

The notation of one expression is ``notation.to_latex``'s; this module lays
out whole steps: a sum wider than a line breaks before ``+``, a step of many
equations shows its first and last rows around a ``⋮``.
"""

from __future__ import annotations

import re

import sympy as sp

from symbptt.derive.steps import DISPLAY, Derivation, Step
from symbptt.document import narration
from symbptt.document.notation import PRINTER, to_latex

__all__ = ["escape", "step_environment", "step_latex", "to_latex"]

MAX_ROWS = 8  # a step of more equations shows the first three, ⋮, the last two
LINE_WIDTH = 68  # letters per displayed line (see _width): A4 with 2 cm margins at 11 pt, the number beside it


# Widths in letters (a math italic letter ≈ 0.5 em): what each piece of a display adds to its line.
_OPERATOR = 2.4  # + − = ≈ ⊙ between terms: the symbol and a medium space each side
_COMMAND = {"partial": 1.0, "left": 0.0, "right": 0.0, "biggl": 1.0, "biggr": 1.0, "mathbf": 0.0, "tilde": 0.0,
            "hat": 0.0, "operatorname": 0.0, "text": 0.0, "textbf": 0.0, "top": 1.0, "quad": 2.0, "qquad": 4.0,
            "cdots": 3.0, "ldots": 3.0, "sum": 2.6, "prod": 2.6, "approx": _OPERATOR, "odot": _OPERATOR,
            "cdot": 1.4, "geq": _OPERATOR, "leq": _OPERATOR, "mathbb": 0.0, "mathcal": 0.0}
_SCRIPT = 0.7  # sub- and superscripts print at 70%; the script's own operators have no spaces round them


def _width(latex_text: str, scale: float = 1.0) -> float:
    """A display's printed width in letters, calibrated on A4 at 11 pt (E3 at T = 4, E7 for generic f): a
    fraction as the wider of its numerator and denominator (they are stacked), scripts at 70%, operators
    with their spaces, commands by what they print (``\\left`` nothing, ``\\partial`` a letter)."""
    total, k, n = 0.0, 0, len(latex_text)
    while k < n:
        character = latex_text[k]
        if character == "\\":
            match = re.match(r"\\([A-Za-z]+)|\\.?", latex_text[k:], re.DOTALL)
            assert match is not None  # a backslash, then a name or any character (or the text's end)
            name = match.group(1)
            k += match.end()
            if name == "frac":
                numerator_end = _closing(latex_text, k)
                denominator_end = _closing(latex_text, numerator_end + 1)
                total += scale * 0.3 + max(_width(latex_text[k + 1:numerator_end], scale),
                                           _width(latex_text[numerator_end + 2:denominator_end], scale))
                k = denominator_end + 1
            else:
                total += scale * (_COMMAND.get(name, 1.0) if name else 0.6)  # \, \; and the like: a thin space
        elif character in "_^":
            k += 1
            if k < n and latex_text[k] == "{":
                end = _closing(latex_text, k)
                total += _width(latex_text[k + 1:end], scale * _SCRIPT)
                k = end + 1
            elif k < n:  # one character or one command: x^2, W^\top
                match = re.match(r"\\[A-Za-z]+|.", latex_text[k:], re.DOTALL)
                assert match is not None
                total += _width(match.group(), scale * _SCRIPT)
                k += match.end()
        else:
            if character in "+-=<>":
                total += scale * (_OPERATOR if scale == 1.0 else 1.0)
            elif character in "()[]|,":
                total += scale * 0.8
            elif not character.isspace() and character not in "{}&":
                total += scale
            k += 1
    return total


def _closing(text: str, opening: int) -> int:
    """The index of the brace that closes the one at ``opening``."""
    depth = 0
    for k in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[k], 0)
        if depth == 0:
            return k
    return len(text) - 1


def step_latex(step: Step, inline: bool = False) -> str:
    """A step's equations, joined; ≈ for a truncation. Long sums break over aligned lines, long lists elide."""
    relation = r" \approx " if step.approximate else " = "
    parts = []
    for eq in step.equations:
        if isinstance(eq, sp.Eq):
            lhs = to_latex(eq.lhs)
            first_line = max(LINE_WIDTH - _width(lhs) - _OPERATOR, 24)  # the rhs begins after "lhs ="
            rhs = to_latex(eq.rhs) if inline else _broken(eq.rhs, first_line)
            parts.append(f"{lhs}{relation if eq is step.equations[-1] else ' = '}{rhs}")
        else:
            parts.append(to_latex(eq))
    if inline:
        return ",\\quad ".join(parts)
    if len(parts) > MAX_ROWS and step.elided:
        parts = [*parts[:3], r"\vdots", *parts[-2:]]
    return " \\\\\n".join(f"&{p}" for p in parts)


def _broken(expr: sp.Basic, width: float = LINE_WIDTH, indent: str = r"\qquad") -> str:
    """A sum too long for one line, as lines of terms continued with ``\\qquad +``; a product of such a sum
    and short factors, as the sum's lines in large parentheses, the factors after them (each nested break
    indented further)."""
    coeff, rest = expr.as_coeff_Mul() if isinstance(expr, sp.Mul) else (sp.S.One, expr)
    if coeff.is_Rational and coeff != 1 and isinstance(rest, sp.Add):
        # 1/T [ … ], not one large fraction over T; the brackets may open and close on different lines
        inside = width - _width(to_latex(coeff)) - 2  # the brackets
        return rf"{to_latex(coeff)} \biggl[ {_broken(rest, inside, indent)} \biggr]"
    text = to_latex(expr)
    if _width(text) <= width:
        return text
    if isinstance(expr, sp.Eq):  # a chain a = b = c: the second equals sign starts a line
        return f"{_broken(expr.lhs)} \\\\\n&\\qquad = {_broken(expr.rhs)}"
    sums = [factor for factor in expr.args if isinstance(factor, sp.Add)] if isinstance(expr, sp.Mul) else []
    if sums and coeff == 1:  # (c_t) ∂h_{t-1}/∂w with a long c_t: (c_t's terms, over lines) ∂h_{t-1}/∂w
        widest = max(sums, key=lambda factor: _width(to_latex(factor)))  # the others stay factors: (1 - tanh²)
        factors = to_latex(sp.Mul(*(factor for factor in expr.args if factor is not widest)))
        inner = _broken(widest, width - _width(factors) - 2, indent + r"\quad")
        if "\\\\" in inner:
            return rf"\biggl( {inner} \biggr) {factors}"
        return text
    if isinstance(expr, sp.MatAdd):
        terms = [to_latex(term) for term in expr.args]
    elif isinstance(expr, sp.Add):  # written-out sums in time order, any other in SymPy's
        ordered = PRINTER.time_ordered(expr)
        # a term too wide for a line of its own is broken in turn (a long c_t times ∂h_{t-1}/∂w)
        terms = [r"\cdots" if term is None else _broken(term, width - 4, indent)
                 for term in (PRINTER._as_ordered_terms(expr) if ordered is None else ordered)]
    else:
        return text
    lines, current = [], ""
    for piece in terms:
        sign, piece = ("-", piece[2:]) if piece.startswith("- ") else ("+", piece)
        joined = f"{current} {sign} {piece}" if current else (piece if sign == "+" else f"- {piece}")
        # a term broken in turn joins the line if its first line fits there; its last line is where the next begins
        if current and _width(f"{_last_line(current)} {sign} {_first_line(piece)}") > width:
            lines.append(current)
            current = f"{indent} {sign} {piece}"
        else:
            current = joined
    lines.append(current)
    return " \\\\\n&".join(lines)


def _first_line(text: str) -> str:
    return text.split("\\\\", 1)[0]


def _last_line(text: str) -> str:
    return text.rsplit("\\\\", 1)[-1]


def step_environment(step: Step, title: str | None = None, note: str | None = None, after: str = "") -> str:
    r"""A step as ``\paragraph{title} note \begin{equation}\label{…}…\end{equation} after``.

    ``title`` and ``note`` are LaTeX (a document's narration); by default the step's own, escaped, or for a step of
    the section its English title and sentence.
    """
    body = step_latex(step)
    if len(step.equations) == 1 and "\\\\" not in body:
        inner = body.lstrip("&")
    else:
        inner = "\\begin{aligned}\n" + body + "\n\\end{aligned}"
    title = escape(_title(step)) if title is None else title
    if note is None:
        note = escape(step.note) if step.title else narration.sentence("en", "narration", narration.key_of(step.label))
    return (
        f"\\paragraph{{{title}}}" + (f"\n{note}\n" if note else "\n") +
        f"\\begin{{equation}}\\label{{{step.label}}}\n{inner}\n\\end{{equation}}\n" +
        (f"{after}\n" if after else "")
    )


_TEXT = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#",
         "$": r"\$", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}"}


def escape(text: str) -> str:
    """A title or note as LaTeX: text with every special character printed as itself, ``$…$`` kept as math."""
    pieces = text.split("$")
    if len(pieces) % 2 == 0:  # an unpaired $ is a dollar sign, not math
        pieces = [text]
    out = []
    for k, piece in enumerate(pieces):
        if k % 2:
            out.append(f"${piece}$")
        else:
            out.append("".join(_TEXT.get(character, character) for character in piece).replace(">=", r"$\geq$"))
    return "".join(out)


def in_math(text: str) -> str:
    """A title inside a display: its words as bold ``\\text``, its ``$…$`` pieces as math."""
    pieces = text.split("$")
    if len(pieces) % 2 == 0:
        pieces = [text]
    return " ".join(piece if k % 2 else rf"\textbf{{{escape(piece)}}}" for k, piece in enumerate(pieces) if piece)


def _title(step: Step) -> str:
    """A step's own title, or for a step of the section its English title from the narration (text and $…$)."""
    return step.title or narration.title(step)


def step_display(step: Step) -> str:
    """One step as a display that stands on its own (a notebook cell, a paste into any document)."""
    return "$$\\begin{aligned}\n" + step_latex(step) + "\n\\end{aligned}$$"


def derivation_display(derivation: Derivation) -> str:
    """Every step of a derivation as one display: each title, then its aligned equations."""
    rows = []
    for step in derivation.steps:
        rows.append(rf"&{in_math(_title(step))} \\")
        rows.append(step_latex(step) + r" \\[1ex]")
    return "$$\\begin{aligned}\n" + "\n".join(rows) + "\n\\end{aligned}$$"


DISPLAY.update(step=step_display, derivation=derivation_display)  # how steps show themselves in a notebook
