# -*- test-case-name: tests.http.test_h1 -*-
"""The listening side of the HTTP front end: one factory per ``http`` listener.

It builds an :class:`~rr.http.h1.H1Protocol` per connection and shares what can be shared
between connections: the cached Date header, the middleware :attr:`HTTPFactory.pipeline`
and the :attr:`HTTPFactory.request_log` (whose ``observers`` list gets every finished
request). ALPN (``h2``) will be offered here later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.protocol import Factory
from typing_extensions import override

from rr.http._response import DateCache
from rr.http.access_log import RequestLog
from rr.http.h1 import H1Protocol
from rr.http.middleware import build_pipeline

if TYPE_CHECKING:
    from collections.abc import Mapping

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
        raw: Mapping[str, object] | None = None,
    ) -> None:
        """Build the middleware chain too (``raw``: the raw config tree it reads).

        :raises ConfigError: a middleware section is invalid.
        """
        self.reactor = reactor
        self.executor = executor
        self.http_config = http_config
        self.codec_options = codec_options
        self._dates = DateCache(reactor)
        self.pipeline = build_pipeline(http_config, raw)
        self.request_log = RequestLog(access_logs=http_config.access_logs)
        #: Called with a :class:`~rr.http.access_log.RequestDone` per finished request
        #: (method, status, elapsed seconds, bytes); the metrics plugin appends here.
        self.on_request_done = self.request_log.observers
        self._connections: set[H1Protocol] = set()

    @override
    def buildProtocol(self, addr: IAddress | None) -> H1Protocol:
        protocol = H1Protocol(
            self.reactor, self.executor, self.http_config, self.codec_options, self._dates,
            pipeline=self.pipeline, request_log=self.request_log,
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
