# -*- test-case-name: tests.metrics.test_plugin -*-
"""The metrics plugin: one registry, its collectors, and the exporter on ``metrics.address``.

The registry is explicit (never prometheus_client's module-global one), so several servers
in one process, and the tests, never share metrics. It holds the process collectors
(``process_*``, ``python_*``), the pool collectors of every worker-pool plugin, the HTTP
request metrics when ``http_metrics`` is in ``http.middleware``, and the application
collectors from ``metrics.collect`` and ``metrics.Declare``. The exporter answers every
path, as upstream's root handler does (``/metrics`` is what everybody scrapes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from twisted.web.resource import Resource
from typing_extensions import override

from rr.control_site import ControlListener
from rr.errors import BootError
from rr.metrics._app import AppMetrics, MetricsError
from rr.metrics._builtin import HTTPMetrics, PoolCollector, PoolSource, pool_in_flight
from rr.metrics._expose import CONTENT_TYPE, render
from rr.metrics._rpc import register_metrics_rpc

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.web.server import Request

    from rr.config._schema import MetricsConfig
    from rr.rpc.registry import RPCRegistry

#: Upstream's exporter read/write timeout.
_TIMEOUT = 120.0


class MetricsResource(Resource):
    """The text exposition of a registry, on every path."""

    isLeaf = True

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._registry = registry

    @override
    def render(self, request: Request) -> bytes:
        request.setHeader(b"content-type", CONTENT_TYPE.encode())
        return render(self._registry)


class MetricsPlugin:
    """Everything behind ``metrics``: call :meth:`register_rpc`, then :meth:`listen`."""

    def __init__(
        self,
        reactor: Any,
        config: MetricsConfig,
        pools: PoolSource,
        *,
        http_metrics: bool = False,
    ) -> None:
        self._reactor = reactor
        self.config = config
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self._pools = pools
        self.app = AppMetrics(self.registry, reactor.seconds)
        self.http: HTTPMetrics | None = None
        if http_metrics:
            self.http = HTTPMetrics(self.registry, self._http_in_flight, reactor.seconds)
        self.listener = ControlListener(reactor, config.address, "metrics.address", _TIMEOUT)

    def _http_in_flight(self) -> int:
        return sum(pool_in_flight(pool) for name, pool in self._pools() if name == "http")

    def register_rpc(self, registry: RPCRegistry) -> None:
        """Add the ``metrics.*`` methods PHP calls."""
        register_metrics_rpc(registry, self.app)

    async def listen(self) -> None:
        """Register the pool and configured collectors, then open ``metrics.address``.

        :raises BootError: a configured collector clashes with another metric name.
        """
        self.registry.register(PoolCollector(self._pools))
        try:
            self.app.declare_all(self.config.collect.items())
        except MetricsError as error:
            raise BootError(f"metrics.collect: {error}") from None
        await self.listener.listen(MetricsResource(self.registry))

    def shutdown_started(self) -> None:
        """Nothing changes: the exporter serves until the very end."""

    def stop(self) -> Deferred[None]:
        """Close the exporter."""
        return self.listener.stop()
