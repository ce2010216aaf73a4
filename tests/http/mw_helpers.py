"""Shared helpers for the middleware tests: request heads and a connection with a chain."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from rr.config._schema import HTTPConfig, PoolConfig
from rr.http.codec import CodecOptions, RequestHead
from rr.http.server import HTTPFactory
from tests.http.test_h1 import NOW, FakeExecutor


def make_head(
    target: str = "/",
    method: str = "GET",
    headers: list[tuple[str, str]] | None = None,
    remote_addr: str = "10.0.0.7",
) -> RequestHead:
    """A parsed request head as a front end would give the pipeline."""
    return RequestHead(
        method=method, target=target, protocol="HTTP/1.1",
        headers=[("Host", "example.com"), *(headers or [])], remote_addr=remote_addr,
    )


class StallingTransport(StringTransport):
    """A StringTransport whose buffer "fills" after ``limit`` bytes: it pauses its
    streaming producer, as a TCP transport does when the client stops reading."""

    def __init__(self, limit: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.limit = limit
        self.since_resume = 0

    def write(self, data: bytes) -> None:
        super().write(data)
        self.since_resume += len(data)
        if self.producer is not None and self.since_resume >= self.limit:
            self.producer.pauseProducing()

    def drained(self) -> None:
        """The client read everything: resume the producer."""
        self.since_resume = 0
        if self.producer is not None:
            self.producer.resumeProducing()


class MiddlewareConnection:
    """An H1Protocol with ``http.middleware`` configured, on a StringTransport and a Clock."""

    def __init__(
        self, middleware: tuple[str, ...], http_raw: dict[str, Any] | None = None,
        peer: str = "10.0.0.7", stall_after: int = 0, **http: Any,
    ) -> None:
        self.clock = Clock()
        self.clock.advance(NOW)
        self.executor = FakeExecutor()
        config = HTTPConfig(middleware=middleware, pool=PoolConfig(num_workers=1), **http)
        self.factory = HTTPFactory(
            self.clock, self.executor, config, CodecOptions.from_config(config),
            {"http": http_raw or {}},
        )
        address = IPv4Address("TCP", peer, 51234)
        self.protocol = self.factory.buildProtocol(address)
        self.transport = (StallingTransport(stall_after, peerAddress=address) if stall_after
                          else StringTransport(peerAddress=address))
        self.protocol.makeConnection(self.transport)

    def send(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def output(self) -> bytes:
        data = self.transport.value()
        self.transport.clear()
        return data


def temp_dir(case: Any) -> Path:
    """A fresh directory under the system temp dir, removed after the test."""
    path = Path(tempfile.mkdtemp(prefix="rr-mw-")).resolve()
    case.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path
