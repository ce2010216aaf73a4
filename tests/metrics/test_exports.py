"""The public surface of rr.metrics and rr.status."""

from __future__ import annotations

import subprocess
import sys

import rr.metrics
import rr.status


def test_all_lists_the_public_api() -> None:
    """Both packages export exactly their documented names, and every name exists."""
    assert sorted(rr.metrics.__all__) == [
        "AppCollector",
        "AppMetrics",
        "HTTPMetrics",
        "MetricsError",
        "MetricsPlugin",
        "MetricsResource",
        "PoolCollector",
        "render",
    ]
    assert sorted(rr.status.__all__) == [
        "Checker",
        "StatusPlugin",
        "StatusResource",
        "pool_checker",
        "report",
    ]
    for module in (rr.metrics, rr.status):
        for name in module.__all__:
            assert getattr(module, name) is not None


def test_importing_does_not_install_a_reactor() -> None:
    """Importing the plugins (and the config loader that builds metrics) installs no reactor."""
    code = (
        "import sys, rr.metrics, rr.status, rr.controls, rr.config; "
        "print('twisted.internet.reactor' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
