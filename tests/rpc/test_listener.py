"""Which rpc.listen addresses count as exposed (and get a startup warning)."""

from __future__ import annotations

import pytest

from rr.rpc.listener import is_loopback


@pytest.mark.parametrize(
    ("listen", "loopback"),
    [
        ("tcp://127.0.0.1:6001", True),
        ("tcp://127.0.0.5:6001", True),
        ("tcp://[::1]:6001", True),
        ("tcp://localhost:6001", True),
        ("unix:///run/rr.sock", True),
        ("tcp://0.0.0.0:6001", False),
        ("tcp://:6001", False),
        ("tcp://10.1.2.3:6001", False),
        ("tcp://[::]:6001", False),
        ("tcp://rr.example.com:6001", False),
    ],
)
def test_is_loopback(listen: str, loopback: bool) -> None:
    """Only loopback IPs, localhost and unix sockets are quiet; everything else warns."""
    assert is_loopback(listen) is loopback
