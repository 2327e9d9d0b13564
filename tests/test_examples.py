import re
import runpy
import sys
from pathlib import Path

import pytest

from .helpers import library

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_textbook_analysis_runs(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["textbook_analysis.py", "--steps", "8"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(EXAMPLES / "textbook_analysis.py"), run_name="__main__")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert r"\frac{\partial h_{t}}{\partial w_{h}}" in out and "agree to rtol 1e-5" in out


def test_truncation_strategies_runs(capsys):
    module = runpy.run_path(str(EXAMPLES / "truncation_strategies.py"))
    assert module["main"](["--steps", "12", "--samples", "20"]) == 0
    out = capsys.readouterr().out
    assert "window     tau =   1" in out and "(unbiased)" in out


def test_readme_python_blocks_run(capsys):
    """Every ```python block of README.md runs as written (one of them passes PyTorch tensors)."""
    library("torch")
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})  # noqa: S102  (our own documentation)
    assert r"\frac{\partial L}{\partial h_{t}}" in capsys.readouterr().out


@pytest.mark.slow  # about ten seconds: CI runs it
def test_analysis_example_writes_five_figures(tmp_path, capsys):
    module = runpy.run_path(str(EXAMPLES / "analysis.py"))
    assert module["main"](["--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(f"{n}.{s}" for n in ("alignment", "clipping", "estimators", "spectrum", "strategies")
                             for s in ("png", "svg"))
    out = capsys.readouterr().out
    assert "compiled vs E15 agree to" in out and "exact expectation 1.000000000000" in out
