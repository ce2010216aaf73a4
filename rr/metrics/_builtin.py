# -*- test-case-name: tests.metrics.test_builtin -*-
"""RoadRunner's own metrics: worker pools (``rr_<plugin>_*``) and HTTP requests (``rr_http_*``).

Names, types and labels are RoadRunner's, so its Grafana dashboards work unchanged. Pool
gauges are read from the pools at scrape time (no timers, no bookkeeping on the hot path).
The HTTP request metrics exist only with the ``http_metrics`` middleware, as upstream; the
HTTP front end reports each answered request through :meth:`HTTPMetrics.observe`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from rr.errors import NoFreeWorker
from rr.worker.state import WorkerState

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from twisted.internet.defer import Deferred
    from twisted.python.failure import Failure

    from rr.dispatch import Executor, FrameSink
    from rr.payload import Payload
    from rr.pool.pool import WorkerPool

#: (plugin name, pool) of every running worker pool, read at each scrape.
PoolSource = Callable[[], Iterable[tuple[str, "WorkerPool"]]]

#: Buckets of RoadRunner's newest ``rr_http_request_duration_seconds``.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


class PoolCollector:
    """``rr_<plugin>_total_workers``, ``_workers_memory_bytes``, ``_worker_state``... per pool."""

    def __init__(self, pools: PoolSource) -> None:
        self._pools = pools

    def describe(self) -> list[Metric]:
        """The families of the pools known now (lets the registry refuse clashing names)."""
        return self.collect()

    def collect(self) -> list[Metric]:
        """Read every pool now."""
        families: list[Metric] = []
        for plugin, pool in self._pools():
            families.extend(self._pool(f"rr_{plugin}", plugin, pool))
        return families

    @staticmethod
    def _pool(prefix: str, plugin: str, pool: WorkerPool) -> list[Metric]:
        workers = list(pool.workers)
        memory = GaugeMetricFamily(
            f"{prefix}_worker_memory_bytes", "Worker current memory usage", labels=["pid"]
        )
        state = GaugeMetricFamily(
            f"{prefix}_worker_state",
            "Worker current state (the state is in the label, the value is always 0)",
            labels=["state", "pid"],
        )
        total_rss = 0
        ready = working = 0
        for worker in workers:
            pid = str(worker.pid or 0)
            rss = worker.rss()
            total_rss += rss
            memory.add_metric([pid], rss)
            state.add_metric([worker.state.value, pid], 0)
            if worker.state is WorkerState.READY:
                ready += 1
            elif worker.state is WorkerState.WORKING:
                working += 1
        return [
            _gauge(f"{prefix}_total_workers", f"Total number of {plugin} workers", len(workers)),
            _gauge(f"{prefix}_workers_memory_bytes", "Memory usage by workers", total_rss),
            memory,
            state,
            _gauge(f"{prefix}_workers_ready", "Workers currently in ready state", ready),
            _gauge(f"{prefix}_workers_working", "Workers currently in working state", working),
            _gauge(
                f"{prefix}_workers_invalid",
                "Workers currently in neither ready nor working state",
                len(workers) - ready - working,
            ),
        ]


class HTTPMetrics:
    """The ``http_metrics`` middleware's ``rr_http_*`` request metrics.

    ``rr_http_request_total``, ``_request_duration_seconds``, ``_requests_queue``,
    ``_no_free_workers_total`` and ``_uptime_seconds``.

    :param in_flight: requests inside the HTTP pool now (queued or running), read at scrape.
    :param clock: seconds (``reactor.seconds``), for the uptime counter.
    """

    def __init__(
        self, registry: CollectorRegistry, in_flight: Callable[[], int], clock: Callable[[], float]
    ) -> None:
        self._in_flight = in_flight
        self._clock = clock
        self._started = clock()
        self._requests = Counter(
            "rr_http_request_total",
            "Total number of handled http requests after server restart.",
            ["status"],
            registry=registry,
        )
        self._duration = Histogram(
            "rr_http_request_duration_seconds",
            "HTTP request duration.",
            ["status"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self._no_free = Counter(
            "rr_http_no_free_workers_total",
            "Total number of NoFreeWorkers occurrences.",
            registry=registry,
        )
        registry.register(self)

    def observe(self, status: int, elapsed: float) -> None:
        """One request was answered with ``status`` after ``elapsed`` seconds."""
        label = str(status)
        self._requests.labels(label).inc()
        self._duration.labels(label).observe(elapsed)

    def no_free_workers(self) -> None:
        """One request failed because no worker became free (``NoFreeWorker``)."""
        self._no_free.inc()

    def describe(self) -> list[Metric]:
        """The scrape-time families (queue and uptime)."""
        return self.collect()

    def collect(self) -> list[Metric]:
        """The queue gauge and the uptime counter, computed now."""
        uptime = Metric("rr_http_uptime_seconds", "Uptime in seconds", "counter")
        uptime.add_sample(
            "rr_http_uptime_seconds", {}, float(math.floor(self._clock() - self._started))
        )
        return [
            _gauge("rr_http_requests_queue", "Total number of queued requests.", self._in_flight()),
            uptime,
        ]


def pool_in_flight(pool: WorkerPool) -> int:
    """Requests inside ``pool``: waiting for a worker or running on one."""
    return pool.queued + sum(1 for worker in pool.workers if worker.busy)


class NoFreeWorkerCounter:
    """An :class:`~rr.dispatch.Executor` that counts ``NoFreeWorker`` failures of another.

    Only built when ``http_metrics`` is on, so the plain request path pays nothing.
    """

    def __init__(self, executor: Executor, metrics: HTTPMetrics) -> None:
        self._executor = executor
        self._metrics = metrics

    def exec(self, payload: Payload, on_frame: FrameSink | None = None) -> Deferred[Payload]:
        """Run ``payload``; an allocate timeout is counted, then passed on unchanged."""
        return self._executor.exec(payload, on_frame).addErrback(self._count)

    def _count(self, failure: Failure) -> Failure:
        if failure.check(NoFreeWorker):
            self._metrics.no_free_workers()
        return failure
