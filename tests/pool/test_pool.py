"""WorkerPool behaviour on scripted workers and a fake clock."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from twisted.internet.defer import CancelledError, Deferred
from twisted.python.failure import Failure

from rr.config._schema import DynamicAllocatorConfig, PoolConfig, SupervisorConfig
from rr.errors import (
    BootError,
    ExecTimeout,
    NoFreeWorker,
    PoolStopped,
    QueueFull,
    WorkerCrashed,
    WorkerError,
)
from rr.payload import Payload
from rr.pool.pool import WorkerPool
from rr.pool.supervisor import Supervisor
from rr.testing import FakeProcessReactor, ScriptedWorker
from rr.worker.state import WorkerState

REQ = Payload(b"{}", b"hello", 0x08)


def result_of(d: Deferred[Any]) -> Any:
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "Deferred has not fired"
    if isinstance(out[0], Failure):
        out[0].raiseException()
    return out[0]


def failure_of(d: Deferred[Any], *types: type[BaseException]) -> BaseException:
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "Deferred has not fired"
    assert isinstance(out[0], Failure), f"expected a failure, got {out[0]!r}"
    assert out[0].check(*types), out[0]
    return out[0].value


def no_result(d: Deferred[Any]) -> None:
    out: list[Any] = []

    def peek(result: Any) -> Any:
        out.append(result)
        return result

    d.addBoth(peek)
    assert not out, f"unexpected result {out!r}"


def make_pool(reactor: FakeProcessReactor, **kw: Any) -> WorkerPool:
    cfg = PoolConfig(num_workers=kw.pop("num_workers", 2), **kw)
    pool = WorkerPool(reactor, cfg, reactor.spawner(), name="http")
    result_of(pool.start())
    return pool


def silent(worker: ScriptedWorker, request: Payload) -> None:
    """Never answer."""


def test_start_spawns_num_workers_and_echoes() -> None:
    """The pool starts num_workers and a request returns the worker's answer."""
    reactor = FakeProcessReactor()
    pool = make_pool(reactor, num_workers=3)
    assert len(reactor.spawned) == 3
    assert all(w.state is WorkerState.READY for w in pool.workers)
    answer = result_of(pool.exec(REQ))
    assert answer == Payload(b"{}", b"hello", 0)
    assert reactor.spawned[0].frames[0].payload.startswith(b'{"pid":')


def test_requests_queue_until_a_worker_is_free() -> None:
    """With one busy worker a second request waits and then runs on it."""
    reactor = FakeProcessReactor(silent)
    pool = make_pool(reactor, num_workers=1)
    d1 = pool.exec(REQ)
    d2 = pool.exec(Payload(b"{}", b"second"))
    assert pool.queued == 1
    worker = reactor.spawned[0]
    worker.respond(b"", b"one")
    assert result_of(d1).body == b"one"
    assert worker.requests[-1].body == b"second"
    worker.respond(b"", b"two")
    assert result_of(d2).body == b"two"


def test_next_request_is_sent_before_the_answer_is_delivered() -> None:
    """A freed worker gets the queued request before the caller of the finished one runs,
    so PHP works while the server writes the previous response."""
    reactor = FakeProcessReactor(silent)
    pool = make_pool(reactor, num_workers=1)
    d1 = pool.exec(REQ)
    pool.exec(Payload(b"{}", b"second"))
    worker = reactor.spawned[0]
    seen: list[bytes] = []
    d1.addCallback(lambda _: seen.append(worker.requests[-1].body))
    worker.respond(b"", b"one")
    assert seen == [b"second"]


def test_allocate_timeout_fails_with_no_free_worker() -> None:
    """A queued request fails with NoFreeWorker after allocate_timeout."""
    reactor = FakeProcessReactor(silent)
    pool = make_pool(reactor, num_workers=1, allocate_timeout=5.0)
    pool.exec(REQ)
    d = pool.exec(REQ)
    reactor.advance(4.9)
    no_result(d)
    reactor.advance(0.2)
    failure_of(d, NoFreeWorker)
    assert pool.queued == 0


def test_max_queue_size_rejects_at_once() -> None:
    """max_queue_size counts running requests too and rejects beyond it."""
    reactor = FakeProcessReactor(silent)
    pool = make_pool(reactor, num_workers=1, max_queue_size=2)
    pool.exec(REQ)
    pool.exec(REQ)
    failure_of(pool.exec(REQ), QueueFull)


