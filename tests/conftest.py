import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _seed() -> None:
    np.random.seed(0)


def pytest_terminal_summary(terminalreporter) -> None:
    """The number of distinct hostile inputs refused (tests/test_hostile.py), also from xdist's workers."""
    for report in terminalreporter.stats.get("passed", []):
        for key, value in getattr(report, "user_properties", []):
            if key == "hostile_inputs":
                terminalreporter.write_line(f"hostile inputs: {value} distinct, each refused in the contract's form")
