"""The analysis figures, drawn with matplotlib (the optional ``plot`` extra), each written as PNG and SVG."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from symbptt import files
from symbptt.analysis.truncation import Cuts, by_update
from symbptt.derive import strategies
from symbptt.errors import SymbpttError

PIECE_COLOURS = ("#cfe2f3", "#9fc5e8")  # alternate pieces, so two neighbours never look like one
CUT_COLOUR = "#cc0000"


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or a one-line install hint."""
    try:
        import matplotlib as mpl
    except ImportError:
        msg = "the figures need matplotlib: pip install 'symbptt[plot]'"
        raise SymbpttError(msg) from None
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(figure: Any, stem: Path, also: Mapping[Path, bytes] | None = None) -> tuple[Path, Path]:
    """``stem``.png (150 dpi) and ``stem``.svg (and the files of ``also``), written together or not at all."""
    png, svg = outputs(stem)

    def draw(kind: str, **options: Any) -> files.Writer:
        return lambda stream: figure.savefig(stream, format=kind, bbox_inches="tight", **options)

    written: dict[Path, files.Writer] = {png: draw("png", dpi=150), svg: draw("svg")}
    for path, data in (also or {}).items():
        written[path] = files.holding(data)
    try:
        files.write_all(written)
    finally:
        pyplot().close(figure)
    return png, svg


def outputs(stem: Path) -> tuple[Path, Path]:
    """The PNG and SVG a figure's ``--out STEM`` names ("fig.png" names the pair fig.png, fig.svg)."""
    stem = Path(stem)
    if stem.suffix in (".png", ".svg"):
        stem = stem.with_suffix("")
    return stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")


def truncation(text: str, rows: Sequence[tuple[str, Cuts]]) -> Any:
    """One row per strategy over the characters of ``text``: its pieces, its cuts, or its updates' spans."""
    plt = pyplot()
    T = len(text)
    heights = [1 + (len(c.spans) if _overlapping(c) else 0) * 0.32 for _, c in rows]
    figure, ax = plt.subplots(figsize=(0.27 * T + 2.5, 0.9 * sum(heights) + 1.2))
    y = 0.0
    for label, c in rows:
        y -= 1.0
        _characters(ax, text, y, c)
        if _overlapping(c):
            for k, (start, last) in enumerate(c.spans):
                level = y - 0.55 - 0.32 * k
                ax.plot([start - 1.4, last - 0.6], [level, level], color="#3d85c6", lw=2.2, solid_capstyle="butt")
                ax.plot([last - 0.6], [level], marker="o", ms=4, color="#3d85c6")
            y -= 0.32 * len(c.spans)
        ax.text(-1.2, y + (0.32 * len(c.spans) if _overlapping(c) else 0), label, ha="right", va="center",
                fontsize=10)
        y -= 0.35
    ax.set_xlim(-1.0, T + 0.2)
    ax.set_ylim(y, 0.2)
    ax.set_yticks([])
    ax.set_xticks([t - 1 for t in range(1, T + 1) if t == 1 or t % 5 == 0], [str(t) for t in range(1, T + 1)
                                                                            if t == 1 or t % 5 == 0])
    ax.set_xlabel("time step t (one character per step)")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title("Where the gradient is cut: the opening of The Time Machine\n"
                 "(red bar: no gradient crosses; blue bar: one update's backward span, dot where it is made)",
                 fontsize=10)
    return figure


def _overlapping(c: Cuts) -> bool:
    return by_update(c.strategy)


def _characters(ax: Any, text: str, y: float, c: Cuts) -> None:
    plt = pyplot()
    piece = 0
    for j, character in enumerate(text, start=1):
        if not _overlapping(c) and j > 1 and c.weights[j - 1] == 0:
            piece += 1
        colour = "#eeeeee" if _overlapping(c) else PIECE_COLOURS[piece % 2]
        ax.add_patch(plt.Rectangle((j - 1.45, y - 0.4), 0.9, 0.8, facecolor=colour, edgecolor="none"))
        ax.text(j - 1, y, "␣" if character == " " else character, ha="center", va="center", fontsize=9,
                family="monospace")
    for j in c.cut_after if not _overlapping(c) else ():
        ax.plot([j - 0.5, j - 0.5], [y - 0.48, y + 0.48], color=CUT_COLOUR, lw=2.5)


