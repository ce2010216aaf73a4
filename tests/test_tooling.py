"""The package stays typed, linted and installable as a twistd plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_mypy_strict_on_rr() -> None:
    """mypy --strict (with the zope plugin) passes on rr/."""
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_on_rr() -> None:
    """ruff (select ALL, with the project's ignores) passes on rr/ and the plugin."""
    result = run(sys.executable, "-m", "ruff", "check", "rr", "twisted")
    assert result.returncode == 0, result.stdout + result.stderr


def test_twistd_lists_rr_plugin(tmp_path: Path) -> None:
    """After `pip install .` (scripts/setup.sh), `twistd --help` lists the rr plugin."""
    twistd = BIN / "twistd"
    if not twistd.exists():
        pytest.skip("twistd is not installed in this environment")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = run(str(twistd), "--help", cwd=tmp_path, env=env)
    installed = run(sys.executable, "-c", "import rr, sys; print(rr.__file__)", cwd=tmp_path, env=env)
    if installed.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("txrr is not installed: scripts/setup.sh installs it")
        pytest.skip("txrr is not installed (run scripts/setup.sh)")
    lines = [line.split() for line in result.stdout.splitlines()]
    assert any(parts and parts[0] == "rr" for parts in lines), result.stdout