def test_exec_ttl_kills_worker_and_refills() -> None:
    """A request running past exec_ttl fails with ExecTimeout; the worker is killed and replaced."""
    reactor = FakeProcessReactor(silent)
    pool = make_pool(reactor, num_workers=1, supervisor=SupervisorConfig(exec_ttl=2.0))
    d = pool.exec(REQ)
    reactor.advance(2.0)
    failure_of(d, ExecTimeout)
    assert reactor.spawned[0].signals == ["KILL"]
    assert len(reactor.spawned) == 2
    assert pool.workers[0].pid == reactor.spawned[1].pid


def test_max_jobs_recycles_worker_after_response() -> None:
    """After max_jobs requests (plus its jitter) the worker is stopped and replaced."""
    reactor = FakeProcessReactor()
    pool = make_pool(reactor, num_workers=1, max_jobs=1)
    assert result_of(pool.exec(REQ)).body == b"hello"
    first = reactor.spawned[0]
    assert first.ended
    assert first.frames[-1].payload == b'{"stop":true}'
    assert len(reactor.spawned) == 2
    assert result_of(pool.exec(REQ)).body == b"hello"


def test_error_frame_is_soft() -> None:
    """A worker error frame fails the request and keeps the worker."""
    reactor = FakeProcessReactor(lambda w, r: w.error("boom"))
    pool = make_pool(reactor, num_workers=1)
    err = failure_of(pool.exec(REQ), WorkerError)
    assert "boom" in str(err)
    assert pool.workers[0].pid == reactor.spawned[0].pid
    assert pool.idle == 1


def test_crash_mid_request_fails_it_and_refills() -> None:
    """A worker that exits mid-request gives one WorkerCrashed and a replacement."""
    reactor = FakeProcessReactor(lambda w, r: w.exit(255))
    pool = make_pool(reactor, num_workers=1)
    failure_of(pool.exec(REQ), WorkerCrashed)
    assert len(reactor.spawned) == 2
    assert len(pool.workers) == 1


def test_stop_request_redispatches_to_another_worker() -> None:
    """A worker answering {"stop":true} is stopped and the request runs on another worker."""

    def handler(worker: ScriptedWorker, request: Payload) -> None:
        if worker.pid == 1001:
            worker.stop_me()
        else:
            worker.respond(b"", b"from %d" % worker.pid)

    reactor = FakeProcessReactor(handler)
    pool = make_pool(reactor, num_workers=2)
    pool._idle.rotate(1)  # make the first worker the next one taken
    body = result_of(pool.exec(REQ)).body
    assert body.startswith(b"from ") and body != b"from 1001"
    assert reactor.spawned[0].requests and reactor.spawned[0].ended


def test_cancel_while_queued_removes_request() -> None:
    """Cancelling a queued request removes it: the worker never sees it."""
    reactor = FakeProcessReactor(silent)
    pool = make_pool(reactor, num_workers=1)
    pool.exec(REQ)
    d = pool.exec(Payload(b"{}", b"never"))
    d.cancel()
    failure_of(d, CancelledError)
    assert pool.queued == 0
    reactor.spawned[0].respond(b"", b"done")
    assert [r.body for r in reactor.spawned[0].requests] == [b"hello"]


def test_stream_frames_reach_the_sink() -> None:
    """STREAM frames go to on_frame in order; the final frame fires the Deferred."""

    def handler(worker: ScriptedWorker, request: Payload) -> None:
        worker.respond(b"ctx", b"a", stream=True)
        worker.respond(b"", b"b", stream=True, ping=True)
        worker.respond(b"", b"c")

    reactor = FakeProcessReactor(handler)
    pool = make_pool(reactor, num_workers=1)
    seen: list[Payload] = []
    final = result_of(pool.exec(REQ, seen.append))
    assert [(p.context, p.body, p.stream) for p in seen] == [
        (b"ctx", b"a", True),
        (b"", b"b", True),
    ]
    assert final.body == b"c"
    assert reactor.spawned[0].frames[-1].stream == 0x08  # PONG answered the PING


def test_stream_joined_without_sink() -> None:
    """Without on_frame a streamed answer is joined into one payload."""

    def handler(worker: ScriptedWorker, request: Payload) -> None:
        worker.respond(b"ctx", b"a", stream=True)
        worker.respond(b"ctx", b"b")

    reactor = FakeProcessReactor(handler)
    pool = make_pool(reactor, num_workers=1)
    assert result_of(pool.exec(REQ)) == Payload(b"ctx", b"ab", 0)


def test_cancel_during_stream_sends_stop_and_drains() -> None:
    """Cancelling a running stream sends STOP; the worker returns to the pool after its last frame."""
    reactor = FakeProcessReactor(lambda w, r: w.respond(b"ctx", b"a", stream=True))
    pool = make_pool(reactor, num_workers=1)
    d = pool.exec(REQ, lambda p: None)
    d.cancel()
    failure_of(d, CancelledError)
    worker = reactor.spawned[0]
    assert worker.frames[-1].stream == 0x02
    worker.respond(b"", b"late", stream=True)
    worker.respond(b"", b"")
    assert pool.idle == 1


