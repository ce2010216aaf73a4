# -*- test-case-name: tests.pool.test_supervisor -*-
"""Soft limits checked every ``watch_tick``: ttl, idle_ttl and max_worker_memory.

Idle workers over a limit are replaced at once; busy ones are marked invalid and replaced
when their request ends. ``exec_ttl`` is a hard limit enforced per request by the worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from rr.worker.state import WorkerState

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

    from rr.config._schema import SupervisorConfig
    from rr.pool.pool import WorkerPool


class Supervisor:
    """Watches one pool."""

    _log = Logger(namespace="rr.pool")

    def __init__(self, reactor: IReactorTime, pool: WorkerPool, config: SupervisorConfig) -> None:
        self._reactor = reactor
        self._pool = pool
        self._config = config
        self._loop = LoopingCall(self.check)
        self._loop.clock = reactor

    def start(self) -> None:
        """Begin ticking (the first check is one tick from now)."""
        if not self._loop.running:
            self._loop.start(self._config.watch_tick, now=False)

    def stop(self) -> None:
        """Stop ticking."""
        if self._loop.running:
            self._loop.stop()

    def check(self) -> None:
        """Apply every limit to every worker once."""
        now = self._reactor.seconds()
        cfg = self._config
        for worker in list(self._pool.workers):
            if worker.state not in (WorkerState.READY, WorkerState.WORKING):
                continue
            reason = None
            if cfg.ttl and now - worker.created >= cfg.ttl:
                reason = "supervisor.ttl"
            elif (
                cfg.idle_ttl
                and not worker.busy
                and worker.jobs_done > 0
                and now - worker.last_used >= cfg.idle_ttl
            ):
                reason = "supervisor.idle_ttl"
            elif cfg.max_worker_memory and worker.rss() >= cfg.max_worker_memory:
                reason = "supervisor.max_worker_memory"
            if reason is not None:
                self._log.info(
                    "worker {pid} reached {key}; replacing it",
                    pid=worker.pid,
                    key=reason,
                    pool=self._pool.name,
                )
                self._pool.soft_limit(worker, reason)
