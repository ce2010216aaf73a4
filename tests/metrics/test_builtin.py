"""RoadRunner's own metrics: pool gauges read at scrape time, HTTP request metrics, exposition."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.defer import Deferred, fail, succeed

from rr.config._schema import MetricsConfig, PoolConfig
from rr.errors import NoFreeWorker, WorkerError
from rr.metrics import MetricsPlugin, render
from rr.metrics._builtin import NoFreeWorkerCounter
from rr.metrics._expose import go_float
from rr.payload import Payload
from rr.pool.pool import WorkerPool
from rr.testing import FakeProcessReactor, ScriptedWorker


def silent(worker: ScriptedWorker, request: Payload) -> None:
    """Never answer."""


def families(registry: CollectorRegistry) -> dict[str, Any]:
    text = render(registry).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def values(family: Any) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples}


def started_pool(reactor: FakeProcessReactor, workers: int) -> WorkerPool:
    pool = WorkerPool(reactor, PoolConfig(num_workers=workers), reactor.spawner(), name="http")
    pool.start()
    return pool


def test_pool_gauges_follow_worker_states() -> None:
    """Worker counts by state, per-pid state and memory come from the pool at scrape time."""
    reactor = FakeProcessReactor(silent)
    pool = started_pool(reactor, 3)
    plugin = MetricsPlugin(reactor, MetricsConfig(), lambda: [("http", pool)])
    from rr.metrics import PoolCollector  # noqa: PLC0415

    plugin.registry.register(PoolCollector(lambda: [("http", pool)]))
    pool.exec(Payload(b"{}", b"x"))
    found = families(plugin.registry)
    assert values(found["rr_http_total_workers"]) == {(): 3}
    assert values(found["rr_http_workers_ready"]) == {(): 2}
    assert values(found["rr_http_workers_working"]) == {(): 1}
    assert values(found["rr_http_workers_invalid"]) == {(): 0}
    pids = {str(w.pid) for w in pool.workers}
    states = values(found["rr_http_worker_state"])
    assert {dict(k)["pid"] for k in states} == pids
    assert sorted(dict(k)["state"] for k in states) == ["ready", "ready", "working"]
    assert set(states.values()) == {0}
    assert {dict(k)["pid"] for k in values(found["rr_http_worker_memory_bytes"])} == pids
    assert "rr_http_workers_memory_bytes" in found


def test_http_metrics_observe_and_queue() -> None:
    """With ``http_metrics`` the front end's observations, the queue and uptime are exposed."""
    reactor = FakeProcessReactor(silent)
    pool = started_pool(reactor, 1)
    plugin = MetricsPlugin(reactor, MetricsConfig(), lambda: [("http", pool)], http_metrics=True)
    assert plugin.http is not None
    plugin.http.observe(200, 0.02)
    plugin.http.observe(200, 0.3)
    plugin.http.observe(404, 0.001)
    plugin.http.no_free_workers()
    pool.exec(Payload(b"{}", b"running"))
    pool.exec(Payload(b"{}", b"queued"))
    reactor.advance(5.5)
    found = families(plugin.registry)
    assert values(found["rr_http_request"]) == {(("status", "200"),): 2, (("status", "404"),): 1}
    duration = found["rr_http_request_duration_seconds"]
    buckets = {s.labels["le"] for s in duration.samples if s.name.endswith("_bucket")}
    assert {"0.005", "60", "+Inf"} <= buckets  # Go's spelling, not prometheus_client's 60.0
    assert values(found["rr_http_no_free_workers"]) == {(): 1}
    assert values(found["rr_http_requests_queue"]) == {(): 2}
    assert values(found["rr_http_uptime_seconds"]) == {(): 5}
    text = render(plugin.registry).decode()
    assert "# TYPE rr_http_request_total counter\n" in text
    assert "# TYPE rr_http_uptime_seconds counter\nrr_http_uptime_seconds 5\n" in text
    assert "_created" not in text


def test_process_collectors_and_no_global_registry() -> None:
    """Each plugin has its own registry with process metrics; two never share values."""
    reactor = FakeProcessReactor()
    one = MetricsPlugin(reactor, MetricsConfig(), list, http_metrics=True)
    two = MetricsPlugin(reactor, MetricsConfig(), list, http_metrics=True)
    assert one.http is not None
    one.http.observe(200, 0.1)
    assert "process_resident_memory_bytes" in families(one.registry)
    assert "rr_http_request" in families(one.registry)
    assert "rr_http_request" not in families(two.registry)


def test_go_float_format() -> None:
    """Values print as Go's exporter prints them."""
    cases = {
        0.0: "0",
        2.0: "2",
        0.5: "0.5",
        1e6: "1e+06",
        123456.0: "123456",
        59191296.0: "5.9191296e+07",
        1e-05: "1e-05",
        0.0001: "0.0001",
        -3.25: "-3.25",
        float("inf"): "+Inf",
        float("-inf"): "-Inf",
        float("nan"): "NaN",
    }
    assert {value: go_float(value) for value in cases} == cases


def test_empty_families_and_escaping() -> None:
    """Families without samples are left out; label values and help text are escaped."""

    class Custom:
        def collect(self) -> list[Metric]:
            empty = Metric("empty", "nothing", "gauge")
            full = Metric("full", "a\\b\nc", "gauge")
            full.add_sample("full", {"v": 'q"\\\n'}, 1)
            return [empty, full]

    registry = CollectorRegistry()
    registry.register(Custom())  # type: ignore[arg-type]
    text = render(registry).decode()
    assert "empty" not in text
    assert "# HELP full a\\\\b\\nc\n" in text
    assert 'full{v="q\\"\\\\\\n"} 1\n' in text


def test_no_free_worker_counter_counts_only_allocate_timeouts() -> None:
    """The executor wrapper counts NoFreeWorker failures and passes every result on unchanged."""
    reactor = FakeProcessReactor(silent)
    pool = started_pool(reactor, 1)
    plugin = MetricsPlugin(reactor, MetricsConfig(), lambda: [("http", pool)], http_metrics=True)
    assert plugin.http is not None
    answers: list[Deferred[Payload]] = [
        fail(NoFreeWorker()), fail(WorkerError(1, "boom")), succeed(Payload(b"", b"ok"))
    ]

    class Fake:
        def exec(self, payload: Payload, on_frame: Any = None) -> Deferred[Payload]:
            return answers.pop(0)

    counter = NoFreeWorkerCounter(Fake(), plugin.http)
    results: list[Any] = []
    for _ in range(3):
        counter.exec(Payload(b"", b"")).addBoth(results.append)
    assert [type(getattr(r, "value", r)) for r in results] == [NoFreeWorker, WorkerError, Payload]
    assert values(families(plugin.registry)["rr_http_no_free_workers"]) == {(): 1}