def test_stream_timeout_kills_worker_that_ignores_stop() -> None:
    """A worker that does not end its stream within stream_timeout after STOP is killed."""
    reactor = FakeProcessReactor(lambda w, r: w.respond(b"ctx", b"a", stream=True))
    pool = make_pool(reactor, num_workers=1, stream_timeout=3.0)
    d = pool.exec(REQ, lambda p: None)
    d.cancel()
    reactor.advance(3.0)
    assert reactor.spawned[0].signals == ["KILL"]
    assert len(reactor.spawned) == 2


def test_garbage_on_stdout_retires_worker() -> None:
    """Stray STDOUT bytes fail the request with a message naming STDERR; the worker is replaced."""
    reactor = FakeProcessReactor(lambda w, r: w.send(b"Hello from echo!!!\n"))
    pool = make_pool(reactor, num_workers=1)
    err = failure_of(pool.exec(REQ), WorkerError)
    assert "STDERR" in str(err)
    assert "Hello from echo" in str(err)
    assert reactor.spawned[0].signals == ["KILL"]
    assert len(pool.workers) == 1 and pool.workers[0].pid == reactor.spawned[1].pid


def test_boot_failure_reports_stderr() -> None:
    """A worker that dies before the handshake makes start() fail with its stderr."""
    reactor = FakeProcessReactor(auto_handshake=False)
    pool = WorkerPool(reactor, PoolConfig(num_workers=1), reactor.spawner())
    d = pool.start()
    reactor.spawned[0].stderr("PHP Fatal error: boom")
    reactor.spawned[0].exit(255)
    err = failure_of(d, BootError)
    assert "PHP Fatal error: boom" in str(err)


def test_handshake_timeout_is_allocate_timeout() -> None:
    """A worker that never answers the handshake fails boot after allocate_timeout and is killed."""
    reactor = FakeProcessReactor(auto_handshake=False)
    pool = WorkerPool(reactor, PoolConfig(num_workers=1, allocate_timeout=3.0), reactor.spawner())
    d = pool.start()
    reactor.advance(3.0)
    failure_of(d, BootError)
    assert reactor.spawned[0].signals == ["KILL"]


def test_crash_loop_backs_off() -> None:
    """Replacements that keep dying at boot are retried with a doubling delay."""
    reactor = FakeProcessReactor()
    times: list[float] = []

    def spawn(worker: Any) -> None:
        times.append(reactor.seconds())
        reactor.auto_handshake = len(times) == 1
        scripted = reactor.spawnProcess(worker, "php", ["php"], {})
        if len(times) > 1:
            scripted.exit(255)

    pool = WorkerPool(reactor, PoolConfig(num_workers=1), spawn)
    result_of(pool.start())
    reactor.spawned[0].exit(1)
    for _ in range(100):
        reactor.advance(0.1)
    gaps = [round(b - a, 1) for a, b in zip(times[1:], times[2:])]
    assert len(gaps) >= 4
    assert gaps[:4] == pytest.approx([0.2, 0.4, 0.8, 1.6], abs=0.11)


def test_debug_mode_fresh_worker_per_request() -> None:
    """pool.debug spawns one worker per request and stops it afterwards."""
    reactor = FakeProcessReactor()
    pool = WorkerPool(reactor, PoolConfig(num_workers=4, debug=True), reactor.spawner())
    result_of(pool.start())
    assert reactor.spawned == []
    assert result_of(pool.exec(REQ)).body == b"hello"
    assert result_of(pool.exec(REQ)).body == b"hello"
    assert len(reactor.spawned) == 2
    assert all(w.ended for w in reactor.spawned)


def test_dynamic_allocator_grows_then_shrinks() -> None:
    """When requests queue, the dynamic allocator adds workers, and removes them after idle_timeout."""
    reactor = FakeProcessReactor(silent)
    dyn = DynamicAllocatorConfig(max_workers=2, spawn_rate=2, idle_timeout=10.0)
    pool = make_pool(reactor, num_workers=1, dynamic_allocator=dyn)
    pool.exec(REQ)
    d = pool.exec(REQ)
    assert len(reactor.spawned) == 3
    assert reactor.spawned[1].requests  # the queued request ran on a new worker
    reactor.spawned[1].respond(b"", b"ok")
    assert result_of(d).body == b"ok"
    reactor.advance(10.0)
    assert len(pool.workers) == 1  # only the original, still busy, worker is left
    assert reactor.spawned[1].ended and reactor.spawned[2].ended
    assert not reactor.spawned[0].ended


