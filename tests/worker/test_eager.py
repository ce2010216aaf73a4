"""rr.worker.eager: bytes go straight into an empty pipe or socket, all else through Twisted."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
from twisted.internet.tcp import Connection

from rr.worker.eager import write_to_child, write_to_socket


class FakeWriter:
    """The attributes of Twisted's ProcessWriter that the eager path reads."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.connected = True
        self.disconnecting = False
        self._tempDataLen = 0
        self.dataBuffer = b""
        self.offset = 0


class FakeProcess:
    def __init__(self, writer: FakeWriter | None) -> None:
        self.pipes = {} if writer is None else {0: writer}
        self.queued: list[bytes] = []

    def writeToChild(self, fd: int, data: bytes) -> None:
        assert fd == 0
        self.queued.append(data)


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    os.set_blocking(w, False)
    yield r, w
    os.close(r)
    os.close(w)


def test_empty_pipe_is_written_at_once(pipe: tuple[int, int]) -> None:
    """With nothing queued, the bytes are in the pipe when the call returns."""
    r, w = pipe
    proc = FakeProcess(FakeWriter(w))
    write_to_child(proc, b"frame")
    assert os.read(r, 100) == b"frame"
    assert proc.queued == []


def test_queued_data_keeps_order(pipe: tuple[int, int]) -> None:
    """When Twisted still holds bytes for the pipe, new bytes queue behind them."""
    r, w = pipe
    writer = FakeWriter(w)
    writer._tempDataLen = 3
    proc = FakeProcess(writer)
    write_to_child(proc, b"frame")
    assert proc.queued == [b"frame"]
    writer._tempDataLen = 0
    writer.dataBuffer, writer.offset = b"abcdef", 2
    write_to_child(proc, b"more")
    assert proc.queued == [b"frame", b"more"]
    os.set_blocking(r, False)
    with pytest.raises(BlockingIOError):
        os.read(r, 100)


def test_full_pipe_queues_the_rest(pipe: tuple[int, int]) -> None:
    """A pipe that takes only part of the frame leaves the rest to the transport."""
    r, w = pipe
    proc = FakeProcess(FakeWriter(w))
    big = bytes(range(256)) * 4096  # 1 MiB: more than a pipe holds
    write_to_child(proc, big)
    assert len(proc.queued) == 1
    taken = len(big) - len(proc.queued[0])
    assert 0 < taken < len(big)
    assert big[taken:] == proc.queued[0]
    got = b""
    while len(got) < taken:
        got += os.read(r, taken - len(got))
    assert got == big[:taken]


def test_closed_pipe_is_left_to_the_transport(pipe: tuple[int, int]) -> None:
    """An error writing (here EBADF) hands the bytes to the transport, which reports it."""
    _, w = pipe
    proc = FakeProcess(FakeWriter(10_000))
    write_to_child(proc, b"frame")
    assert proc.queued == [b"frame"]
    disconnected = FakeWriter(w)
    disconnected.connected = False
    proc = FakeProcess(disconnected)
    write_to_child(proc, b"frame")
    assert proc.queued == [b"frame"]


def test_no_stdin_pipe_uses_the_transport() -> None:
    """A transport without a stdin pipe (fakes, socket relays) gets the write."""
    proc = FakeProcess(None)
    write_to_child(proc, b"frame")
    assert proc.queued == [b"frame"]


class FakeConnection(FakeWriter, Connection):
    """A tcp.Connection (the only kind written to directly): its socket, TLS flag, queue.

    ``Connection.__init__`` is not run: it would register with a reactor.
    """

    def __init__(self, sock: socket.socket, *, tls: bool = False) -> None:
        super().__init__(sock.fileno())
        self.socket = sock
        self.TLS = tls
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


@pytest.fixture
def socks() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.settimeout(5)  # a failing test must not hang the suite
    yield a, b
    a.close()
    b.close()


def test_idle_socket_is_sent_at_once(socks: tuple[socket.socket, socket.socket]) -> None:
    """A plain connection with nothing queued sends the response bytes in the call."""
    a, b = socks
    conn = FakeConnection(a)
    write_to_socket(conn, b"HTTP/1.1 200 OK\r\n\r\n")
    assert b.recv(100) == b"HTTP/1.1 200 OK\r\n\r\n"
    assert conn.written == []


def test_tls_and_busy_connections_use_write(socks: tuple[socket.socket, socket.socket]) -> None:
    """TLS (bytes must be encrypted) and a connection with queued bytes go through write()."""
    a, _ = socks
    tls = FakeConnection(a, tls=True)
    write_to_socket(tls, b"x")
    assert tls.written == [b"x"]
    busy = FakeConnection(a)
    busy.dataBuffer, busy.offset = b"abc", 1
    write_to_socket(busy, b"y")
    assert busy.written == [b"y"]


def test_transport_without_socket_uses_write() -> None:
    """StringTransport-like transports (tests, TLS wrappers) are written normally."""
    written: list[bytes] = []

    class Plain:
        def write(self, data: bytes) -> None:
            written.append(data)

    write_to_socket(Plain(), b"z")
    assert written == [b"z"]


def test_full_socket_queues_the_rest(socks: tuple[socket.socket, socket.socket]) -> None:
    """What the socket buffer does not take is queued behind, in order."""
    a, b = socks
    conn = FakeConnection(a)
    big = b"x" * (8 << 20)
    write_to_socket(conn, big)
    assert len(conn.written) == 1
    assert len(conn.written[0]) < len(big)
    assert big.endswith(conn.written[0])
    b.setblocking(False)
    assert b.recv(10)
