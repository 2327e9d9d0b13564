import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_textbook_analysis_runs(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["textbook_analysis.py", "--steps", "8"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(EXAMPLES / "textbook_analysis.py"), run_name="__main__")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert r"\frac{\partial h_{t}}{\partial w_{h}}" in out and "agree to rtol 1e-5" in out
