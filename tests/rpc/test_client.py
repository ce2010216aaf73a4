"""The blocking RPC client of the CLI: dialling rules, Go-style errors, replies and error replies."""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

import pytest

from rr.errors import RPCError
from rr.goridge.frame import FrameDecoder
from rr.rpc.client import RPCConnectionError, call
from rr.rpc.codec import encode_error, encode_reply, parse_request

if TYPE_CHECKING:
    from pathlib import Path


def serve_once(sock: socket.socket, answer: str) -> threading.Thread:
    """Accept one connection, answer one call ("ok": its argument back; else an error)."""

    def run() -> None:
        conn, _ = sock.accept()
        with conn:
            decoder, frames = FrameDecoder(), []
            while not frames:
                frames = decoder.feed(conn.recv(65536))
            request = parse_request(frames[0])
            if answer == "ok":
                conn.sendall(encode_reply(request, {"method": request.method, "args": request.body.decode()}))
            else:
                conn.sendall(encode_error(request, answer))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_call_over_tcp_with_empty_host_dials_localhost() -> None:
    """tcp://:PORT reaches 127.0.0.1; the JSON argument and reply round-trip."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        thread = serve_once(sock, "ok")
        assert call(f"tcp://:{port}", "informer.Workers", "http", timeout=5) == {
            "method": "informer.Workers", "args": '"http"'
        }
        thread.join(5)


def test_error_reply_raises_rpc_error_over_unix(tmp_path: Path) -> None:
    """An error reply becomes RPCError carrying the server's text."""
    path = str(tmp_path / "rpc.sock")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(path)
        sock.listen()
        thread = serve_once(sock, "no such plugin: x")
        with pytest.raises(RPCError, match="no such plugin: x"):
            call(f"unix://{path}", "resetter.Reset", "x", timeout=5)
        thread.join(5)


def test_connection_errors_read_like_go() -> None:
    """Refused connections and bad DSNs give the messages RoadRunner's CLI prints."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RPCConnectionError, match=f"dial tcp 127.0.0.1:{port}: connect: connection refused"):
        call(f"tcp://127.0.0.1:{port}", "rpc.Version", None)
    with pytest.raises(RPCConnectionError, match=r"invalid socket DSN \(tcp://:6001, unix://file.sock\)"):
        call("127.0.0.1:6001", "rpc.Version", None)
    with pytest.raises(RPCConnectionError, match="invalid Protocol"):
        call("udp://127.0.0.1:6001", "rpc.Version", None)
