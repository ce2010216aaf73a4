"""The RPC port of the real server: the CLI (rr workers/reset), misuse, rolling reset under load."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Self

import pytest

from rr.errors import RPCError
from rr.goridge.frame import Flags, FrameDecoder
from rr.rpc.client import RPCClient, call
from rr.rpc.codec import encode_request
from tests.integration.conftest import PHP_DIR, REPO, free_port, worker_config

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.integration


def rr_cli(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "rr.cli.main", *args, "-c", str(server.path)],
        cwd=server.workdir, env=env, capture_output=True, text=True, timeout=60, check=False,
    )


def rpc_config(script: str = "fail.php", listen: str | None = None, **http: Any) -> dict[str, Any]:
    cfg = worker_config(script, **http)
    cfg["rpc"] = {"listen": listen or f"tcp://127.0.0.1:{free_port()}"}
    return cfg


def test_workers_and_reset_from_the_cli(rr_server: Any) -> None:
    """`rr workers` prints RoadRunner's table; `rr reset` is silent with -s and replaces every pid."""
    server = rr_server(rpc_config(pool={"num_workers": 2}))
    listen = server.config["rpc"]["listen"]
    before = {w["pid"] for w in call(listen, "informer.Workers", "http")["workers"]}
    out = rr_cli(server, "workers")
    assert out.returncode == 0, out.stderr
    assert "Workers of [http]:" in out.stdout
    for column in ("| PID ", "| STATUS ", "| EXECS ", "| MEMORY ", "| CPU% ", "| CREATED"):
        assert column in out.stdout
    for pid in before:
        assert f"| {pid} " in out.stdout
    assert "ready" in out.stdout

    quiet = rr_cli(server, "reset", "-s")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    after = {w["pid"] for w in call(listen, "informer.Workers", "http")["workers"]}
    assert len(after) == 2
    assert not before & after

    loud = rr_cli(server, "reset", "http")
    assert loud.returncode == 0
    assert "resetting plugin: [http]" in loud.stderr
    assert "plugin reset: [http]" in loud.stderr

    bad = rr_cli(server, "reset", "-s", "nope")
    assert bad.returncode == 1
    assert "no such plugin: nope" in bad.stderr
    assert server.get("/")[0] == 200


def test_cli_without_server_fails_on_stderr(rr_server: Any, tmp_path: Path) -> None:
    """No listener: rr reset exits 1 with Go's dial error on stderr and nothing on stdout."""
    cfg = tmp_path / "client.yaml"
    cfg.write_text(f'version: "3"\nrpc:\n  listen: tcp://127.0.0.1:{free_port()}\n')
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-m", "rr.cli.main", "reset", "-s", "-c", str(cfg)],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )
    assert out.returncode == 1
    assert out.stdout == ""
    assert "connect: connection refused" in out.stderr


def test_rpc_misuse_keeps_the_server_serving(rr_server: Any) -> None:
    """Garbage, unknown methods, wrong codecs and huge payloads: error replies or a closed
    connection, and HTTP and RPC keep working (faults.md case 32)."""
    server = rr_server(rpc_config("hello.php"))
    listen = server.config["rpc"]["listen"]
    host, port = listen.removeprefix("tcp://").rsplit(":", 1)

    with socket.create_connection((host, int(port))) as sock:  # garbage: closed, no reply
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(100) == b""

    with socket.create_connection((host, int(port))) as sock:  # 100 MB claimed: closed at once
        head6 = struct.pack("<BBI", 0x15, Flags.CODEC_JSON, 100 * 1024 * 1024)
        sock.sendall(head6 + struct.pack("<IBB", zlib.crc32(head6), 0, 0) + b"\0" * 8)
        sock.settimeout(5)
        assert sock.recv(100) == b""

    with RPCClient(listen, timeout=10) as client:  # recoverable errors on one connection
        with pytest.raises(RPCError, match=r"can't find service nope\.Call"):
            client.call("nope.Call", None)
        with pytest.raises(RPCError, match="gob codec"):
            client.call_raw("informer.List", b"", 0x20)
        with pytest.raises(RPCError, match="invalid JSON"):
            client.call_raw("informer.Workers", b"{oops")
        with pytest.raises(RPCError, match="proto codec"):
            client.call_raw("informer.Workers", b"http", Flags.CODEC_PROTO)
        assert client.call("rpc.Version", True) == "2025.1.0"  # noqa: FBT003

    with socket.create_connection((host, int(port))) as sock:  # pipelined calls, own seqs
        sock.sendall(b"".join(encode_request(100 + i, "informer.List", b"true") for i in range(5)))
        decoder, frames = FrameDecoder(), []
        sock.settimeout(5)
        while len(frames) < 5:
            frames += decoder.feed(sock.recv(65536))
        assert sorted(f.options[0] for f in frames) == [100, 101, 102, 103, 104]
        assert all(f.payload == b'informer.List["http"]' for f in frames)

    assert server.get("/")[:1] == (200,)
    assert server.proc.poll() is None


