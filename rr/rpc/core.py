# -*- test-case-name: tests.rpc.test_core -*-
"""The RPC methods every txrr serves: ``informer.*``, ``resetter.*`` and ``rpc.*``.

``rr workers``, ``rr reset``, Laravel Octane's reload and the PHP SDK's ``WorkerPool``
call these (rpc-and-cli.md §3). Replies use RoadRunner's JSON shapes exactly, because the
PHP SDK reads the keys (``numExecs``, ``memoryUsage``, ``CPUPercent``...).

A reset is rolling (:meth:`WorkerPool.reset`): new workers start before old ones stop, so
requests keep being served. Resets of one plugin never overlap: a call that arrives while
one runs waits for it and then shares the next one with every other waiting call.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, Protocol

import psutil
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from rr import _version
from rr.errors import RPCError
from rr.goridge.frame import Flags

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from twisted.internet.interfaces import IReactorTime

    from rr.pool.pool import WorkerPool
    from rr.rpc.registry import RPCRegistry
    from rr.worker.process import WorkerProcess

__all__ = ["CoreMethods", "PoolPlugin", "process_state"]

_log = Logger(namespace="rr.rpc")

#: RoadRunner's cap on the workers ``informer.AddWorker`` may bring a server to.
MAX_WORKERS = 2048


class PoolPlugin(Protocol):
    """A plugin that owns a worker pool (``http``, and later ``jobs``, ``grpc``...)."""

    name: str
    pool: WorkerPool


def process_state(worker: WorkerProcess, now: float) -> dict[str, object]:
    """Return RoadRunner's ``ProcessState`` JSON object for one worker."""
    memory, cpu = 0, 0.0
    if worker.pid is not None:
        try:
            proc = psutil.Process(worker.pid)
            with proc.oneshot():
                memory = int(proc.memory_info().rss)
                times = proc.cpu_times()
                alive_for = max(now - proc.create_time(), 1e-3)
                cpu = round((times.user + times.system) / alive_for * 100, 2)
        except (psutil.Error, OSError):
            pass
    return {
        "pid": worker.pid or 0,
        "status": worker.state.code,
        "numExecs": worker.jobs_done,
        "created": int(worker.created * 1_000_000_000),
        "memoryUsage": memory,
        "CPUPercent": cpu,
        "command": "",
        "statusStr": worker.state.value,
    }


def _plugin_name(params: object, method: str) -> str:
    if isinstance(params, str):
        return params
    if isinstance(params, bytes):  # raw codec
        return params.decode("utf-8", "replace")
    raise RPCError(f"{method} takes a plugin name (a string), got {type(params).__name__}")


def _json_only(codec: int, method: str) -> None:
    if codec in (Flags.CODEC_PROTO, Flags.CODEC_RAW):
        name = "proto" if codec == Flags.CODEC_PROTO else "raw"
        raise RPCError(f"method {method} does not support the {name} codec: use JSON")


class _Resets:
    """Waiters of the running reset of one pool, and of the one queued after it."""

    __slots__ = ("pending", "running")

    def __init__(self) -> None:
        self.running: list[Deferred[bool]] | None = None
        self.pending: list[Deferred[bool]] | None = None


