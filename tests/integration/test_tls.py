"""HTTPS end to end: the real server, real PHP workers, curl and Python's ssl module as clients."""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import trustme

from tests.integration.conftest import free_port, worker_config

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.integration


@dataclass
class Certs:
    ca: str
    cert: str
    key: str
    client_cert: str  # cert + key of a client issued by the same CA
    foreign_cert: str  # cert + key of a client issued by another CA


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    paths = {name: tmp_path / name for name in ("ca.pem", "cert.pem", "key.pem", "c.pem", "f.pem")}
    ca.cert_pem.write_to_path(str(paths["ca.pem"]))
    leaf.private_key_pem.write_to_path(str(paths["key.pem"]))
    for i, blob in enumerate(leaf.cert_chain_pems):
        blob.write_to_path(str(paths["cert.pem"]), append=i > 0)
    ca.issue_cert("client@example.com").private_key_and_cert_chain_pem.write_to_path(
        str(paths["c.pem"])
    )
    trustme.CA().issue_cert("intruder@example.com").private_key_and_cert_chain_pem.write_to_path(
        str(paths["f.pem"])
    )
    return Certs(*(str(paths[n]) for n in ("ca.pem", "cert.pem", "key.pem", "c.pem", "f.pem")))


def require_curl() -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")


def tls_config(certs: Certs, port: int, **ssl_keys: Any) -> dict[str, Any]:
    config = worker_config("echo.php", pool={"num_workers": 1})
    config["http"]["ssl"] = {
        "address": f"127.0.0.1:{port}",
        "cert": certs.cert,
        "key": certs.key,
        **ssl_keys,
    }
    return config


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "--max-time", "20", *args], capture_output=True, text=True, check=False
    )


def test_https_and_redirect(rr_server: Any, certs: Certs) -> None:
    """curl gets PHP's answer over HTTPS with an https URI; the plain port answers 308 + HSTS."""
    require_curl()
    port = free_port()
    config = tls_config(certs, port, redirect=True)
    config["http"]["limits"] = {"read_header_timeout": "1s"}
    server = rr_server(config)
    base = f"https://127.0.0.1:{port}"
    out = curl("--cacert", certs.ca, f"{base}/hello?x=1", "-w", "\n%{http_version}")
    assert out.returncode == 0, out.stderr
    body, version = out.stdout.rsplit("\n", 1)
    echoed = json.loads(body)
    assert echoed["uri"] == f"{base}/hello?x=1"
    assert echoed["method"] == "GET"
    assert version in ("1.1", "2")

    plain = curl("-i", f"{server.url}/a/b?c=d")
    assert plain.returncode == 0, plain.stderr
    head = plain.stdout.lower()
    assert head.startswith("http/1.1 308 permanent redirect")
    assert f"location: https://127.0.0.1:{port}/a/b?c=d\n" in head
    assert "strict-transport-security: max-age=31536000; includesubdomains; preload" in head

    followed = curl("-L", "--cacert", certs.ca, f"{server.url}/followed")
    assert followed.returncode == 0, followed.stderr
    assert json.loads(followed.stdout)["uri"] == f"{base}/followed"

    # TLS 1.1 is refused by the server (a protocol_version alert, not a local refusal).
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(certs.ca)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deprecated on purpose
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION"):
        get(port, old)
    # A client that stalls in the handshake is dropped by the header deadline.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"\x16\x03\x01")  # the start of a ClientHello record, then nothing
        started = time.monotonic()
        with contextlib.suppress(ConnectionResetError):  # a reset is a close too
            assert raw.recv(1024) == b""
        assert 0.5 < time.monotonic() - started < 5  # the 1 s deadline, not an instant error
    assert server.proc.poll() is None


def get(port: int, context: ssl.SSLContext) -> tuple[int, bytes]:
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=20)
    try:
        conn.request("GET", "/mtls")
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def client_context(certs: Certs, cert: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certs.ca)
    if cert is not None:
        context.load_cert_chain(cert)
    return context


def test_mtls(rr_server: Any, certs: Certs) -> None:
    """require_and_verify_client_cert: root_ca's client passes; no cert or another CA's cert fails."""
    port = free_port()
    server = rr_server(
        tls_config(certs, port, root_ca=certs.ca, client_auth_type="require_and_verify_client_cert")
    )
    status, body = get(port, client_context(certs, certs.client_cert))
    assert status == 200
    assert json.loads(body)["uri"] == f"https://127.0.0.1:{port}/mtls"
    for cert in (None, certs.foreign_cert):
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
            get(port, client_context(certs, cert))
    # the server keeps serving after refusing clients
    assert get(port, client_context(certs, certs.client_cert))[0] == 200
    assert server.proc.poll() is None


@pytest.mark.parametrize("problem", ["missing", "mismatch"])
def test_bad_key_stops_startup(rr_server: Any, certs: Certs, tmp_path: Path, problem: str) -> None:
    """A missing or mismatched key makes rr exit non-zero naming http.ssl.key, before PHP starts."""
    if problem == "missing":
        key = str(tmp_path / "nope.key")
        expected = "No such file"
    else:
        key = str(tmp_path / "other.key")
        trustme.CA().issue_cert("other").private_key_pem.write_to_path(key)
        expected = "does not match the certificate"
    config = tls_config(certs, free_port())
    config["http"]["ssl"]["key"] = key
    server = rr_server(config, wait=False)
    assert server.proc.wait(30) != 0
    logs = server.logs()
    assert "http.ssl.key" in logs
    assert expected in logs


def test_acme_stops_startup(rr_server: Any) -> None:
    """http.ssl.acme is accepted by the loader but refused at startup, pointing at certbot."""
    config = worker_config("hello.php", pool={"num_workers": 1})
    config["http"]["ssl"] = {"acme": {"email": "ops@example.com", "domains": ["example.com"]}}
    server = rr_server(config, wait=False)
    assert server.proc.wait(30) != 0
    logs = server.logs()
    assert "http.ssl.acme" in logs
    assert "certbot" in logs