def test_unix_socket_listener_and_stale_file(rr_server: Any, tmp_path: Path) -> None:
    """rpc.listen=unix://rr.sock (relative to the config dir) works; a stale socket file is replaced."""
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(tmp_path / "rr.sock"))
    stale.close()
    server = rr_server(rpc_config("hello.php", listen="unix://rr.sock"))
    assert call(f"unix://{tmp_path / 'rr.sock'}", "informer.List", True) == ["http"]  # noqa: FBT003
    out = rr_cli(server, "workers", "http")
    assert "Workers of [http]:" in out.stdout


def test_non_loopback_rpc_logs_a_warning(rr_server: Any) -> None:
    """Binding RPC to all interfaces works but logs a warning at startup (faults.md case 33)."""
    port = free_port()
    server = rr_server(rpc_config("hello.php", listen=f"tcp://0.0.0.0:{port}"))
    assert call(f"tcp://0.0.0.0:{port}", "rpc.Version", None) == "2025.1.0"
    assert "reachable from other hosts" in server.logs()


def test_no_rpc_section_means_no_listener(rr_server: Any) -> None:
    """Without an rpc section the client commands say how to add one."""
    server = rr_server(worker_config("hello.php"))
    out = rr_cli(server, "workers")
    assert out.returncode == 1
    assert "rpc service not specified in the configuration" in out.stderr


class _Load:
    """Steady HTTP load from a few keep-alive clients; records every outcome."""

    def __init__(self, port: int, clients: int = 4) -> None:
        self.port = port
        self.ok = 0
        self.failures: list[str] = []
        self.pids: set[str] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self._stop.is_set():
            try:
                conn.request("GET", "/pid")
                resp = conn.getresponse()
                resp.read()
                outcome = resp.status
                pid = resp.getheader("X-Worker-Pid") or ""
            except (OSError, http.client.HTTPException) as exc:
                outcome, pid = -1, repr(exc)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            with self._lock:
                if outcome == 200:
                    self.ok += 1
                    self.pids.add(pid)
                else:
                    self.failures.append(f"{outcome} {pid}")
            time.sleep(0.01)
        conn.close()


def test_rolling_reset_under_load_fails_no_request(rr_server: Any) -> None:
    """Three `rr reset` runs under steady load: every request answered 200, every pid replaced
    (faults.md case 36)."""
    server = rr_server(rpc_config(pool={"num_workers": 4}))
    listen = server.config["rpc"]["listen"]
    original = {w["pid"] for w in call(listen, "informer.Workers", "http")["workers"]}
    with _Load(server.port) as load:
        time.sleep(0.5)
        for _ in range(3):
            out = rr_cli(server, "reset", "-s")
            assert (out.returncode, out.stderr) == (0, "")
            time.sleep(0.3)
    final = {w["pid"] for w in call(listen, "informer.Workers", "http")["workers"]}
    print(f"reset under load: {load.ok} requests, {len(load.failures)} failed")  # noqa: T201
    assert load.failures == []
    assert load.ok > 100
    assert len(final) == 4
    assert not original & final
    assert len(load.pids) > 8  # requests were served by old and new generations


