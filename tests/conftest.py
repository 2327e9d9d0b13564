import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from .helpers import backend_available

settings.register_profile("dev", max_examples=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# An empty Numba cache for the session: backend="auto" takes Numba only where a model is compiled already, so
# tests would otherwise run on whatever earlier runs on this machine left compiled. The Numba tests use
# the `numba_cache` fixture, a folder that outlives the session.
os.environ["SYMBPTT_CACHE"] = tempfile.mkdtemp(prefix="symbptt-test-cache-")


@pytest.fixture(autouse=True)
def _seed() -> None:
    np.random.seed(0)


@pytest.fixture
def numba_cache(monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Numba cache that outlives the session (compiling every model takes minutes), for the Numba tests."""
    backend_available("numba")
    folder = Path(os.environ.get("SYMBPTT_TEST_NUMBA_CACHE") or Path.home() / ".cache" / "symbptt-tests")
    monkeypatch.setenv("SYMBPTT_CACHE", str(folder))
    return folder


def pytest_terminal_summary(terminalreporter) -> None:
    """The number of distinct hostile inputs refused (tests/bad_input/test_hostile.py), also from xdist's workers."""
    for report in terminalreporter.stats.get("passed", []):
        for key, value in getattr(report, "user_properties", []):
            if key == "hostile_inputs":
                terminalreporter.write_line(f"hostile inputs: {value} distinct, each refused in the contract's form")
