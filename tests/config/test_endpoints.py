"""RoadRunner addresses to Twisted endpoint descriptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from twisted.internet.endpoints import (
    TCP4ServerEndpoint,
    TCP6ServerEndpoint,
    UNIXServerEndpoint,
    serverFromString,
)
from twisted.internet.testing import MemoryReactor

from rr.config import parse_host_port, to_endpoint
from rr.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("address", "endpoint"),
    [
        ("0.0.0.0:8080", "tcp:8080:interface=0.0.0.0"),
        ("127.0.0.1:6001", "tcp:6001:interface=127.0.0.1"),
        ("tcp://127.0.0.1:6001", "tcp:6001:interface=127.0.0.1"),
        ("TCP://127.0.0.1:6001", "tcp:6001:interface=127.0.0.1"),
        (":8080", "tcp:8080:interface=0.0.0.0"),
        ("tcp://:6001", "tcp:6001:interface=0.0.0.0"),
        ("localhost:80", "tcp:80:interface=localhost"),
        ("[::1]:8080", "tcp6:8080:interface=\\:\\:1"),
        ("tcp://[::]:6001", "tcp6:6001:interface=\\:\\:"),
        ("unix:///run/rr.sock", "unix:/run/rr.sock"),
        ("127.0.0.1:0", "tcp:0:interface=127.0.0.1"),
    ],
)
def test_rr_addresses(address: str, endpoint: str) -> None:
    """host:port, tcp:// and absolute unix:// addresses become Twisted descriptions."""
    assert to_endpoint(address, path="http.address") == endpoint


def test_relative_unix_socket_is_resolved_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """unix://rel.sock is relative to the working directory (the config dir at runtime)."""
    monkeypatch.chdir(tmp_path)
    assert to_endpoint("unix://rel.sock", path="rpc.listen") == f"unix:{tmp_path}/rel.sock"
    assert to_endpoint("unix://var/../rr.sock", path="x") == f"unix:{tmp_path}/rr.sock"


@pytest.mark.parametrize(
    "raw",
    [
        "tcp:8080:interface=127.0.0.1",
        "tcp6:8080:interface=\\:\\:1",
        "unix:/run/rr.sock:mode=660",
        "ssl:443:privateKey=key.pem:certKey=cert.pem",
        "systemd:domain=INET:index=0",
    ],
)
def test_raw_twisted_descriptions_pass_through(raw: str) -> None:
    """Descriptions already in Twisted syntax are used as written."""
    assert to_endpoint(raw, path="http.address") == raw


@pytest.mark.parametrize(
    "address",
    [
        "",
        "8080",
        "::1:8080",
        "[::1]8080",
        "[::1:8080",
        "[nothost]:80",
        "1.2.3.4:99999",
        "1.2.3.4:http",
        "1.2.3.4:",
        "http://1.2.3.4:80",
        "unix://",
        "bad host:80",
    ],
)
def test_bad_addresses_name_the_path(address: str) -> None:
    """Unusable addresses raise ConfigError naming the config path."""
    with pytest.raises(ConfigError) as caught:
        to_endpoint(address, path="http.address")
    assert [path for path, _ in caught.value.problems] == ["http.address"]


def test_descriptions_parse_in_twisted(tmp_path: Path) -> None:
    """Twisted's serverFromString accepts what we produce, with the intended interface."""
    reactor = MemoryReactor()
    tcp = serverFromString(reactor, to_endpoint(":8080", path="x"))
    assert isinstance(tcp, TCP4ServerEndpoint)
    assert (tcp._port, tcp._interface) == (8080, "0.0.0.0")
    tcp6 = serverFromString(reactor, to_endpoint("[::1]:8080", path="x"))
    assert isinstance(tcp6, TCP6ServerEndpoint)
    assert tcp6._interface == "::1"
    sock = str(tmp_path / "a:b.sock")
    unix = serverFromString(reactor, to_endpoint(f"unix://{sock}", path="x"))
    assert isinstance(unix, UNIXServerEndpoint)
    assert unix._address == sock


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("tcp://127.0.0.1:6001", ("127.0.0.1", 6001)),
        ("tcp://:6001", ("127.0.0.1", 6001)),
        ("tcp://0.0.0.0:6001", ("127.0.0.1", 6001)),
        ("[::]:6001", ("::1", 6001)),
        ("[::1]:6001", ("::1", 6001)),
        ("example.com:80", ("example.com", 80)),
    ],
)
def test_client_host_port(address: str, expected: tuple[str, int]) -> None:
    """Clients dial the local host for an empty or unspecified listen host."""
    assert parse_host_port(address) == expected


def test_client_host_port_errors() -> None:
    """Non-TCP or malformed addresses are ConfigErrors."""
    with pytest.raises(ConfigError) as caught:
        parse_host_port("unix:///run/rr.sock", path="rpc.listen")
    assert caught.value.problems[0][0] == "rpc.listen"
    with pytest.raises(ConfigError):
        parse_host_port("6001")
