"""Process lifecycle with real PHP: on_init, and no orphans when rr itself dies."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.integration.conftest import worker_config

pytestmark = pytest.mark.integration


def test_on_init_runs_before_workers(rr_server: Any, tmp_path: Path) -> None:
    """server.on_init runs once, before any worker, with its env."""
    marker = tmp_path / "init-ran"
    script = tmp_path / "init.sh"
    script.write_text(
        f'echo "$INIT_VALUE" > {marker}\n'
    )  # config values are env-expanded: use a file
    cfg = worker_config("hello.php")
    cfg["server"]["on_init"] = {
        "command": ["sh", str(script)],
        "env": {"init_value": "warmed"},
    }
    server = rr_server(cfg)
    assert marker.read_text().strip() == "warmed"
    assert server.get("/")[0] == 200


def test_on_init_failure_with_exit_on_error(rr_server: Any) -> None:
    """A failing on_init with exit_on_error stops rr from starting."""
    cfg = worker_config("hello.php")
    cfg["server"]["on_init"] = {"command": "false", "exit_on_error": True}
    server = rr_server(cfg, wait=False)
    assert server.proc.wait(60) != 0
    assert "on_init" in server.logs()


def test_workers_exit_when_rr_is_killed(rr_server: Any) -> None:
    """SIGKILL of rr closes the workers' stdin; every PHP worker exits by itself."""
    server = rr_server(worker_config("hello.php", pool={"num_workers": 3}))
    kids = server.workers()
    assert len(kids) == 3
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    deadline = time.monotonic() + 10
    alive = kids
    while alive and time.monotonic() < deadline:
        alive = [k for k in alive if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.05)
    assert not alive, [k.pid for k in alive]
