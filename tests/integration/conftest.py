"""Start the real `rr serve` with real PHP workers on a free port, and always stop it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PHP_DIR = REPO / "tests" / "php"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_php() -> None:
    if shutil.which("php") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("php is not installed (scripts/setup.sh installs it)")
        pytest.skip("php is not installed: run scripts/setup.sh")


class RRServer:
    """A running `rr serve` process."""

    def __init__(
        self, workdir: Path, config: dict[str, Any], args: list[str], env: dict[str, str]
    ) -> None:
        self.workdir = workdir
        self.config = config
        self.port = free_port()
        http = config.setdefault("http", {})
        http.setdefault("address", f"127.0.0.1:{self.port}")
        self.path = workdir / ".rr.yaml"
        self.path.write_text(yaml.safe_dump(config))
        self.log_path = workdir / "rr.log"
        self.out_path = workdir / "rr.out"
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = str(REPO)
        full_env.update(env)
        self._log = self.log_path.open("wb")
        self._out = self.out_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rr.cli.main", "serve", "-c", str(self.path), *args],
            cwd=workdir,
            env=full_env,
            stdout=self._out,
            stderr=self._log,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"rr exited with {self.proc.returncode}:\n{self.logs()}")
            if "RoadRunner server started" in self.out_path.read_text(errors="replace"):
                return
            time.sleep(0.05)
        raise AssertionError(f"rr did not start in {timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") + self.out_path.read_text(errors="replace")

    def workers(self) -> list[psutil.Process]:
        """Live PHP worker processes of this server."""
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]

    def get(self, path: str, **kw: Any) -> tuple[int, dict[str, str], bytes]:
        return request(self.url + path, **kw)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self._out.close()
        return self.proc.returncode


def request(
    url: str,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()


def worker_config(script: str, **http: Any) -> dict[str, Any]:
    """A minimal config serving tests/php/<script>."""
    pool = http.pop("pool", {})
    pool.setdefault("num_workers", 2)
    cfg: dict[str, Any] = {
        "version": "3",
        "server": {"command": f"php {PHP_DIR / script}"},
        "http": {"pool": pool, **http},
        "logs": {"mode": "production", "level": "debug"},
    }
    return cfg


@pytest.fixture
def rr_server(tmp_path: Path) -> Iterator[Any]:
    """Factory: rr_server(config, *args, env=...) starts a server and waits for it."""
    require_php()
    started: list[RRServer] = []

    def start(
        config: dict[str, Any], *args: str, env: dict[str, str] | None = None, wait: bool = True
    ) -> RRServer:
        server = RRServer(tmp_path, config, list(args), env or {})
        started.append(server)
        if wait:
            server.wait_ready()
        return server

    yield start
    for server in started:
        kids = server.workers()
        server.stop()
        deadline = time.monotonic() + 15
        alive = kids
        while alive and time.monotonic() < deadline:
            alive = [k for k in alive if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]
            time.sleep(0.05)
        for k in alive:
            k.kill()
        assert not alive, f"orphan PHP workers left: {[k.pid for k in alive]}"


def json_body(body: bytes) -> Any:
    return json.loads(body)