class CoreMethods:
    """Registers ``informer.*``, ``resetter.*`` and ``rpc.*`` for one server.

    :param plugins: returns the plugins with pools, in start order.
    :param when_ready: fires once the server has booted (errbacks if it failed); resets
        and worker changes wait for it, so a call during boot is answered after the boot.
    :param config_json: the effective configuration as a JSON document.
    """

    def __init__(
        self,
        reactor: IReactorTime,
        plugins: Callable[[], Sequence[PoolPlugin]],
        when_ready: Callable[[], Deferred[None]],
        config_json: bytes,
    ) -> None:
        self._reactor = reactor
        self._plugins = plugins
        self._when_ready = when_ready
        self._config_json = config_json
        self._resets: dict[str, _Resets] = {}
        #: ``informer.Jobs`` sources: plugin name -> handler(codec) returning pipeline states.
        self.jobs_sources: dict[str, Callable[[], Any]] = {}

    def register(self, registry: RPCRegistry) -> None:
        """Add every core method to ``registry``."""
        registry.register("informer.List", self.informer_list)
        registry.register("informer.Workers", self.informer_workers)
        registry.register("informer.Jobs", self.informer_jobs)
        registry.register("informer.AddWorker", self.informer_add_worker)
        registry.register("informer.RemoveWorker", self.informer_remove_worker)
        registry.register("resetter.List", self.resetter_list)
        registry.register("resetter.Reset", self.resetter_reset)
        registry.register("rpc.Version", self.rpc_version)
        registry.register("rpc.Config", self.rpc_config)

    # -- helpers ------------------------------------------------------------------------

    def _names(self) -> list[str]:
        return [plugin.name for plugin in self._plugins()]

    def _pool(self, name: str) -> WorkerPool | None:
        for plugin in self._plugins():
            if plugin.name == name:
                return plugin.pool
        return None

    # -- informer -----------------------------------------------------------------------

    def informer_list(self, params: object, codec: int) -> list[str]:  # noqa: ARG002
        """``informer.List``: plugins that own workers."""
        _json_only(codec, "informer.List")
        return self._names()

    def informer_workers(self, params: object, codec: int) -> dict[str, object]:
        """``informer.Workers``: ``{"workers": [ProcessState...]}``, ``[]`` when none."""
        _json_only(codec, "informer.Workers")
        pool = self._pool(_plugin_name(params, "informer.Workers"))
        if pool is None:
            return {"workers": []}
        now = self._reactor.seconds()
        return {"workers": [process_state(w, now) for w in pool.workers if w.pid is not None]}

    def informer_jobs(self, params: object, codec: int) -> object:
        """``informer.Jobs``: pipeline states of a jobs plugin, ``[]`` for any other."""
        _json_only(codec, "informer.Jobs")
        source = self.jobs_sources.get(_plugin_name(params, "informer.Jobs"))
        return [] if source is None else source()

    def _managed_pool(self, params: object, method: str) -> WorkerPool:
        name = _plugin_name(params, method)
        pool = self._pool(name)
        if pool is None:
            raise RPCError(f"plugin does not support workers management: {name}")
        return pool

    async def _add_worker(self, pool: WorkerPool) -> bool:
        await self._when_ready()
        total = sum(len(p.pool.workers) for p in self._plugins())
        if total >= MAX_WORKERS:
            raise RPCError(f"cannot add a worker: the server already runs {MAX_WORKERS} workers")
        pool.add_worker()
        return False  # RoadRunner always answers false

    def informer_add_worker(self, params: object, codec: int) -> Deferred[bool]:
        """``informer.AddWorker``: one more worker in that plugin's pool."""
        _json_only(codec, "informer.AddWorker")
        return Deferred.fromCoroutine(
            self._add_worker(self._managed_pool(params, "informer.AddWorker"))
        )

    async def _remove_worker(self, pool: WorkerPool) -> bool:
        await self._when_ready()
        if not pool.remove_worker():
            _log.warn(
                "informer.RemoveWorker: pool {pool} keeps its last worker", pool=pool.name,
                rr_channel="informer",
            )
        return False

    def informer_remove_worker(self, params: object, codec: int) -> Deferred[bool]:
        """``informer.RemoveWorker``: one worker fewer (never the last one)."""
        _json_only(codec, "informer.RemoveWorker")
        return Deferred.fromCoroutine(
            self._remove_worker(self._managed_pool(params, "informer.RemoveWorker"))
        )

    # -- resetter -----------------------------------------------------------------------

    def resetter_list(self, params: object, codec: int) -> list[str]:  # noqa: ARG002
        """``resetter.List``: every plugin with a worker pool."""
        _json_only(codec, "resetter.List")
        return self._names()

    def resetter_reset(self, params: object, codec: int) -> Deferred[bool]:
        """``resetter.Reset``: replace every worker of one plugin; ``true`` once done."""
        _json_only(codec, "resetter.Reset")
        name = _plugin_name(params, "resetter.Reset")
        if self._pool(name) is None:
            raise RPCError(f"no such plugin: {name}")
        return Deferred.fromCoroutine(self._reset(name))

    async def _reset(self, name: str) -> bool:
        await self._when_ready()
        pool = self._pool(name)
        if pool is None or pool.stopping:
            raise RPCError(f"plugin {name} is stopping: the server is shutting down")
        state = self._resets.setdefault(name, _Resets())
        waiter: Deferred[bool] = Deferred()
        if state.running is None:
            state.running = [waiter]
            self._launch(name, state)
        elif state.pending is None:
            state.pending = [waiter]
        else:
            state.pending.append(waiter)
        return await waiter

    def _launch(self, name: str, state: _Resets) -> None:
        def done(result: object) -> None:
            waiters, state.running = state.running or [], None
            for waiter in waiters:
                if isinstance(result, Failure):
                    waiter.errback(result)
                else:
                    waiter.callback(True)  # noqa: FBT003
            if state.pending is not None:
                state.running, state.pending = state.pending, None
                self._launch(name, state)

        Deferred.fromCoroutine(self._reset_pool(name)).addBoth(done)

    async def _reset_pool(self, name: str) -> None:
        pool = self._pool(name)
        if pool is None:
            return
        _log.info("resetting plugin {plugin}", plugin=name, rr_channel="resetter")
        await pool.reset()
        _log.info("plugin {plugin} reset", plugin=name, rr_channel="resetter")

    # -- rpc ----------------------------------------------------------------------------

    def rpc_version(self, params: object, codec: int) -> str:  # noqa: ARG002
        """``rpc.Version``: the RoadRunner version txrr reports (``rr --version``)."""
        _json_only(codec, "rpc.Version")
        return _version.RR_VERSION

    def rpc_config(self, params: object, codec: int) -> object:  # noqa: ARG002
        """``rpc.Config``: the effective config; raw bytes, or base64 in a JSON string."""
        if codec == Flags.CODEC_RAW:
            return self._config_json
        _json_only(codec, "rpc.Config")
        return base64.b64encode(self._config_json).decode("ascii")


def config_document(raw: dict[str, object]) -> bytes:
    """The effective configuration as compact JSON (values that are not JSON become text)."""
    return json.dumps(raw, separators=(",", ":"), default=str).encode()