def test_supervisor_ttl_idle_and_busy() -> None:
    """supervisor.ttl replaces idle workers at the tick and busy ones after their request."""
    reactor = FakeProcessReactor(silent)
    sup = SupervisorConfig(watch_tick=1.0, ttl=5.0)
    pool = make_pool(reactor, num_workers=2, supervisor=sup)
    supervisor = Supervisor(reactor, pool, sup)
    supervisor.start()
    d = pool.exec(REQ)
    busy = next(w for w in reactor.spawned if w.requests)
    idle = next(w for w in reactor.spawned if not w.requests)
    reactor.advance(5.0)
    assert idle.ended
    assert not busy.ended
    busy.respond(b"", b"done")
    assert result_of(d).body == b"done"
    assert busy.ended
    assert len(pool.workers) == 2
    supervisor.stop()


def test_supervisor_idle_ttl_only_used_workers() -> None:
    """idle_ttl retires workers that served a request and sat idle; never-used ones stay."""
    reactor = FakeProcessReactor()
    sup = SupervisorConfig(watch_tick=1.0, idle_ttl=3.0)
    pool = make_pool(reactor, num_workers=2, supervisor=sup)
    Supervisor(reactor, pool, sup).start()
    result_of(pool.exec(REQ))
    used = next(w for w in reactor.spawned if w.requests)
    unused = next(w for w in reactor.spawned if not w.requests)
    reactor.advance(4.0)
    assert used.ended
    assert not unused.ended


def test_supervisor_memory_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """max_worker_memory retires a worker whose RSS is over the limit, also right after a response."""
    from rr.worker import process

    monkeypatch.setattr(process.WorkerProcess, "rss", lambda self: 200 * 1024 * 1024)
    reactor = FakeProcessReactor()
    sup = SupervisorConfig(watch_tick=100.0, max_worker_memory=100 * 1024 * 1024)
    pool = make_pool(reactor, num_workers=1, supervisor=sup)
    result_of(pool.exec(REQ))
    assert reactor.spawned[0].ended
    assert len(reactor.spawned) == 2


def test_rolling_reset_keeps_capacity() -> None:
    """reset() starts new workers before retiring old ones; busy ones finish their request."""
    reactor = FakeProcessReactor(silent)
    pool = make_pool(reactor, num_workers=2)
    d = pool.exec(REQ)
    busy = next(w for w in reactor.spawned if w.requests)
    done = pool.reset()
    result_of(done)
    assert len(reactor.spawned) == 4
    assert not busy.ended
    busy.respond(b"", b"finished")
    assert result_of(d).body == b"finished"
    assert busy.ended
    assert sorted(w.pid for w in pool.workers) == [reactor.spawned[2].pid, reactor.spawned[3].pid]


def test_stop_waits_for_inflight_then_stops_workers() -> None:
    """stop() lets the running request finish, then sends every worker the stop frame."""
    reactor = FakeProcessReactor(silent)
    pool = make_pool(reactor, num_workers=2)
    d = pool.exec(REQ)
    stopped = pool.stop()
    no_result(stopped)
    failure_of(pool.exec(REQ), PoolStopped)
    busy = next(w for w in reactor.spawned if w.requests)
    busy.respond(b"", b"ok")
    assert result_of(d).body == b"ok"
    result_of(stopped)
    assert all(w.ended for w in reactor.spawned)
    assert len(reactor.spawned) == 2


def test_stop_kills_after_grace() -> None:
    """A worker that ignores the stop frame gets TERM, then KILL."""
    reactor = FakeProcessReactor()
    pool = make_pool(reactor, num_workers=1)
    reactor.spawned[0].exit_on_stop = False
    stopped = pool.stop()
    reactor.advance(5.0)
    assert reactor.spawned[0].signals == ["TERM"]
    result_of(stopped)


def test_stderr_lines_are_logged_with_pid() -> None:
    """Each STDERR line becomes a log event with pool and pid."""
    from twisted.logger import globalLogPublisher

    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        reactor = FakeProcessReactor()
        make_pool(reactor, num_workers=1)
        reactor.spawned[0].stderr("hello from php")
    finally:
        globalLogPublisher.removeObserver(events.append)
    match = [e for e in events if e.get("line") == "hello from php"]
    assert match and match[0]["pid"] == reactor.spawned[0].pid and match[0]["pool"] == "http"
    assert match[0]["rr_channel"] == "server"


def test_config_is_frozen() -> None:
    """Pool config cannot be changed behind the pool's back."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        PoolConfig().num_workers = 3  # type: ignore[misc]
