"""Middleware and access logs end to end: real `rr serve`, real PHP workers, curl."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.conftest import worker_config

if TYPE_CHECKING:
    from pathlib import Path


def require_curl() -> None:
    if shutil.which("curl") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("curl is not installed (scripts/setup.sh installs it)")
        pytest.skip("curl is not installed")


def curl(url: str, *args: str) -> tuple[int, dict[str, list[str]], bytes]:
    """Run curl; return status, headers (lower-case names) and the body."""
    done = subprocess.run(
        ["curl", "-s", "-D", "-", "--max-time", "20", *args, url],
        capture_output=True, check=True,
    )
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(lines[0].split()[1]), headers, body


def setup_site(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (public / "style.css").write_bytes(b"body{}")
    (public / "index.php").write_bytes(b"<?php echo 'source';")
    (public / ".env").write_bytes(b"SECRET=1")
    (tmp_path / "storage").mkdir()
    (tmp_path / "storage" / "report.bin").write_bytes(bytes(range(256)) * 1000)


def mw_config(**http: Any) -> dict[str, Any]:
    config = worker_config("middleware.php", **http)
    config["logs"] = {"mode": "production", "level": "info"}
    return config


def test_static_headers_gzip_sendfile(rr_server: Any, tmp_path: Path) -> None:
    """One server with static, headers (CORS), gzip and sendfile: files with ETag, Range
    and 304; .php and dotfiles never served; preflight answered without PHP; curl
    --compressed decodes gzip (whole and streamed); X-Sendfile sends the file."""
    require_curl()
    setup_site(tmp_path)
    server = rr_server(mw_config(
        middleware=["sendfile", "static", "headers", "gzip"],
        static={"dir": "public", "calculate_etag": True},
        headers={"response": {"X-Served-By": "txrr"},
                 "cors": {"allowed_origin": "https://*.example.com", "max_age": 60}},
        pool={"num_workers": 1},
    ))
    url = server.url
    status, headers, body = curl(url + "/style.css")
    assert (status, body) == (200, b"body{}")
    assert headers["etag"] == ['"6-4112014896"']
    assert headers["x-served-by"] == ["txrr"]
    status, headers, body = curl(url + "/style.css", "-H", "Range: bytes=1-3")
    assert (status, body, headers["content-range"]) == (206, b"ody", ["bytes 1-3/6"])
    status, _, body = curl(url + "/style.css", "-H", 'If-None-Match: "6-4112014896"')
    assert (status, body) == (304, b"")
    assert curl(url + "/index.php")[2] == b"php:/index.php"
    assert curl(url + "/.env")[2] == b"php:/.env"
    assert curl(url + "/x/../style.css", "--path-as-is")[0] == 403

    status, headers, body = curl(
        url + "/api", "-X", "OPTIONS", "-H", "Origin: https://app.example.com",
        "-H", "Access-Control-Request-Method: POST",
        "-H", "Access-Control-Request-Headers: content-type",
    )
    assert (status, body) == (200, b"")
    assert headers["access-control-allow-origin"] == ["https://app.example.com"]
    assert headers["access-control-allow-methods"] == ["POST"]
    assert headers["access-control-max-age"] == ["60"]
    status, headers, body = curl(url + "/api", "-H", "Origin: https://app.example.com")
    assert body == b"php:/api"
    assert headers["access-control-allow-origin"] == ["https://app.example.com"]

    status, headers, body = curl(url + "/big", "--compressed")
    assert headers["content-encoding"] == ["gzip"]
    assert body == b"abcd" * 1000
    _, headers, body = curl(url + "/stream", "-H", "Accept-Encoding: gzip")
    assert headers["content-encoding"] == ["gzip"]
    assert gzip.decompress(body) == b"0" * 2000 + b"1" * 2000 + b"2" * 2000

    status, headers, body = curl(url + "/sendfile?file=storage/report.bin")
    assert status == 200
    assert body == bytes(range(256)) * 1000
    assert headers["content-type"] == ["application/octet-stream"]
    assert "x-sendfile" not in headers
    assert curl(url + "/sendfile?file=/etc/passwd")[0] == 403
    assert curl(url + "/sendfile?file=storage/missing")[0] == 404


def access_lines(server: Any, message: str) -> list[dict[str, Any]]:
    lines = []
    for line in server.logs().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("msg") == message:
                lines.append(record)
    return lines


def wait_for(predicate: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def test_proxy_ip_and_access_log(rr_server: Any) -> None:
    """X-Forwarded-For from a trusted peer (127.0.0.0/8) sets the worker's remote address,
    walking right to left; the JSON 'http log' line shows it with Octane's fields."""
    require_curl()
    server = rr_server(mw_config(
        middleware=["proxy_ip_parser"], trusted_subnets=["127.0.0.0/8"],
        pool={"num_workers": 1},
    ))
    _, _, body = curl(server.url + "/remote", "-H", "X-Forwarded-For: 6.6.6.6, 203.0.113.9")
    assert body == b"203.0.113.9"
    assert curl(server.url + "/remote", "-H", "X-Real-IP: nonsense")[2] == b"127.0.0.1"
    records = wait_for(lambda: access_lines(server, "http log"))
    record = records[0]
    assert record["logger"] == "http"
    assert record["level"] == "info"
    assert (record["method"], record["URI"], record["status"]) == ("GET", "/remote", 200)
    assert record["remote_address"] == "203.0.113.9"
    assert isinstance(record["elapsed"], int)


def test_untrusted_peer_and_access_logs_mode(rr_server: Any) -> None:
    """Forwarding headers from an untrusted peer are ignored; access_logs: true logs
    'http access log' with the peer's ip:port."""
    require_curl()
    server = rr_server(mw_config(
        middleware=["proxy_ip_parser"], trusted_subnets=["10.0.0.0/8"], access_logs=True,
        pool={"num_workers": 1},
    ))
    _, _, body = curl(server.url + "/remote?a=1", "-H", "X-Forwarded-For: 203.0.113.9",
                      "-A", "tester/1")
    assert body == b"127.0.0.1"
    record = wait_for(lambda: access_lines(server, "http access log"))[0]
    assert record["remote_address"].startswith("127.0.0.1:")
    assert (record["query"], record["user_agent"]) == ("a=1", "tester/1")
