"""The public surface of rr.config."""

from __future__ import annotations

import subprocess
import sys

import rr.config


def test_all_lists_exactly_the_public_api() -> None:
    """rr.config exports load, load_dict, parse_duration, to_endpoint and parse_host_port."""
    assert sorted(rr.config.__all__) == [
        "load",
        "load_dict",
        "parse_duration",
        "parse_host_port",
        "to_endpoint",
    ]
    for name in rr.config.__all__:
        assert callable(getattr(rr.config, name))


def test_importing_config_does_not_install_a_reactor() -> None:
    """Loading config never imports the global reactor (STYLE.md §3.1)."""
    code = "import sys, rr.config; print('twisted.internet.reactor' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
