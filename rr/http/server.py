# -*- test-case-name: tests.http.test_h1 -*-
"""The listening side of the HTTP front end: one factory per ``http`` listener.

It builds an :class:`~rr.http.h1.H1Protocol` per connection and shares what can be shared
between connections (the cached Date header). ALPN (``h2``) will be offered here later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.protocol import Factory
from typing_extensions import override

from rr.http._response import DateCache
from rr.http.h1 import H1Protocol

if TYPE_CHECKING:
    from twisted.internet.interfaces import IAddress, IReactorTime

    from rr.config._schema import HTTPConfig
    from rr.dispatch import Executor
    from rr.http.codec import CodecOptions


class HTTPFactory(Factory):
    """Builds HTTP/1.x server connections that run requests on ``executor``."""

    noisy = False

    def __init__(
        self,
        reactor: IReactorTime,
        executor: Executor,
        http_config: HTTPConfig,
        codec_options: CodecOptions,
    ) -> None:
        self.reactor = reactor
        self.executor = executor
        self.http_config = http_config
        self.codec_options = codec_options
        self._dates = DateCache(reactor)
        self._connections: set[H1Protocol] = set()

    @override
    def buildProtocol(self, addr: IAddress | None) -> H1Protocol:
        protocol = H1Protocol(
            self.reactor, self.executor, self.http_config, self.codec_options, self._dates
        )
        protocol.factory = self
        self._connections.add(protocol)
        protocol.closed.addBoth(lambda _: self._connections.discard(protocol))
        return protocol

    def drain(self) -> Deferred[None]:
        """Shutdown: every connection answers what it has read, then closes."""
        return gatherResults([c.drain() for c in list(self._connections)]).addCallback(
            lambda _: None
        )