def alignment(result: dict[str, Any], title: str = "") -> Any:
    """tan of the angle between M^k x and v_1 against k (log scale), beside tan θ_0 |λ_2/λ_1|^k."""
    plt = pyplot()
    figure, ax = plt.subplots(figsize=(6.4, 4.2))
    k, tan, rate = result["k"], result["tan"], result["rate"]
    shown = tan > 0
    ax.semilogy(k[shown], tan[shown], "o", ms=4, color="#3d85c6", label=r"measured $\tan\theta_k$, "
                r"$\theta_k = \angle(M^k x, v_1)$")
    ax.semilogy(k, tan[0] * rate, "-", color="#cc0000", lw=1.2,
                label=r"bound $\tan\theta_0\,|\lambda_2/\lambda_1|^k$ (equal when n = 2)")
    lam = result["eigenvalues"]
    ax.set_xlabel("power k")
    ax.set_ylabel(r"$\tan\theta_k$ (log scale)")
    ax.set_title(title or rf"Exercise 1: $M^k x$ turns toward $v_1$ ($\lambda_1 = {lam[0]:.3g}$, "
                 rf"$\lambda_2 = {lam[1]:.3g}$)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=9)
    return figure


STRATEGY_COLOURS = {"window": "#3d85c6", "chunked": "#6aa84f", "tbptt": "#e69138", "last": "#674ea7",
                    "randomized": "#cc0000", "full": "#444444"}


def estimators(bias: dict[str, Any], randomized: dict[str, Any], cost: list[tuple[str, int, float]],
               title: str = "") -> Any:
    """Three panels: the bias of the regular strategies against their length; randomized's spread against pi;
    the cost of each strategy (transitions walked, measured time)."""
    plt = pyplot()
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.4))
    lengths = bias["length"]
    truncations = [kind.name for kind in strategies.TRUNCATIONS]
    for name in truncations:
        label = {"tbptt": r"tbptt ($k_1 = \lceil\tau/2\rceil$, $k_2 = \tau$)"}.get(name, name)
        exact = bias[name] == 0  # length >= T: no bias at all, which a log scale cannot show
        left.semilogy(lengths[~exact], bias[name][~exact], "o-", ms=4, color=STRATEGY_COLOURS[name], label=label)
    zero = any((bias[n] == 0).any() for n in truncations)
    left.set_xscale("log", base=2)
    left.set_xlabel(r"truncation length $\tau$ (steps, log scale)")
    left.set_ylabel(r"relative bias $\|g - g_{full}\| / \|g_{full}\|$")
    left.set_title("Regular truncation: biased, less so as it grows", fontsize=10)
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8, title="exactly 0 at length ≥ T: not drawn" if zero else None, title_fontsize=8)

    pis, projections = randomized["pi"], randomized["projections"]
    for i, p in enumerate(pis):
        middle.plot(np.full(projections.shape[1], p), projections[i], ".", ms=2, alpha=0.25,
                    color=STRATEGY_COLOURS["randomized"])
    middle.errorbar(pis, randomized["mean"], yerr=randomized["std"], fmt="o", ms=5, capsize=4, color="#000000",
                    label=f"mean ± std of {projections.shape[1]} draws")
    middle.axhline(randomized["expectation"], color="#3d85c6", lw=1.2, label="exact expectation (= full)")
    low, high = np.percentile(projections, [1, 99])
    middle.set_ylim(min(low, 0.5), max(high, 1.5))  # the rare far draws would flatten the rest
    middle.set_xlabel(r"keep-probability $\pi$")
    middle.set_ylabel(r"$\langle g, g_{full}\rangle / \|g_{full}\|^2$ (1 is exact)")
    middle.set_title("Randomized truncation: unbiased, with variance", fontsize=10)
    middle.grid(True, alpha=0.3)
    middle.legend(fontsize=8)

    names = [row[0] for row in cost]
    walked = [row[1] for row in cost]
    seconds = [row[2] * 1e3 for row in cost]
    positions = np.arange(len(cost))
    colours = [STRATEGY_COLOURS.get(n.split("(")[0], "#999999") for n in names]
    right.bar(positions, walked, color=colours, alpha=0.8)
    right.set_xticks(positions, names, rotation=30, ha="right", fontsize=8)
    right.set_ylabel("transitions walked backward")
    right.set_title("Cost (bars) and measured time per gradient (dots)", fontsize=10)
    timing = right.twinx()
    timing.plot(positions, seconds, "ko")
    timing.set_ylabel("time per gradient (ms)")
    timing.set_ylim(0, max(seconds) * 1.25)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return figure