def test_php_rpc_client_against_the_server(rr_server: Any) -> None:
    """Txrr\\RPC\\RPC from a real PHP script: replies, ServiceException texts, a reset, raw codec."""
    server = rr_server(rpc_config("hello.php"))
    listen = server.config["rpc"]["listen"]
    out = subprocess.run(
        ["php", str(PHP_DIR / "rpc_client.php"), listen],
        capture_output=True, text=True, timeout=60, check=True,
    )
    seen = json.loads(out.stdout)
    assert seen["version"] == "2025.1.0"
    assert seen["plugins"] == ["http"]
    assert len(seen["workers"]) == 2
    assert {"pid", "status", "numExecs", "created", "memoryUsage", "CPUPercent", "statusStr"} <= set(
        seen["workers"][0]
    )
    assert seen["unknown"] == f"Error 'rpc: can't find service nope.Call' on {listen}"
    assert seen["bad_reset"] == f"Error 'no such plugin: jobs' on {listen}"
    assert seen["reset"] is True
    assert not {w["pid"] for w in seen["workers"]} & {w["pid"] for w in seen["after"]}
    assert seen["config"]["rpc"]["listen"] == listen


def test_php_worker_calls_rpc_through_rr_rpc(rr_server: Any) -> None:
    """A worker reaches the RPC port through RR_RPC while it serves a request."""
    server = rr_server(rpc_config("rpc_worker.php"))
    status, _, body = server.get("/")
    assert status == 200, server.logs()
    reply = json.loads(body)
    assert reply["rr_rpc"] == server.config["rpc"]["listen"]
    assert reply["me"] in reply["pids"]
    assert len(reply["pids"]) == 2


def test_serve_pid_file_and_rr_stop(rr_server: Any) -> None:
    """`rr serve -p` writes .pid next to the config; `rr stop` SIGTERMs it and serve exits 0."""
    server = rr_server(rpc_config("hello.php"), "-p")
    assert (server.workdir / ".pid").read_text().strip() == str(server.proc.pid)
    out = rr_cli(server, "stop")
    assert out.returncode == 0
    assert f"stopping process with PID: {server.proc.pid}" in out.stderr
    assert server.proc.wait(30) == 0


def test_fifty_concurrent_resets(rr_server: Any) -> None:
    """50 resetter.Reset calls at once all answer true; the pool ends with num_workers new
    workers and keeps serving (faults.md case 32)."""
    server = rr_server(rpc_config("hello.php", pool={"num_workers": 2}))
    listen = server.config["rpc"]["listen"]
    before = {w["pid"] for w in call(listen, "informer.Workers", "http")["workers"]}
    with ThreadPoolExecutor(max_workers=50) as executor:
        results = list(executor.map(lambda _: call(listen, "resetter.Reset", "http", timeout=60),
                                    range(50)))
    assert results == [True] * 50
    after = {w["pid"] for w in call(listen, "informer.Workers", "http")["workers"]}
    assert len(after) == 2
    assert not before & after
    deadline = time.monotonic() + 10  # old workers exit after their stop frame
    while len(server.workers()) > 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert {p.pid for p in server.workers()} == after
    assert server.get("/")[0] == 200


def test_rpc_port_in_use_fails_the_start(rr_server: Any) -> None:
    """rpc.listen already taken: rr serve exits 1 naming rpc.listen (no SO_REUSEPORT sharing)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = rr_server(rpc_config("hello.php", listen=f"tcp://127.0.0.1:{port}"), wait=False)
        assert server.proc.wait(30) == 1
    assert f"rpc.listen tcp://127.0.0.1:{port}" in server.logs()
    assert "Address already in use" in server.logs()


def test_workers_interactive_redraws_until_sigint(rr_server: Any) -> None:
    """`rr workers -i` clears once, redraws the table every second, and exits 0 on SIGINT."""
    server = rr_server(rpc_config("hello.php"))
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    screen = server.workdir / "screen.txt"
    with screen.open("w") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rr.cli.main", "workers", "-i", "-c", str(server.path)],
            cwd=server.workdir, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True,
        )
    deadline = time.monotonic() + 20
    while screen.read_text().count("Workers of [http]:") < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    out = screen.read_text()
    assert out.startswith("\x1b[2J")
    assert out.count("Workers of [http]:") >= 2
    assert out.count("\x1b[H") >= 2
