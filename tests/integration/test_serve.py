"""The real server, real PHP workers, real sockets: the core HTTP/1.1 slice end to end."""

from __future__ import annotations

import hashlib
import http.client
import json
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import PHP_DIR, request, worker_config

pytestmark = pytest.mark.integration


def test_hello(rr_server: Any) -> None:
    """A RoadRunner-style worker answers over HTTP/1.1."""
    server = rr_server(worker_config("hello.php"))
    status, headers, body = server.get("/")
    assert (status, body) == (200, b"Hello, World!")
    assert headers["Content-Type"] == "text/plain"
    assert "Date" in headers


@pytest.mark.parametrize("codec", ["json", "proto"])
def test_full_echo(rr_server: Any, codec: str, tmp_path: Path) -> None:
    """Method, uri, headers, cookies, query, form, uploads and remote address reach PHP in both codecs."""
    server = rr_server(worker_config("echo.php", codec=codec, uploads={"dir": str(tmp_path)}))
    upload = tmp_path / "photo.png"
    upload.write_bytes(b"\x89PNG" + bytes(range(256)) * 40)
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "-X",
            "POST",
            f"{server.url}/upload/x%20y?lang=en&tags[]=a&tags[]=b",
            "-H",
            "X-Custom: one",
            "-H",
            "X-Custom: two",
            "-b",
            "session=abc%20123; theme=dark",
            "-F",
            "title=Holiday",
            "-F",
            "meta[author]=Ann",
            "-F",
            f"avatar=@{upload};type=image/png",
            "-F",
            f"docs[]=@{upload};filename=a.txt;type=text/plain",
        ],
        capture_output=True,
        check=True,
        timeout=30,
    )
    data = json.loads(out.stdout)
    assert data["method"] == "POST"
    assert data["uri"] == f"{server.url}/upload/x%20y?lang=en&tags%5B%5D=a&tags%5B%5D=b" or data[
        "uri"
    ].startswith(f"{server.url}/upload/x%20y?lang=en")
    assert data["headers"]["X-Custom"] == ["one", "two"]
    assert "Host" not in data["headers"]
    assert data["cookies"] == {"session": "abc 123", "theme": "dark"}
    assert data["query"] == {"lang": "en", "tags": ["a", "b"]}
    assert data["parsedBody"] == {"title": "Holiday", "meta": {"author": "Ann"}}
    assert data["server"]["REMOTE_ADDR"] == "127.0.0.1"
    sha = hashlib.sha1(upload.read_bytes()).hexdigest()  # noqa: S324
    assert data["uploads"]["avatar"]["name"] == "photo.png"
    assert data["uploads"]["avatar"]["mime"] == "image/png"
    assert data["uploads"]["avatar"]["size"] == upload.stat().st_size
    assert data["uploads"]["avatar"]["sha1"] == sha
    assert data["uploads"]["docs"][0]["name"] == "a.txt"
    assert data["uploads"]["docs"][0]["sha1"] == sha
    time.sleep(0.2)
    assert not list(tmp_path.glob("upload*")), (
        "upload temp files must be deleted after the response"
    )


@pytest.mark.parametrize("codec", ["json", "proto"])
def test_urlencoded_form_and_json_body(rr_server: Any, codec: str) -> None:
    """url-encoded forms become the PHP bracket tree; JSON bodies stay raw."""
    server = rr_server(worker_config("echo.php", codec=codec))
    _, _, body = server.get(
        "/f",
        method="POST",
        data=b"a[b][]=1&a[b][]=2&c=x+y",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    data = json.loads(body)
    assert data["parsedBody"] == {"a": {"b": ["1", "2"]}, "c": "x y"}
    _, _, body = server.get(
        "/j", method="PUT", data=b'{"k":1}', headers={"Content-Type": "application/json"}
    )
    data = json.loads(body)
    assert data["body"] == '{"k":1}'


def test_sequential_and_concurrent(rr_server: Any) -> None:
    """1,000 sequential keep-alive requests and 200 concurrent ones are all answered correctly."""
    server = rr_server(worker_config("fail.php", pool={"num_workers": 4}))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    for i in range(1000):
        conn.request("GET", f"/x?i={i}")
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b"ok")
    conn.close()

    def one(i: int) -> tuple[int, bytes]:
        status, _, body = server.get(f"/slow?ms=5&i={i}")
        return status, body

    with ThreadPoolExecutor(max_workers=50) as ex:
        results = list(ex.map(one, range(200)))
    assert results == [(200, b"slept")] * 200


def test_worker_exception_gives_internal_error_code(rr_server: Any) -> None:
    """A PHP exception reported with Worker::error() answers internal_error_code; serving goes on."""
    server = rr_server(worker_config("fail.php", internal_error_code=502))
    status, _, body = server.get("/throw")
    assert status == 502
    assert b"thrown on purpose" not in body
    assert server.get("/")[0] == 200