RADIUS_COLOURS = ("#3d85c6", "#444444", "#cc0000", "#6aa84f", "#e69138", "#674ea7")


def spectra(results: Sequence[tuple[float, Any, Any]]) -> Any:
    """(radius, linear Spectrum, elman Spectrum) per row: ‖∂l_T/∂h_t‖ against the lag, and the eigenvalues."""
    plt = pyplot()
    figure, (left, right, values) = plt.subplots(1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [1.6, 1, 1]})
    notes = []
    for colour, (radius, linear, elman) in zip(RADIUS_COLOURS, results, strict=False):
        left.semilogy(linear.lags, linear.norms, "-", color=colour, lw=1.6,
                      label=f"ρ = {radius:g}, linear: compiled gradient")
        every = max(1, len(linear.lags) // 12)
        left.semilogy(linear.lags[::every], linear.powers[::every], "o", mfc="none", color=colour, ms=6,
                      label=rf"ρ = {radius:g}, linear: E15, $\|(W_{{hh}}^\top)^{{T-t}}\,\partial l_T/\partial h_T\|$")
        left.semilogy(elman.lags, elman.norms, "--", color=colour, lw=1.2,
                      label=f"ρ = {radius:g}, elman-{elman.activation}")
        right.plot(linear.eigenvalues.real, linear.eigenvalues.imag, ".", color=colour, ms=7,
                   label=f"ρ = {radius:g}")
        notes.append(f"ρ = {radius:g}: {elman.conditions}")
        values.plot(np.arange(1, len(linear.singular_values) + 1), linear.singular_values, "o-", ms=3,
                    color=colour, label=f"ρ = {radius:g}")
    left.set_xlabel("lag T − t (steps)")
    left.set_ylabel(r"$\|\partial l_T / \partial h_t\|$ (log scale)")
    left.set_title(r"Gradients vanish or explode as powers of $W_{hh}^\top$", fontsize=10)
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7, ncol=1, loc="upper left")
    circle = np.linspace(0, 2 * np.pi, 200)
    right.plot(np.cos(circle), np.sin(circle), "-", color="#999999", lw=0.8, label="|λ| = 1")
    right.set_aspect("equal")
    right.set_xlabel("Re λ")
    right.set_ylabel("Im λ")
    right.set_title(r"Eigenvalues of $W_{hh}$", fontsize=10)
    right.grid(True, alpha=0.3)
    right.legend(fontsize=8, loc="upper right")
    gamma = results[0][2].gamma if results else 1
    values.axhline(float(1 / gamma), color="#999999", lw=1, ls="--", label=r"$1/\gamma$ (Pascanu et al.)")
    values.set_xlabel("index i")
    values.set_ylabel(r"singular value $\sigma_i$")
    values.set_title(r"Singular values of $W_{hh}$", fontsize=10)
    values.grid(True, alpha=0.3)
    values.legend(fontsize=8)
    activation = results[0][2].activation if results else "tanh"
    figure.text(0.01, -0.02, f"Pascanu–Mikolov–Bengio, γ = sup|{activation}'| = {gamma} (derived symbolically):\n"
                + "\n".join(notes), fontsize=8, va="top")
    figure.tight_layout()
    return figure


def clipping(runs: Sequence[Any], title: str = "") -> Any:
    """The global gradient norm (before clipping, log scale) and the loss over the updates of each run."""
    plt = pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    for colour, run in zip(("#cc0000", "#3d85c6", "#6aa84f"), runs, strict=False):
        steps = np.arange(1, len(run.norms) + 1)
        left.semilogy(steps, run.norms, "-", color=colour, lw=1.1, label=run.label)
        right.plot(steps, run.losses, "-", color=colour, lw=1.1, label=run.label)
    left.set_xlabel("update")
    left.set_ylabel(r"$\|\partial L/\partial\theta\|$ before clipping (log scale)")
    left.set_title("Gradient norm: explosions, and what clipping leaves of them", fontsize=10)
    right.set_xlabel("update")
    right.set_ylabel("cross-entropy loss (nats per character)")
    right.set_title("Loss", fontsize=10)
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure
