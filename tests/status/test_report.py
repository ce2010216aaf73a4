"""``/health`` and ``/ready`` answers, computed from plugin checks (no I/O)."""

from __future__ import annotations

import json

from rr.config._schema import PoolConfig
from rr.payload import Payload
from rr.pool.pool import WorkerPool
from rr.status import Checker, pool_checker, report
from rr.testing import FakeProcessReactor, ScriptedWorker


def fixed(code: int | None) -> Checker:
    return Checker(health=lambda: code, ready=lambda: code)


def broken() -> int:
    raise RuntimeError("boom")


def entries(body: bytes) -> list[dict[str, object]]:
    return json.loads(body)  # type: ignore[no-any-return]


def test_all_plugins_without_query() -> None:
    """Without ``plugin`` every participating plugin is reported, 200 when all are fine."""
    status, body = report({"http": fixed(200), "jobs": fixed(200)}, [], "health", 503)
    assert status == 200
    assert entries(body) == [
        {"plugin_name": "http", "error_message": "", "status_code": 200},
        {"plugin_name": "jobs", "error_message": "", "status_code": 200},
    ]


def test_selected_plugins_in_query_order_and_unknown_skipped() -> None:
    """Repeated ``plugin`` values are checked in order; unknown names are skipped silently."""
    checkers = {"http": fixed(200), "jobs": fixed(200)}
    status, body = report(checkers, ["jobs", "nope", "http"], "ready", 503)
    assert status == 200
    assert [e["plugin_name"] for e in entries(body)] == ["jobs", "http"]
    assert report(checkers, ["http,jobs"], "ready", 503) == (200, b"[]")


def test_code_mapping() -> None:
    """5xx turns the response unavailable; odd codes are flagged; errors and nil are reported."""
    checkers = {
        "down": fixed(503),
        "odd": fixed(404),
        "nil": fixed(None),
        "err": Checker(health=broken, ready=broken),
    }
    status, body = report(checkers, ["odd", "nil"], "health", 599)
    assert status == 200
    assert entries(body) == [
        {"plugin_name": "odd", "error_message": "unexpected status code", "status_code": 404},
        {"plugin_name": "nil", "error_message": "plugin is not available", "status_code": 599},
    ]
    status, body = report(checkers, ["down"], "health", 599)
    assert status == 599
    assert entries(body) == [
        {
            "plugin_name": "down",
            "error_message": "internal server error, see logs",
            "status_code": 599,
        }
    ]
    status, body = report(checkers, ["err"], "ready", 503)
    assert (status, entries(body)[0]["error_message"]) == (503, "boom")


def test_pool_checker_health_and_readiness() -> None:
    """A pool is healthy with a ready or working worker and ready only with an idle one."""

    def silent(worker: ScriptedWorker, request: Payload) -> None:
        """Never answer."""

    reactor = FakeProcessReactor(silent, auto_handshake=False)
    pool = WorkerPool(reactor, PoolConfig(num_workers=1), reactor.spawner(), name="http")
    pool.start()
    checker = pool_checker(pool)
    assert (checker.health(), checker.ready()) == (503, 503)  # still booting
    reactor.spawned[0].handshake()
    assert (checker.health(), checker.ready()) == (200, 200)
    pool.exec(Payload(b"{}", b"busy"))
    assert (checker.health(), checker.ready()) == (200, 503)
