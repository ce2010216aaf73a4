"""Client limits end to end: a 413 the client really reads, a stalled reader dropped."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import TYPE_CHECKING, Any

from tests.integration.conftest import worker_config
from tests.integration.test_middleware import require_curl

if TYPE_CHECKING:
    from pathlib import Path


def test_413_reaches_curl(rr_server: Any, tmp_path: Path) -> None:
    """An 8 MiB upload over max_request_size (1 MiB) gets a 413 that curl receives
    (not a connection reset), and the server keeps serving."""
    require_curl()
    server = rr_server(worker_config("hello.php", max_request_size=1))
    upload = tmp_path / "upload.bin"
    upload.write_bytes(b"x" * (8 << 20))
    done = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20",
         "-H", "Expect:", "--data-binary", f"@{upload}", server.url + "/"],
        capture_output=True, text=True, check=False,
    )
    assert done.stdout == "413", (done.stdout, done.stderr)
    assert server.get("/")[0] == 200


def test_stalled_reader_dropped(rr_server: Any, tmp_path: Path) -> None:
    """A client that requests a 64 MiB static file and reads nothing is disconnected
    after http.limits.write_timeout (1s), long before the file is sent."""
    public = tmp_path / "public"
    public.mkdir()
    (public / "big.bin").write_bytes(b"z" * (64 << 20))
    server = rr_server(worker_config(
        "hello.php", middleware=["static"], static={"dir": "public"},
        limits={"write_timeout": "1s"},
    ))
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(3)
        sock.settimeout(10)
        received = 0
        try:
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            pass
    assert received < 32 << 20
    assert server.get("/")[0] == 200
