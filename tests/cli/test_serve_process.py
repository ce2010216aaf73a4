"""rr serve in a real process: signals reach the runner and Twisted still reaps children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("serve_driver.py")


def start(mode: str, tmp_path: Path) -> tuple[subprocess.Popen[str], threading.Timer]:
    config = tmp_path / ".rr.yaml"
    config.write_text("")
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), mode, str(config)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    guard = threading.Timer(30, proc.kill)  # a hang ends the test instead of blocking it
    guard.start()
    return proc, guard


def read_until(proc: subprocess.Popen[str], wanted: str) -> list[str]:
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith(wanted):
            return lines
    pytest.fail(f"never saw {wanted!r}; got {lines}; stderr: {proc.stderr.read() if proc.stderr else ''}")


def test_sigterm_graceful_stop_and_child_reaping(tmp_path: Path) -> None:
    """Children are reaped under our handlers; SIGTERM stops gracefully with exit 0."""
    proc, guard = start("ok", tmp_path)
    try:
        lines = read_until(proc, "[INFO] RoadRunner server started")
        assert "sigchld handled: True" in lines
        assert "sigterm handler: install_signal_handlers.<locals>.handler" in lines
        assert "child reaped: 3" in lines
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        guard.cancel()
        proc.kill()
    assert out.splitlines() == ["stop signal received, grace timeout is: 30 seconds",
                                "stopService"]
    assert err == ""
    assert proc.returncode == 0


def test_second_signal_forces_exit_and_kills_workers(tmp_path: Path) -> None:
    """SIGINT then SIGTERM: `exit forced`, workers killed, exit 1 without waiting."""
    proc, guard = start("hang", tmp_path)
    try:
        read_until(proc, "[INFO] RoadRunner server started")
        proc.send_signal(signal.SIGINT)
        read_until(proc, "stopService")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        guard.cancel()
        proc.kill()
    assert out.splitlines() == ["exit forced", "killed"]
    assert proc.returncode == 1
