"""rr.reuseport: N `rr serve` reactors share one port through SO_REUSEPORT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psutil
import yaml

from tests.integration.conftest import PHP_DIR, REPO, free_port, request, require_php


def test_two_reactors_share_the_port(tmp_path: Path) -> None:
    """Both reactor processes accept connections on the one port, each with its own pool,
    and SIGTERM to the launcher stops them all."""
    require_php()
    port = free_port()
    config = {
        "version": "3",
        "server": {"command": f"php {PHP_DIR / 'echo.php'}"},
        "http": {"address": f"127.0.0.1:{port}", "pool": {"num_workers": 1}},
        "logs": {"mode": "production", "level": "error"},
    }
    (tmp_path / ".rr.yaml").write_text(yaml.safe_dump(config))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = (tmp_path / "out").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rr.reuseport", "-n", "2", "-c", ".rr.yaml"],
        cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        log = tmp_path / "out"
        while log.read_text(errors="replace").count("RoadRunner server started") < 2:
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.05)
        reactors = psutil.Process(proc.pid).children()
        assert len(reactors) == 2
        pids = set()
        for _ in range(60):  # a new connection each time: the kernel spreads them
            status, _, body = request(f"http://127.0.0.1:{port}/x")
            assert status == 200
            pids.add(orjson.loads(body)["pid"])
            if len(pids) == 2:
                break
        assert len(pids) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            out.close()
    assert code == 0
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in reactors)
