"""rr.worker.eager: frames go straight into an empty pipe, everything else through Twisted."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from rr.worker.eager import write_to_child


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
