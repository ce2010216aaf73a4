"""CI smoke of the benchmark script: it must run end to end and print its table.

Benchmarks are not tests: nothing here asserts a speed, only that the harness still starts
nginx + php-fpm and txrr, drives them, and reports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = ("php", "wrk", "h2load")


def _missing() -> list[str]:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not (Path("/usr/sbin/nginx").exists() or shutil.which("nginx")):
        missing.append("nginx")
    if not any(Path("/usr/sbin", f"php-fpm{v}").exists() for v in ("", "8.1", "8.2", "8.3")):
        missing.append("php-fpm")
    if not Path("/usr/share/php/Slim/App.php").exists():
        missing.append("php-slim")
    return missing


def test_smoke_prints_table(tmp_path: Path) -> None:
    """`bench/run.py --smoke` serves every app from fpm and txrr and prints the ratio table."""
    missing = _missing()
    if missing:
        msg = f"benchmark tools missing: {', '.join(missing)} (scripts/setup.sh installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    out_json = tmp_path / "results.json"
    proc = subprocess.run(
        [
            sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--duration", "1",
            "--connections", "32", "--json", str(out_json), "--no-install",
        ],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ratio/fpm4 per round" in proc.stdout
    for app in ("hello", "framework", "slim"):
        for server in ("fpm2", "fpm4", "txrr-json", "txrr-proto"):
            assert any(
                line.startswith(app) and f" {server} " in line and "h1 c32" in line
                for line in proc.stdout.splitlines()
            ), f"no {app}/{server} row:\n{proc.stdout}"
    results = json.loads(out_json.read_text())
    assert set(results["apps"]) == {"hello", "framework", "slim"}
    for app in results["apps"].values():
        for runs in app["runs"].values():
            for run in runs:
                assert run["rps"] > 0
                assert run["errors"] == 0
    fw_boot = results["apps"]["framework"]["boot_us"]["fpm4"]
    assert fw_boot is not None
    assert fw_boot > 0
