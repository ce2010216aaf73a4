# -*- test-case-name: tests.integration.test_status_metrics -*-
"""The control listeners (status, metrics) as one unit the service starts and stops.

They differ from the plugin listeners: they open right after the plugins are built (before
the workers boot, so probes and scrapes see the boot), they learn first that shutdown began
(``/ready`` turns unavailable), and they close last (``/health`` and ``/metrics`` answer
while the server drains).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, DeferredList

from rr.metrics import MetricsPlugin
from rr.status import StatusPlugin, pool_checker

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from rr.config._schema import RRConfig
    from rr.metrics import HTTPMetrics
    from rr.pool.pool import WorkerPool
    from rr.rpc.registry import RPCRegistry


class Controls:
    """``status`` and ``metrics``, each present when its config section is.

    :param pools: ``(plugin name, pool)`` of every worker-pool plugin, read on demand.
    """

    def __init__(
        self,
        config: RRConfig,
        reactor: Any,
        pools: Callable[[], Iterable[tuple[str, WorkerPool]]],
        rpc: RPCRegistry,
    ) -> None:
        self.status: StatusPlugin | None = None
        self.metrics: MetricsPlugin | None = None
        if config.status is not None:
            self.status = StatusPlugin(
                reactor, config.status, lambda: {name: pool_checker(p) for name, p in pools()}
            )
            self.status.register_rpc(rpc)
        if config.metrics is not None:
            middleware = config.http.middleware if config.http is not None else ()
            self.metrics = MetricsPlugin(
                reactor, config.metrics, pools, http_metrics="http_metrics" in middleware
            )
            self.metrics.register_rpc(rpc)

    @property
    def http_metrics(self) -> HTTPMetrics | None:
        """The HTTP front end's per-request hook (``http_metrics`` middleware), if enabled."""
        return self.metrics.http if self.metrics is not None else None

    def _all(self) -> list[StatusPlugin | MetricsPlugin]:
        return [c for c in (self.status, self.metrics) if c is not None]

    async def listen(self) -> None:
        """Open every control listener."""
        for control in self._all():
            await control.listen()

    def shutdown_started(self) -> None:
        """Tell the controls that the server is stopping."""
        for control in self._all():
            control.shutdown_started()

    def stop(self) -> Deferred[Any]:
        """Close every control listener."""
        return DeferredList([c.stop() for c in self._all()], consumeErrors=True)
