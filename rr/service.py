# -*- test-case-name: tests.integration.test_serve -*-
"""The service tree: pools first, listeners last; stop in the reverse order, and wait.

``makeService(config, reactor)`` is the embedding entry point: the returned service can be
given to twistd, run by ``rr serve``, or attached to another application's service tree.
Twisted's MultiService stops children concurrently and cannot report asynchronous start
failures, so this service runs its stages itself and exposes :meth:`whenReady`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import (
    IListeningPort,
    IReactorCore,
    IReactorProcess,
    IReactorTime,
)
from twisted.logger import Logger
from twisted.python.failure import Failure
from typing_extensions import override

from rr.controls import Controls
from rr.errors import BootError
from rr.http.codec import CodecOptions
from rr.http.listeners import http_listeners
from rr.http.server import HTTPFactory
from rr.metrics._builtin import NoFreeWorkerCounter
from rr.pool.pool import WorkerPool
from rr.pool.supervisor import Supervisor
from rr.rpc.core import CoreMethods, config_document
from rr.rpc.listener import open_rpc
from rr.rpc.registry import RPCRegistry
from rr.worker.command import build_command
from rr.worker.on_init import run_on_init
from rr.worker.socket_relay import SocketRelay
from rr.worker.spawn import process_spawner

if TYPE_CHECKING:
    from twisted.internet.interfaces import IStreamServerEndpoint
    from twisted.internet.protocol import Factory

    from rr.config._schema import PoolConfig, RRConfig
    from rr.dispatch import Executor
    from rr.http.access_log import RequestDone
    from rr.metrics._builtin import HTTPMetrics


class IRRReactor(IReactorTime, IReactorProcess, IReactorCore):
    """What txrr needs from a reactor: time, processes and lifecycle."""


class _Plugin:
    """One pool plus the listeners that feed it."""

    def __init__(self, name: str, pool: WorkerPool, supervisor: Supervisor | None) -> None:
        self.name = name
        self.pool = pool
        self.supervisor = supervisor
        #: (endpoint description or endpoint, factory) per listener
        self.listeners: list[tuple[str | IStreamServerEndpoint, Factory]] = []
        self.ports: list[IListeningPort] = []


class RoadRunnerService(Service):
    """All of txrr for one configuration."""

    _log = Logger(namespace="rr.service")
    name = "rr"

    def __init__(self, config: RRConfig, reactor: Any) -> None:
        self.config = config
        self._reactor = reactor
        self.plugins: list[_Plugin] = []
        self._ready: Deferred[None] | None = None
        self._waiters: list[Deferred[None]] = []
        self._outcome: Failure | bool | None = False  # False: still starting
        self._stopping: Deferred[None] | None = None
        self._relay: SocketRelay | None = None
        #: RPC methods of every plugin; the RPC server (rpc.listen) serves them.
        self.rpc_registry = RPCRegistry()
        #: status and metrics listeners: open from boot until the very end of a stop.
        self.controls = Controls(
            config, reactor, lambda: [(p.name, p.pool) for p in self.plugins], self.rpc_registry
        )
        CoreMethods(
            reactor, lambda: self.plugins, self.whenReady, config_document(config.raw)
        ).register(self.rpc_registry)
        self.rpc_port: IListeningPort | None = None

    # -- start --------------------------------------------------------------------------

    @override
    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        self._ready = Deferred.fromCoroutine(self._start())
        self._ready.addBoth(self._started)

    def _started(self, result: object) -> None:
        if isinstance(result, Failure):
            self._log.failure("txrr failed to start", result, rr_channel="rr")
            self._outcome = result
        else:
            self._outcome = None
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            self._fire(waiter)

    def _fire(self, waiter: Deferred[None]) -> None:
        if isinstance(self._outcome, Failure):
            waiter.errback(self._outcome)
        else:
            waiter.callback(None)

    def whenReady(self) -> Deferred[None]:
        """Fires once every pool is ready and every listener is open (errbacks on failure)."""
        waiter: Deferred[None] = Deferred()
        if self._outcome is False:
            self._waiters.append(waiter)
        else:
            self._fire(waiter)
        return waiter

    async def _start(self) -> None:
        cfg = self.config
        if cfg.server is not None and cfg.server.on_init is not None:
            await run_on_init(self._reactor, cfg.server.on_init)
        if cfg.server is not None and cfg.server.relay != "pipes":
            self._relay = SocketRelay(self._reactor, cfg.server.relay)
            await self._relay.listen()
        self._build_plugins()
        await self._open_rpc()
        await self.controls.listen()
        # stage 1: pools
        starts = [p.pool.start() for p in self.plugins]
        results = await DeferredList(starts, consumeErrors=True)
        for ok, value in results:
            if not ok:
                self.kill_workers()
                assert isinstance(value, Failure)
                value.raiseException()
        for plugin in self.plugins:
            if plugin.supervisor is not None:
                plugin.supervisor.start()
        # stage 3: listeners, once workers can take requests
        for plugin in self.plugins:
            for description, factory in plugin.listeners:
                endpoint = (
                    serverFromString(self._reactor, description)
                    if isinstance(description, str)
                    else description
                )
                port = await endpoint.listen(factory)
                plugin.ports.append(port)
                host = port.getHost()
                address = f"{getattr(host, 'host', '')}:{getattr(host, 'port', '')}"
                if not hasattr(host, "port"):
                    address = str(getattr(host, "name", host))
                self._log.info(
                    "{plugin} server is listening on {address}",
                    plugin=plugin.name,
                    address=address,
                    rr_channel=plugin.name,
                )

    async def _open_rpc(self) -> None:
        """Open rpc.listen before the pools start: calls made during boot wait for it."""
        if self.config.rpc is not None:
            self.rpc_port = await open_rpc(self._reactor, self.config.rpc, self.rpc_registry)

    def _build_plugins(self) -> None:
        cfg = self.config
        if cfg.http is not None and (cfg.http.address or cfg.http.ssl is not None):
            pool, supervisor = self._make_pool("http", cfg.http.pool)
            plugin = _Plugin("http", pool, supervisor)
            executor: Executor = pool
            metrics = self.controls.http_metrics
            if metrics is not None:
                executor = NoFreeWorkerCounter(pool, metrics)
            factory = HTTPFactory(
                self._reactor, executor, cfg.http, CodecOptions.from_config(cfg.http), cfg.raw
            )
            if metrics is not None:
                factory.on_request_done.append(partial(_observe, metrics))
            plugin.listeners.extend(http_listeners(self._reactor, cfg.http, factory))
            self.plugins.append(plugin)

    def _make_pool(self, mode: str, pool_cfg: PoolConfig) -> tuple[WorkerPool, Supervisor | None]:
        server = self.config.server
        if server is None:
            raise BootError(f"{mode}: the server section is required to run PHP workers")
        rpc = self.config.rpc
        command = build_command(
            pool_cfg.command or server.command,
            mode=mode,
            relay=server.relay,
            rpc_listen=rpc.listen if rpc is not None and rpc.listen_set else None,
            user_env=server.env,
        )
        spawn = process_spawner(self._reactor, command, user=server.user, relay=self._relay)
        pool = WorkerPool(self._reactor, pool_cfg, spawn, name=mode)
        sup = pool_cfg.supervisor
        supervisor = (
            Supervisor(self._reactor, pool, sup) if sup is not None and not pool_cfg.debug else None
        )
        return pool, supervisor

    # -- stop ---------------------------------------------------------------------------

    @override
    def stopService(self) -> Deferred[None]:
        super().stopService()  # type: ignore[no-untyped-call]
        if self._stopping is None:
            self._stopping = Deferred.fromCoroutine(self._stop())
        return self._stopping

    async def _stop(self) -> None:
        """Stop in stages; all of them together get ``endure.grace_period``."""
        deadline = self._reactor.seconds() + self.config.endure.grace_period
        self.controls.shutdown_started()
        if self._ready is not None and not self._ready.called:
            self._ready.cancel()
        # stage 3: stop accepting, then let connections finish what they started
        await DeferredList(
            [maybeDeferred(port.stopListening) for p in self.plugins for port in p.ports],
            consumeErrors=True,
        )
        drains = [
            getattr(factory, "drain")()  # noqa: B009 - front ends that hold connections drain them
            for p in self.plugins
            for _, factory in p.listeners
            if callable(getattr(factory, "drain", None))
        ]
        if not await self._within(deadline, DeferredList(drains, consumeErrors=True)):
            self._log.warn("grace period over with requests in flight; stopping workers anyway")
        # stage 1: pools
        for plugin in self.plugins:
            if plugin.supervisor is not None:
                plugin.supervisor.stop()
        stops = DeferredList([p.pool.stop() for p in self.plugins], consumeErrors=True)
        if not await self._within(deadline, stops):
            self._log.warn("workers still running at the end of the grace period; killing them")
            self.kill_workers()
        if self._relay is not None:
            await maybeDeferred(self._relay.stop)
        if self.rpc_port is not None:
            await maybeDeferred(self.rpc_port.stopListening)
        await self.controls.stop()

    async def _within(self, deadline: float, d: Deferred[Any]) -> bool:
        """Wait for ``d`` until ``deadline``; False when time ran out."""
        d.addTimeout(max(0.0, deadline - self._reactor.seconds()), self._reactor)
        try:
            await d
        except Exception:  # noqa: BLE001 - only a timeout can fail a consumeErrors DeferredList
            return False
        return True

    def kill_workers(self) -> None:
        """SIGKILL every worker now (forced exit)."""
        for plugin in self.plugins:
            plugin.pool.kill_all()

    def ports(self, plugin: str) -> list[IListeningPort]:
        """The listening ports of a plugin (to learn the port bound for ``:0``)."""
        return [port for p in self.plugins if p.name == plugin for port in p.ports]


def _observe(metrics: HTTPMetrics, record: RequestDone) -> None:
    metrics.observe(record.status, record.elapsed)


def makeService(config: RRConfig, reactor: Any = None) -> RoadRunnerService:
    """Build txrr's service tree for ``config`` on ``reactor`` (the global one if omitted)."""
    if reactor is None:
        from twisted.internet import reactor as global_reactor  # noqa: PLC0415, TID251

        reactor = global_reactor
    return RoadRunnerService(config, reactor)
