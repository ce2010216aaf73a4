# -*- test-case-name: tests.rpc.test_client -*-
"""The blocking RPC client of ``rr reset``, ``rr workers`` and ``rr jobs``.

A short-lived CLI process makes a handful of calls, so a plain socket is simpler than a
reactor. It dials ``rpc.listen`` as RoadRunner's CLI does (rpc-and-cli.md §5.2):
``tcp://:6001`` and ``tcp://0.0.0.0:6001`` reach the local host. Errors read like Go's
(``dial tcp 127.0.0.1:6001: connect: connection refused``) because scripts match on them.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
from typing import Any, Self

from rr.errors import FrameError, RPCError
from rr.goridge.frame import HEADER_SIZE, Flags, FrameDecoder
from rr.rpc.codec import encode_request, go_json

__all__ = ["RPCClient", "RPCConnectionError", "call"]

_DSN_HINT = "invalid socket DSN (tcp://:6001, unix://file.sock)"
_seq = itertools.count(1)


class RPCConnectionError(OSError):
    """The RPC listener cannot be reached, or the connection broke."""


def _dial(listen: str, timeout: float | None) -> socket.socket:
    parts = listen.split("://")
    if len(parts) != 2:  # noqa: PLR2004
        raise RPCConnectionError(_DSN_HINT)
    scheme, address = parts
    if scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: Any = address
        shown = f"dial unix {address}"
    elif scheme == "tcp":
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        if host in ("", "0.0.0.0"):  # noqa: S104
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if not port.isdigit():
            raise RPCConnectionError(f"dial tcp {address}: missing port in address")
        shown = f"dial tcp {address}"
        try:
            info = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise RPCConnectionError(f"{shown}: lookup {host}: {exc.strerror}") from None
        info.sort(key=lambda entry: entry[0] != socket.AF_INET)  # prefer IPv4
        family, _, _, _, target = info[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    else:
        raise RPCConnectionError(f"invalid Protocol {scheme!r}: use tcp:// or unix://")
    sock.settimeout(timeout)
    try:
        sock.connect(target)
    except OSError as exc:
        sock.close()
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        raise RPCConnectionError(f"{shown}: connect: {reason}") from None
    return sock


class RPCClient:
    """One connection; calls are made one at a time, JSON codec by default."""

    def __init__(self, listen: str, *, timeout: float | None = None) -> None:
        self.listen = listen
        self._sock = _dial(listen, timeout)
        self._decoder = FrameDecoder()

    def close(self) -> None:
        """Close the connection."""
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call_raw(self, method: str, body: bytes, codec: int = Flags.CODEC_JSON) -> bytes:
        """Send one call and return the reply body (still encoded).

        :raises RPCError: the server answered with an error reply (its text is the message).
        :raises RPCConnectionError: the connection broke or the reply is not a valid frame.
        """
        seq = next(_seq) & 0xFFFFFFFF
        try:
            self._sock.sendall(encode_request(seq, method, body, codec))
            while True:
                data = self._sock.recv(max(HEADER_SIZE, 65536))
                if not data:
                    raise RPCConnectionError(f"{self.listen}: connection closed by the server")
                frames = self._decoder.feed(data)
                if frames:
                    break
        except FrameError as exc:
            raise RPCConnectionError(f"{self.listen}: invalid reply: {exc}") from None
        except OSError as exc:
            if isinstance(exc, RPCConnectionError):
                raise
            raise RPCConnectionError(f"{self.listen}: {exc}") from None
        frame = frames[0]
        if len(frame.options) != 2 or frame.options[0] != seq:  # noqa: PLR2004
            raise RPCConnectionError(f"{self.listen}: reply sequence mismatch")
        payload = frame.payload[frame.options[1] :]
        if frame.flags & Flags.ERROR:
            raise RPCError(payload.decode("utf-8", "replace"))
        return payload

    def call(self, method: str, params: object) -> Any:
        """Call ``method`` with ``params`` as JSON and return the decoded reply."""
        reply = self.call_raw(method, go_json(params))
        try:
            return json.loads(reply) if reply else None
        except ValueError as exc:
            raise RPCError(f"invalid JSON reply from {method}: {exc}") from None


def call(listen: str, method: str, params: object, *, timeout: float | None = None) -> Any:
    """Connect to ``listen``, make one JSON call, close; return the decoded reply."""
    with RPCClient(listen, timeout=timeout) as client:
        return client.call(method, params)
