"""Worker argv and environment, as worker-protocol.md §2 orders them."""

from __future__ import annotations

import pytest

from rr._version import RR_VERSION
from rr.errors import BootError
from rr.worker.command import build_command, expand_simple


def test_string_command_split_and_resolved() -> None:
    """A one-element command is split on whitespace and the program found on PATH."""
    cmd = build_command(["sh -c true"], mode="http", environ={"PATH": "/usr/bin:/bin"})
    assert cmd.argv[0].endswith("/sh")
    assert cmd.argv[1:] == ("-c", "true")


def test_env_order_last_wins() -> None:
    """rr env, RR_RELAY, RR_RPC, server.env (upper-cased, expanded), RR_VERSION, RR_MODE."""
    cmd = build_command(
        ["sh"],
        mode="http",
        relay="tcp://127.0.0.1:7000",
        rpc_listen="tcp://127.0.0.1:6001",
        user_env={"app_env": "prod-$HOME", "rr_mode": "ignored"},
        environ={"PATH": "/usr/bin:/bin", "HOME": "/root", "RR_RELAY": "old"},
    )
    env = cmd.env
    assert env["RR_RELAY"] == "tcp://127.0.0.1:7000"
    assert env["RR_RPC"] == "tcp://127.0.0.1:6001"
    assert env["APP_ENV"] == "prod-/root"
    assert env["RR_MODE"] == "http"
    assert env["RR_VERSION"] == RR_VERSION


def test_no_rpc_no_rr_rpc() -> None:
    """Without rpc.listen, workers get no RR_RPC."""
    cmd = build_command(["sh"], mode="http", environ={"PATH": "/usr/bin:/bin"})
    assert "RR_RPC" not in cmd.env


def test_missing_program_is_boot_error() -> None:
    """An unknown program is reported with the config key."""
    with pytest.raises(BootError, match="server.command"):
        build_command(["no-such-php-binary worker.php"], mode="http", environ={"PATH": "/usr/bin"})


def test_expand_simple() -> None:
    """$VAR and ${VAR} expand; unknown ones become empty."""
    assert expand_simple("a-$X-${Y}-$NOPE", {"X": "1", "Y": "2"}) == "a-1-2-"
