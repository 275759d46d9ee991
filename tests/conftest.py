"""Hypothesis profiles, and the pure-Python mode.

Hypothesis: a fast default for every run, a thorough one for release checks.

    HYPOTHESIS_PROFILE=thorough python -m pytest tests/test_differential.py

Pure-Python mode: where the native core cannot be used (DEMINIMIS_PUREPYTHON=1, or no compiled
extension), only the tests marked ``pure`` can run (they need the reference alone); every other
test is skipped, saying why.  .ci/run runs them so, with ``-m pure``:

    DEMINIMIS_PUREPYTHON=1 python -m pytest -q -m pure tests
"""

import os

import pytest
from hypothesis import HealthCheck, settings

import deminimis

settings.register_profile("default", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("medium", max_examples=2_000, deadline=None,  # a pre-stop check of a few minutes
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=20_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# tests of the compiled modules themselves (they import _core or _encode, or engine names that need them)
collect_ignore = [] if deminimis.NATIVE else ["test_encode.py", "test_rounding.py", "test_tariff_compile.py"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if deminimis.NATIVE:
        return
    skip = pytest.mark.skip(reason=f"needs the native core ({deminimis.NATIVE_REASON}); not marked pure")
    for item in items:
        if item.get_closest_marker("pure") is None:
            item.add_marker(skip)


def pytest_configure(config: pytest.Config) -> None:
    # also registered in pyproject.toml; here for runs from a copy of tests/ (the wheel's CI stage)
    config.addinivalue_line("markers", "pure: runs on the reference alone, also without the native core")
