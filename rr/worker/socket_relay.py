# -*- test-case-name: tests.worker.test_socket_relay -*-
"""``server.relay: tcp://host:port`` and ``unix://path``: workers connect back to rr.

The listener is up before any worker is spawned (PHP gives up after about a millisecond).
On each accepted connection rr sends the pid request; the worker's reply names its pid,
which is the only link between a connection and a spawned process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from twisted.internet.endpoints import serverFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from typing_extensions import override

from rr.config._endpoints import to_endpoint
from rr.errors import FrameError
from rr.goridge.frame import Flags, FrameDecoder, encode

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IListeningPort

    from rr.worker.process import WorkerProcess


class _RelayConnection(Protocol):
    """One worker's socket until its handshake names the process, then a plain pipe to it."""

    _log = Logger(namespace="rr.worker")

    def __init__(self, registry: SocketRelay) -> None:
        self._registry = registry
        self._buffer = b""
        self._worker: WorkerProcess | None = None

    @override
    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(
            encode(b'{"pid":%d}' % os.getpid(), flags=Flags.CONTROL | Flags.CODEC_JSON)
        )

    @override
    def dataReceived(self, data: bytes) -> None:
        if self._worker is not None:
            self._worker.relay_data(data)
            return
        self._buffer += data
        try:
            frames = FrameDecoder(1 << 16).feed(self._buffer)
        except FrameError as e:
            self._log.error("relay connection sent a bad handshake: {error}", error=str(e))
            self._close()
            return
        if not frames:
            return
        pid = 0
        if frames[0].flags & Flags.CONTROL:
            try:
                pid = int(orjson.loads(frames[0].payload).get("pid", 0))
            except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
                pid = 0
        worker = self._registry.claim(pid)
        if worker is None:
            self._log.warn("relay connection from unknown pid {pid}; closing it", pid=pid)
            self._close()
            return
        self._worker = worker
        assert self.transport is not None
        worker.attach_relay(self.transport.write)
        buffered, self._buffer = self._buffer, b""
        worker.relay_data(buffered)

    @override
    def connectionLost(self, reason: Failure = Failure(ConnectionError())) -> None:  # noqa: B008
        if self._worker is not None:
            self._worker.relay_lost("relay socket closed")

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.loseConnection()


class SocketRelay:
    """The shared listener for socket relays, and the table of workers awaiting their socket."""

    def __init__(self, reactor: Any, address: str) -> None:
        self._reactor = reactor
        self.address = address
        self._pending: dict[int, WorkerProcess] = {}
        self._port: IListeningPort | None = None

    def listen(self) -> Deferred[IListeningPort]:
        """Open the listener (before any worker is spawned)."""
        if self.address.startswith("unix://"):
            Path(self.address[len("unix://") :]).resolve().unlink(missing_ok=True)
        description = to_endpoint(self.address, path="server.relay")
        factory = Factory.forProtocol(lambda: _RelayConnection(self))
        d: Deferred[IListeningPort] = serverFromString(self._reactor, description).listen(factory)

        def keep(port: IListeningPort) -> IListeningPort:
            self._port = port
            return port

        return d.addCallback(keep)

    def expect(self, worker: WorkerProcess) -> None:
        """``worker`` was spawned: its connection will carry its pid."""
        if worker.pid is not None:
            self._pending[worker.pid] = worker
        worker.exited.addBoth(lambda _: self._pending.pop(worker.pid or 0, None))

    def claim(self, pid: int) -> WorkerProcess | None:
        """The spawned worker with this pid, once."""
        return self._pending.pop(pid, None)

    def stop(self) -> Deferred[None] | None:
        """Close the listener."""
        if self._port is None:
            return None
        port, self._port = self._port, None
        return port.stopListening()
