# -*- test-case-name: tests.pool.test_pool -*-
"""A pool of PHP workers that runs payloads one per worker and queues the rest.

The pool keeps ``num_workers`` workers alive, hands each request to an idle worker or
queues it (bounded by ``allocate_timeout`` and ``max_queue_size``), and replaces workers
that hit ``max_jobs``, a supervisor limit, crash, or ask to be stopped. All time goes
through the injected reactor.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import CancelledError, Deferred, DeferredList, fail
from twisted.logger import Logger

from rr.errors import BootError, NoFreeWorker, PoolStopped, QueueFull, WorkerError
from rr.worker.process import StopRequested, WorkerProcess
from rr.worker.state import WorkerState

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall, IReactorTime
    from twisted.python.failure import Failure

    from rr.config._schema import PoolConfig
    from rr.dispatch import FrameSink
    from rr.payload import Payload

#: Starts the OS process behind a worker protocol (reactor.spawnProcess, or a fake).
Spawner = Callable[[WorkerProcess], None]

_MAX_BACKOFF = 30.0
_DYNAMIC_GRACE = 2.0


class _Task:
    """One request from the moment it enters the pool until its answer."""

    __slots__ = ("_cancel_hook", "cancelled", "deferred", "on_frame", "payload", "timer", "worker")

    def __init__(
        self, payload: Payload, on_frame: FrameSink | None, cancel_hook: Callable[[_Task], None]
    ) -> None:
        self.payload = payload
        self.on_frame = on_frame
        self.timer: IDelayedCall | None = None
        self.worker: WorkerProcess | None = None
        self.cancelled = False
        self.deferred: Deferred[Payload] = Deferred(self._cancel)
        self._cancel_hook = cancel_hook

    def _cancel(self, _: Deferred[Payload]) -> None:
        self.cancelled = True
        self._cancel_hook(self)


class WorkerPool:
    """Runs payloads on a static (optionally growing) set of workers.

    :param spawn: starts the process for a :class:`WorkerProcess` protocol.
    """

    _log = Logger(namespace="rr.pool")

    def __init__(
        self,
        reactor: IReactorTime,
        config: PoolConfig,
        spawn: Spawner,
        *,
        name: str = "http",
        max_payload: int = 1 << 30,
        rng: random.Random | None = None,
    ) -> None:
        self._reactor = reactor
        self.config = config
        self.name = name
        self._spawn = spawn
        self._max_payload = max_payload
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.workers: list[WorkerProcess] = []
        self._idle: deque[WorkerProcess] = deque()
        self._queue: deque[_Task] = deque()
        self._starting = 0
        self._in_pool = 0
        self._target = 0 if config.debug else config.num_workers
        self._failures = 0
        self._refill_call: IDelayedCall | None = None
        self._stopping = False
        self._drain_waiters: list[Deferred[None]] = []
        self._dyn_extra = 0
        self._dyn_last = -1e9
        self._dyn_timer: IDelayedCall | None = None
        sup = config.supervisor
        self._exec_ttl = sup.exec_ttl if sup else 0.0
        self._max_memory = sup.max_worker_memory if sup else 0

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> Deferred[None]:
        """Spawn ``num_workers`` workers; fires when all are ready.

        :raises BootError: (as a failure) when any worker cannot start; the others are killed.
        """
        spawns = [self._spawn_one() for _ in range(self._target)]
        if not spawns:
            return Deferred.fromCoroutine(_noop())

        def booted(_: object) -> None:
            return None

        def failed(failure: Failure) -> Failure:
            for worker in self.workers:
                worker.kill()
            error = failure.value
            sub = getattr(error, "subFailure", None)
            if sub is not None:
                return sub  # type: ignore[no-any-return]
            return failure

        d: Deferred[Any] = DeferredList(spawns, fireOnOneErrback=True, consumeErrors=True)
        return d.addCallbacks(booted, failed)

    def stop(self) -> Deferred[None]:
        """Stop taking work; finish queued and running requests, then stop every worker.

        Requests get ``destroy_timeout`` to finish.
        """
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        self._stopping = True
        self._target = 0
        if self._refill_call is not None and self._refill_call.active():
            self._refill_call.cancel()
        if self._dyn_timer is not None and self._dyn_timer.active():
            self._dyn_timer.cancel()
        if self._in_pool:
            waiter: Deferred[None] = Deferred()
            self._drain_waiters.append(waiter)
            waiter.addTimeout(self.config.destroy_timeout, self._reactor)
            try:
                await waiter
            except Exception:  # noqa: BLE001 - timeout: stop the rest anyway
                self._log.warn(
                    "pool {pool}: requests still running after pool.destroy_timeout; stopping",
                    pool=self.name,
                )
        for task in list(self._queue):
            self._queue.remove(task)
            self._settle(task, error=PoolStopped())
        workers = list(self.workers)
        self.workers.clear()
        self._idle.clear()
        await DeferredList([w.stop() for w in workers], consumeErrors=True)

    def kill_all(self) -> None:
        """SIGKILL every worker now (forced exit)."""
        self._stopping = True
        self._target = 0
        for worker in self.workers:
            worker.kill()

    def reset(self) -> Deferred[None]:
        """Replace every worker, a few at a time, new ones first, so capacity never drops."""
        return Deferred.fromCoroutine(self._reset())

    async def _reset(self) -> None:
        old = list(self.workers)
        batch = max(1, len(old) // 4)
        for start in range(0, len(old), batch):
            group = old[start : start + batch]
            self._target += len(group)
            try:
                await DeferredList(
                    [self._spawn_one() for _ in group], fireOnOneErrback=True, consumeErrors=True
                )
            finally:
                self._target -= len(group)
            for worker in group:
                self.retire(worker, "reset")

    def add_worker(self) -> None:
        """Keep one more worker (``informer.AddWorker``); a no-op for a debug pool."""
        if self.config.debug or self._stopping:
            return
        self._target += 1
        self._refill()

    def remove_worker(self) -> bool:
        """Keep one worker fewer, retiring an idle one now (``informer.RemoveWorker``).

        A busy worker is retired after its request. Never removes the last worker.
        """
        if self.config.debug or self._target <= 1:
            return False
        self._target -= 1
        if self._idle:
            self.retire(self._idle[0], "pool shrinking")
        return True

    # -- work -----------------------------------------------------------------------

    def exec(self, payload: Payload, on_frame: FrameSink | None = None) -> Deferred[Payload]:
        """Run ``payload`` on a worker (see :class:`rr.dispatch.Executor`)."""
        if self._stopping:
            return fail(PoolStopped())
        limit = self.config.max_queue_size
        if limit and self._in_pool >= limit and not self.config.debug:
            return fail(QueueFull())
        task = _Task(payload, on_frame, self._cancelled)
        self._in_pool += 1
        if self._idle:
            self._run(task, self._idle.pop())
        else:
            self._enqueue(task)
        return task.deferred

    def _enqueue(self, task: _Task, *, front: bool = False) -> None:
        if front:
            self._queue.appendleft(task)
        else:
            self._queue.append(task)
        task.timer = self._reactor.callLater(
            self.config.allocate_timeout, self._allocate_expired, task
        )
        if self.config.debug:
            self._spawn_one()
        elif self.config.dynamic_allocator is not None:
            self._grow()

    def _run(self, task: _Task, worker: WorkerProcess) -> None:
        if task.timer is not None and task.timer.active():
            task.timer.cancel()
        task.timer = None
        task.worker = worker
        sink = None if task.on_frame is None else (lambda chunk: self._chunk(task, chunk))
        try:
            d = worker.exec(task.payload, sink, self._exec_ttl)
        except WorkerError as e:
            self._discard(worker)
            self._settle(task, error=e)
            return
        d.addCallbacks(
            self._done, self._failed, callbackArgs=(task, worker), errbackArgs=(task, worker)
        )

    def _chunk(self, task: _Task, chunk: Payload) -> None:
        assert task.worker is not None
        if task.cancelled or task.on_frame is None:
            task.worker.stop_stream()
            return
        try:
            task.on_frame(chunk)
        except Exception:  # noqa: BLE001 - a broken consumer must not break the worker
            self._log.failure("pool {pool}: stream consumer failed", pool=self.name)
            task.cancelled = True
            task.worker.stop_stream()

    def _done(self, result: Payload, task: _Task, worker: WorkerProcess) -> None:
        # Hand the worker its next request before answering this one: PHP then works
        # while we write the response to the client.
        self._release(worker)
        self._settle(task, result=result)

    def _failed(self, failure: Failure, task: _Task, worker: WorkerProcess) -> None:
        error = failure.value
        if isinstance(error, StopRequested):
            self._log.info(
                "worker {pid} asked to be stopped; running its request on another worker",
                pid=worker.pid,
                pool=self.name,
            )
            self.retire(worker, "worker stop request")
            if task.cancelled:
                self._settle(task, error=CancelledError())
            elif self._idle:
                self._run(task, self._idle.pop())
            else:
                self._enqueue(task, front=True)
            return
        self._settle(task, error=error)
        if worker.state is WorkerState.READY:
            self._release(worker)  # a soft error frame: the worker stays
        else:
            self._discard(worker)

    def _settle(
        self, task: _Task, result: Payload | None = None, error: BaseException | None = None
    ) -> None:
        self._in_pool -= 1
        if not task.cancelled:
            if error is not None:
                task.deferred.errback(error)
            elif result is not None:
                task.deferred.callback(result)
        if self._in_pool == 0 and self._drain_waiters:
            waiters, self._drain_waiters = self._drain_waiters, []
            for waiter in waiters:
                waiter.callback(None)

    def _cancelled(self, task: _Task) -> None:
        if task.worker is None:
            if task in self._queue:
                self._queue.remove(task)
                if task.timer is not None and task.timer.active():
                    task.timer.cancel()
                self._settle(task)
        elif task.worker.busy:
            task.worker.stop_stream()

    def _allocate_expired(self, task: _Task) -> None:
        task.timer = None
        if task not in self._queue:
            return
        dyn = self.config.dynamic_allocator
        if dyn is not None and not self.config.debug and self._dyn_extra < dyn.max_workers:
            self._grow(force=True)
            task.timer = self._reactor.callLater(_DYNAMIC_GRACE, self._allocate_expired, task)
            return
        self._queue.remove(task)
        self._log.error(
            "pool {pool}: no free workers in the pool, wait timeout exceed (pool.allocate_timeout)",
            pool=self.name,
        )
        self._settle(task, error=NoFreeWorker())

    # -- workers --------------------------------------------------------------------

    def _release(self, worker: WorkerProcess) -> None:
        if worker not in self.workers:
            return
        reason = self._retire_reason(worker)
        if reason is not None:
            self.retire(worker, reason)
            return
        if self._queue:
            self._run(self._queue.popleft(), worker)
        else:
            self._idle.append(worker)

    def _retire_reason(self, worker: WorkerProcess) -> str | None:
        if worker.state is WorkerState.INVALID:
            return worker.retire_reason or "supervisor limit"
        if worker.state is not WorkerState.READY:
            return f"worker is {worker.state.value}"
        if worker.max_jobs and worker.jobs_done >= worker.max_jobs:
            return "pool.max_jobs"
        if len(self.workers) > self._target and not self._queue:
            return "pool shrinking"
        if self._max_memory and worker.jobs_done and worker.rss() >= self._max_memory:
            return "supervisor.max_worker_memory"
        return None

    def retire(self, worker: WorkerProcess, reason: str) -> None:
        """Stop ``worker`` gracefully now (or after its request) and refill the pool."""
        if worker.busy:
            if worker.state is WorkerState.WORKING:
                worker.state = WorkerState.INVALID
                worker.retire_reason = reason
            self._log.info(
                "worker {pid} will be replaced after its request ({reason})",
                pid=worker.pid,
                reason=reason,
                pool=self.name,
            )
            return
        if worker not in self.workers:
            return
        if reason not in ("pool.max_jobs", "pool shrinking", "reset"):
            self._log.info(
                "worker {pid} stopped and replaced ({reason})",
                pid=worker.pid,
                reason=reason,
                pool=self.name,
            )
        self.workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        worker.stop()
        self._refill()

    def soft_limit(self, worker: WorkerProcess, reason: str) -> None:
        """A supervisor limit fired: retire idle workers now, busy ones after their request."""
        if worker.state in (WorkerState.READY, WorkerState.WORKING):
            self.retire(worker, reason)

    def _discard(self, worker: WorkerProcess) -> None:
        if worker in self.workers:
            self.workers.remove(worker)
            if worker in self._idle:
                self._idle.remove(worker)
            self._refill()

    def _worker_exited(self, _: object, worker: WorkerProcess) -> None:
        if worker in self.workers:
            self._log.warn(
                "worker {pid} died (exit code {code}); replacing it",
                pid=worker.pid,
                code=worker.exit_code,
                pool=self.name,
            )
            self._discard(worker)

    def _refill(self) -> None:
        if self._refill_call is not None and self._refill_call.active():
            return
        while not self._stopping and len(self.workers) + self._starting < self._target:
            self._spawn_one().addErrback(self._refill_failed)
            if self._refill_call is not None and self._refill_call.active():
                break

    def _refill_failed(self, failure: Failure) -> None:
        self._failures += 1
        delay = min(0.1 * 2 ** min(self._failures, 10), _MAX_BACKOFF)
        self._log.error(
            "pool {pool}: worker failed to start ({error}); retrying in {delay:.1f}s",
            pool=self.name,
            error=failure.getErrorMessage(),
            delay=delay,
        )
        if self._stopping or (self._refill_call is not None and self._refill_call.active()):
            return
        self._refill_call = self._reactor.callLater(delay, self._refill)

    def _spawn_one(self) -> Deferred[None]:
        worker = WorkerProcess(
            self._reactor,
            pool=self.name,
            max_payload=self._max_payload,
            stream_timeout=self.config.stream_timeout,
        )
        max_jobs = 1 if self.config.debug else self.config.max_jobs
        if max_jobs > 1:
            max_jobs += max_jobs * self._rng.randint(0, 14) // 100
        worker.max_jobs = max_jobs
        self._starting += 1
        try:
            self._spawn(worker)
        except Exception as e:  # noqa: BLE001 - reported as a boot failure
            self._starting -= 1
            return fail(BootError(f"cannot start worker: {e}"))
        worker.exited.addCallback(self._worker_exited, worker)
        ready = worker.ready
        ready.addTimeout(self.config.allocate_timeout, self._reactor)

        def up(_: None) -> None:
            self._starting -= 1
            if worker.state is not WorkerState.READY:
                raise BootError(f"worker {worker.pid} exited right after its handshake")
            self._failures = 0
            self.workers.append(worker)
            if self._stopping:
                self.workers.remove(worker)
                worker.stop()
                return
            self._release(worker)

        def down(failure: Failure) -> Failure:
            self._starting -= 1
            worker.kill()
            if not isinstance(failure.value, BootError):
                raise BootError(
                    f"worker {worker.pid} did not finish the handshake within pool.allocate_timeout"
                )
            return failure

        return ready.addCallbacks(up, down)

    # -- dynamic allocator ------------------------------------------------------------

    def _grow(self, *, force: bool = False) -> None:
        dyn = self.config.dynamic_allocator
        if dyn is None or self._stopping or self._idle:
            return
        now = self._reactor.seconds()
        if not force and now - self._dyn_last < 1.0:
            return
        room = dyn.max_workers - self._dyn_extra
        if room <= 0:
            return
        count = min(dyn.spawn_rate, room)
        self._dyn_last = now
        self._dyn_extra += count
        self._target += count
        self._log.info(
            "pool {pool}: dynamic allocator adds {count} workers", pool=self.name, count=count
        )
        self._refill()
        if self._dyn_timer is not None and self._dyn_timer.active():
            self._dyn_timer.reset(dyn.idle_timeout)
        else:
            self._dyn_timer = self._reactor.callLater(dyn.idle_timeout, self._shrink)

    def _shrink(self) -> None:
        self._target -= self._dyn_extra
        self._dyn_extra = 0
        for worker in list(self._idle):
            if len(self.workers) <= self._target:
                break
            self.retire(worker, "pool shrinking")

    # -- introspection --------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Requests waiting for a worker."""
        return len(self._queue)

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` or :meth:`kill_all` was called."""
        return self._stopping

    @property
    def idle(self) -> int:
        """Workers ready for a request."""
        return len(self._idle)


async def _noop() -> None:
    return None