def test_worker_exit_mid_request(rr_server: Any) -> None:
    """A worker dying mid-request yields one error response, and the pool refills."""
    server = rr_server(worker_config("fail.php", pool={"num_workers": 1}))
    before = server.get("/pid")[2]
    assert server.get("/exit")[0] == 500
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, _, after = server.get("/pid")
        if status == 200:
            break
    assert status == 200 and after != before
    assert "exited" in server.logs()


def test_stray_stdout_is_reported(rr_server: Any) -> None:
    """A worker printing to STDOUT before the loop fails to boot with a message naming STDERR."""
    server = rr_server(worker_config("stdout.php"), wait=False)
    server.proc.wait(60)
    assert server.proc.returncode != 0
    logs = server.logs()
    assert "garbage before the worker" in logs
    assert "STDERR" in logs


def test_exec_ttl(rr_server: Any) -> None:
    """A request over exec_ttl gets internal_error_code and the worker is replaced."""
    server = rr_server(
        worker_config("fail.php", pool={"num_workers": 1, "supervisor": {"exec_ttl": "1s"}})
    )
    pid = server.get("/pid")[2]
    started = time.monotonic()
    assert server.get("/slow?ms=5000")[0] == 500
    assert time.monotonic() - started < 4
    deadline = time.monotonic() + 10
    status, new = 0, pid
    while time.monotonic() < deadline and status != 200:
        status, _, new = server.get("/pid")
    assert status == 200 and new != pid
    assert "exec_ttl" in server.logs()


def test_max_jobs_recycles(rr_server: Any) -> None:
    """max_jobs replaces the worker after its requests."""
    server = rr_server(worker_config("fail.php", pool={"num_workers": 1, "max_jobs": 3}))
    pids = {server.get("/pid")[2] for _ in range(12)}
    assert len(pids) >= 3


def test_sigterm_lets_slow_requests_finish(rr_server: Any) -> None:
    """SIGTERM with slow requests in flight: every one completes, rr exits 0, no PHP left behind."""
    server = rr_server(worker_config("fail.php", pool={"num_workers": 4}))
    with ThreadPoolExecutor(max_workers=4) as ex:
        futures = [ex.submit(server.get, "/slow?ms=1500") for _ in range(4)]
        time.sleep(0.5)
        kids = server.workers()
        server.proc.send_signal(signal.SIGTERM)
        results = [f.result() for f in futures]
    assert [(s, b) for s, _, b in results] == [(200, b"slept")] * 4
    assert server.proc.wait(30) == 0
    time.sleep(0.5)
    assert not [k for k in kids if k.is_running() and k.status() != "zombie"]


def test_overrides_and_env_defaults(rr_server: Any) -> None:
    """-o overrides win over the file, and ${VAR:-default} expands."""
    cfg = worker_config("hello.php", pool={"num_workers": "${RR_TEST_WORKERS:-3}"})
    server = rr_server(cfg, "-o", "http.pool.num_workers=2", env={"RR_TEST_WORKERS": ""})
    assert server.get("/")[0] == 200
    assert len(server.workers()) == 2
    cfg2 = worker_config("hello.php", pool={"num_workers": "${RR_TEST_WORKERS:-3}"})
    server2 = rr_server(cfg2, env={})
    assert len(server2.workers()) == 3


def test_socket_relays(rr_server: Any, tmp_path: Path) -> None:
    """Workers can talk over tcp:// and unix:// relays instead of pipes."""
    from tests.integration.conftest import free_port

    cfg = worker_config("hello.php")
    cfg["server"]["relay"] = f"tcp://127.0.0.1:{free_port()}"
    assert rr_server(cfg).get("/")[2] == b"Hello, World!"
    cfg = worker_config("hello.php")
    cfg["server"]["relay"] = f"unix://{tmp_path / 'relay.sock'}"
    assert rr_server(cfg).get("/")[2] == b"Hello, World!"


def test_boot_failure_exits_nonzero(rr_server: Any) -> None:
    """A worker that dies at boot stops rr with a clear error and a non-zero exit."""
    server = rr_server(worker_config("bootfail.php"), wait=False)
    assert server.proc.wait(60) != 0
    assert "boot failed" in server.logs()


def test_twistd_plugin_serves(tmp_path: Path) -> None:
    """`twistd -n rr -c .rr.yaml` serves the same app."""
    import os
    import sys

    from tests.integration.conftest import REPO, free_port, require_php

    require_php()
    port = free_port()
    cfg = tmp_path / ".rr.yaml"
    cfg.write_text(
        "version: '3'\n"
        f"server: {{command: 'php {PHP_DIR / 'hello.php'}'}}\n"
        f"http: {{address: '127.0.0.1:{port}', pool: {{num_workers: 1}}}}\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "twistd"), "-n", "--pidfile=", "rr", "-c", str(cfg)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        status = 0
        while time.monotonic() < deadline:
            try:
                status, _, body = request(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200 and body == b"Hello, World!"
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
    # twistd re-raises the signal it stopped on, after a graceful shutdown.
    assert proc.returncode in (0, -signal.SIGTERM), out.decode(errors="replace")
    assert b"Server Shut Down" in out
