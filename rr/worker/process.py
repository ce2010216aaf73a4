# -*- test-case-name: tests.worker.test_process -*-
"""One PHP worker process: spawn, pid handshake, one request at a time, streaming, stop.

The ProcessProtocol owns the process; frames travel over a relay (the child's stdin and
stdout for ``pipes``, or a socket, see :mod:`rr.worker.socket_relay`). STDERR is drained
line by line into log events carrying the pool name and pid.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import orjson
import psutil
from twisted.internet.defer import Deferred
from twisted.internet.error import ProcessDone, ProcessExitedAlready
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from typing_extensions import override

from rr.errors import BootError, ExecTimeout, FrameError, WorkerCrashed, WorkerError
from rr.goridge.frame import (
    PONG_FRAME,
    STOP_FRAME,
    Flags,
    Frame,
    FrameDecoder,
    Stream,
    encode,
    encode_data,
)
from rr.payload import Payload
from rr.worker.eager import write_to_child
from rr.worker.state import LIVE_STATES, WorkerState

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall, IReactorTime
    from twisted.python.failure import Failure

_STOP_ME = b'{"stop":true}'
_STOP_CONTROL = encode(_STOP_ME, flags=Flags.CONTROL | Flags.CODEC_JSON)
_PID_REQUEST = encode(b'{"pid":%d}' % os.getpid(), flags=Flags.CONTROL | Flags.CODEC_JSON)
# Plain ints for the per-frame tests: `int & IntFlag` goes through enum and costs ~2 us.
_ERROR = int(Flags.ERROR)
_CONTROL = int(Flags.CONTROL)
_PING = int(Stream.PING)
_PONG = int(Stream.PONG)
_STREAM = int(Stream.STREAM)
_STDERR_KEEP = 20
_MAX_LINE = 64 * 1024

FrameSink = Callable[[Payload], None]


class StopRequested(WorkerError):
    """The worker answered ``{"stop":true}``: stop it and run the request elsewhere."""


class _Job:
    """The request a worker is running."""

    __slots__ = (
        "chunks",
        "context",
        "deferred",
        "draining",
        "on_frame",
        "stop_sent",
        "streaming",
        "timer",
    )

    def __init__(self, on_frame: FrameSink | None) -> None:
        self.deferred: Deferred[Payload] = Deferred()
        self.on_frame = on_frame
        self.context: bytes | None = None  # first context of a stream joined for a caller
        self.chunks: list[bytes] = []
        self.streaming = False
        self.draining = False  # the caller is gone: stop any stream and discard the answer
        self.stop_sent = False
        self.timer: IDelayedCall | None = None


class WorkerProcess(ProcessProtocol):
    """A PHP worker process and its relay.

    :ivar ready: fires when the pid handshake is done; errbacks with :class:`BootError`
        when the process dies or breaks the protocol first.
    :ivar exited: fires once the process has ended.
    """

    _log = Logger(namespace="rr.worker")

    def __init__(
        self,
        reactor: IReactorTime,
        *,
        pool: str,
        max_payload: int = 1 << 30,
        stream_timeout: float = 60.0,
        stop_grace: float = 10.0,
    ) -> None:
        self._reactor = reactor
        self.pool = pool
        self.pid: int | None = None
        self.state = WorkerState.INACTIVE
        self.created = reactor.seconds()
        self.last_used = self.created
        self.jobs_done = 0
        self.max_jobs = 0
        self.retire_reason: str | None = None
        self.ready: Deferred[None] = Deferred()
        self.exited: Deferred[None] = Deferred()
        self._decoder = FrameDecoder(max_payload)
        self._job: _Job | None = None
        self._stream_timeout = stream_timeout
        self._stop_grace = stop_grace
        self._stderr_buf = b""
        self._stderr_tail: deque[str] = deque(maxlen=_STDERR_KEEP)
        self._timers: list[IDelayedCall] = []
        self._ended = False
        self._write: Callable[[bytes], None] = self._write_pipe
        self._socket_mode = False
        self._exec_timeout = 0.0
        self.exit_code: int | None = None

    # -- relay ------------------------------------------------------------------------

    def _write_pipe(self, data: bytes) -> None:
        if self.transport is not None:
            write_to_child(self.transport, data)

    def use_socket_relay(self) -> None:
        """Frames will travel over a socket attached later; stdout is only logged."""
        self._socket_mode = True
        self._write = self._write_unattached

    def _write_unattached(self, data: bytes) -> None:
        self._log.debug(
            "worker {pid} has no relay yet; dropped {n} bytes", pid=self.pid, n=len(data)
        )

    def attach_relay(self, write: Callable[[bytes], None]) -> None:
        """Send frames through ``write`` (a socket relay) instead of the child's stdin."""
        self._write = write

    def send_handshake(self) -> None:
        """Ask the worker for its pid; the reply completes :attr:`ready`."""
        self._write(_PID_REQUEST)

    def relay_data(self, data: bytes) -> None:
        """Bytes from the worker's relay."""
        try:
            frames = self._decoder.feed(data)
        except FrameError as e:
            self._bad_output(e)
            return
        for frame in frames:
            self._on_frame(frame)
            if self.state not in LIVE_STATES and self.state is not WorkerState.STOPPING:
                return

    def relay_lost(self, reason: str) -> None:
        """The relay closed: the worker cannot answer any more."""
        if self._ended or self.state in (WorkerState.STOPPED, WorkerState.DESTROYED):
            return
        if self.state is not WorkerState.STOPPING:
            self._fail(WorkerCrashed(self.pid, f"relay closed: {reason}"))
        # Without SIGCHLD handling processEnded may come late: make sure the process goes.
        self._later(1.0, self.kill)

    # -- ProcessProtocol --------------------------------------------------------------

    @override
    def connectionMade(self) -> None:
        assert self.transport is not None
        self.pid = self.transport.pid
        if not self._socket_mode:
            self.send_handshake()

    @override
    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if childFD == 1:
            if not self._socket_mode:
                self.relay_data(data)
            else:
                self._stderr(data)
        elif childFD == 2:  # noqa: PLR2004
            self._stderr(data)

    @override
    def childConnectionLost(self, childFD: int) -> None:
        if childFD == 1 and not self._socket_mode:
            self.relay_lost("worker closed STDOUT")

    @override
    def processEnded(self, reason: Failure) -> None:
        self._ended = True
        if self._stderr_buf:
            self._emit_stderr(self._stderr_buf)
            self._stderr_buf = b""
        value = reason.value
        self.exit_code = getattr(value, "exitCode", None)
        clean = isinstance(value, ProcessDone)
        was = self.state
        if was is WorkerState.INACTIVE:
            tail = " | ".join(self._stderr_tail) or "no output"
            self._fail_boot(
                BootError(f"worker {self.pid} exited before the handshake ({value}): {tail}")
            )
        elif was is not WorkerState.STOPPING:
            self._log.warn(
                "worker {pid} exited: {reason}", pid=self.pid, reason=str(value), pool=self.pool
            )
        self._fail(WorkerCrashed(self.pid, f"worker exited: {value}"))
        self.state = (
            WorkerState.STOPPED if clean or was is WorkerState.STOPPING else WorkerState.ERRORED
        )
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        self._timers.clear()
        self.exited.callback(None)

    # -- work -------------------------------------------------------------------------

    def exec(
        self, payload: Payload, on_frame: FrameSink | None = None, timeout: float = 0.0
    ) -> Deferred[Payload]:
        """Send one request; the Deferred fires with the final response frame.

        :param timeout: ``exec_ttl``: per frame awaited; on expiry the worker is killed.
        """
        if self.state is not WorkerState.READY:
            raise WorkerError(self.pid, f"worker is {self.state.value}, not ready")
        job = _Job(on_frame)
        self._job = job
        self.state = WorkerState.WORKING
        self.last_used = self._reactor.seconds()
        self._exec_timeout = timeout
        if timeout > 0:
            job.timer = self._reactor.callLater(timeout, self._exec_expired)
        self._write(encode_data(payload.context, payload.body, payload.codec))
        return job.deferred

    def stop_stream(self) -> None:
        """Ask the worker to abandon the stream it is sending; drain it within stream_timeout."""
        job = self._job
        if job is None or job.draining:
            return
        job.draining = True
        if job.streaming:
            self._send_stop(job)

    def _send_stop(self, job: _Job) -> None:
        job.stop_sent = True
        self._write(STOP_FRAME)
        self._rearm(job, self._stream_timeout, self._drain_expired)

    @property
    def busy(self) -> bool:
        """True while a request is in flight."""
        return self._job is not None

    def rss(self) -> int:
        """Resident memory of the process in bytes (0 when it cannot be read)."""
        if self.pid is None or self._ended:
            return 0
        try:
            return int(psutil.Process(self.pid).memory_info().rss)
        except (psutil.Error, OSError):
            return 0

    def stop(self) -> Deferred[None]:
        """Graceful stop: the stop frame, TERM after half the grace period, KILL after it."""
        if self._ended:
            return self.exited
        if self.state is not WorkerState.STOPPING:
            self.state = WorkerState.STOPPING
            try:
                self._write(_STOP_CONTROL)
                if not self._socket_mode and self.transport is not None:
                    self.transport.closeStdin()
            except Exception:  # noqa: BLE001 - a broken pipe only means it is already gone
                self._log.debug("stop frame to worker {pid} failed", pid=self.pid)
            self._later(self._stop_grace / 2, lambda: self._signal("TERM"))
            self._later(self._stop_grace, self.kill)
        return self.exited

    def kill(self) -> None:
        """SIGKILL now."""
        self._signal("KILL")

    # -- internals ----------------------------------------------------------------------

    def _signal(self, name: str) -> None:
        if self._ended or self.transport is None:
            return
        with contextlib.suppress(ProcessExitedAlready, OSError):
            self.transport.signalProcess(name)

    def _later(self, delay: float, fn: Callable[[], None]) -> None:
        self._timers = [t for t in self._timers if t.active()]
        self._timers.append(self._reactor.callLater(delay, fn))

    def _rearm(self, job: _Job, delay: float, fn: Callable[[], None]) -> None:
        if job.timer is not None and job.timer.active():
            job.timer.cancel()
        job.timer = self._reactor.callLater(delay, fn) if delay > 0 else None

    def _on_frame(self, frame: Frame) -> None:  # noqa: C901, PLR0911, PLR0912 - spec order
        if self.state is WorkerState.INACTIVE:
            self._handshake(frame)
            return
        job = self._job
        if job is None:
            if frame.stream & _PONG or self.state is WorkerState.STOPPING:
                return
            self._protocol_error(f"unexpected frame from an idle worker: {frame.payload[:64]!r}")
            return
        if self._exec_timeout > 0 and not job.stop_sent:
            self._rearm(job, self._exec_timeout, self._exec_expired)
        if frame.flags & _ERROR:
            message = frame.payload.decode("utf-8", "replace")
            if job.streaming:
                self._protocol_error(f"error during a stream: {message}")
            else:
                self._finish(job, error=WorkerError(self.pid, message))
            return
        options = frame.options
        payload = frame.payload
        if len(options) != 1 or options[0] > len(payload):
            self._protocol_error("bad data frame: options length should be equal 1 (body offset)")
            return
        split = options[0]
        if frame.stream & _PING:
            self._write(PONG_FRAME)
        if not job.streaming and split == len(_STOP_ME) == len(payload) and payload == _STOP_ME:
            self._finish(job, error=StopRequested(self.pid, "worker asked to be stopped"))
            return
        if frame.stream & _STREAM:
            job.streaming = True
            if job.draining:
                if not job.stop_sent:
                    self._send_stop(job)
                return
            chunk = Payload(payload[:split], payload[split:], frame.flags, stream=True)
            if job.on_frame is not None:
                job.on_frame(chunk)
                return
            if job.context is None:
                job.context = chunk.context
            job.chunks.append(chunk.body)
            return
        context = payload[:split]
        body = payload[split:]
        if job.context is not None:
            context = job.context
            body = b"".join(job.chunks) + body
        self._finish(job, Payload(context, body, frame.flags))

    def _finish(
        self, job: _Job, result: Payload | None = None, error: Exception | None = None
    ) -> None:
        if job.timer is not None and job.timer.active():
            job.timer.cancel()
        self._job = None
        self.jobs_done += 1
        self.last_used = self._reactor.seconds()
        if self.state is WorkerState.WORKING:
            self.state = WorkerState.READY
        if error is not None:
            job.deferred.errback(error)
        else:
            assert result is not None
            job.deferred.callback(result)

    def _handshake(self, frame: Frame) -> None:
        pid = 0
        if frame.flags & _CONTROL:
            try:
                data = orjson.loads(frame.payload)
                pid = int(data.get("pid", 0)) if isinstance(data, dict) else 0
            except (orjson.JSONDecodeError, TypeError, ValueError):
                pid = 0
        if pid <= 0:
            self._fail_boot(
                BootError(f"worker {self.pid} failed the pid handshake: {frame.payload[:200]!r}")
            )
            self.kill()
            return
        self.state = WorkerState.READY
        self.ready.callback(None)

    def _bad_output(self, error: FrameError) -> None:
        data = error.data + self._decoder.buffered[len(error.data) :]
        if data.startswith(b"Could not op"):
            message = f"worker script not found: {data.decode('utf-8', 'replace').strip()}"
        else:
            message = (
                "validation failed on the message sent to STDOUT, worker output must go to "
                f"STDERR (write to STDERR, not STDOUT); {error}; invalid message: {data[:256]!r}"
            )
        self._protocol_error(message)

    def _protocol_error(self, message: str) -> None:
        self._log.error(
            "worker {pid} broke the protocol: {message}",
            pid=self.pid,
            message=message,
            pool=self.pool,
        )
        if self.state is WorkerState.INACTIVE:
            self._fail_boot(BootError(f"worker {self.pid}: {message}"))
        self._fail(WorkerError(self.pid, message))
        self.state = WorkerState.ERRORED
        self.kill()

    def _exec_expired(self) -> None:
        self._log.warn(
            "worker {pid} exceeded supervisor.exec_ttl, killing it", pid=self.pid, pool=self.pool
        )
        self._fail(ExecTimeout(self.pid, "worker exceeded supervisor.exec_ttl and was killed"))
        self.state = WorkerState.ERRORED
        self.kill()

    def _drain_expired(self) -> None:
        self._log.warn(
            "worker {pid} did not end its stream within pool.stream_timeout, killing it",
            pid=self.pid,
            pool=self.pool,
        )
        self._fail(WorkerError(self.pid, "stream stop timed out (pool.stream_timeout)"))
        self.state = WorkerState.ERRORED
        self.kill()

    def _fail(self, error: WorkerError) -> None:
        job = self._job
        if job is None:
            return
        if job.timer is not None and job.timer.active():
            job.timer.cancel()
        self._job = None
        if self.state in (WorkerState.WORKING, WorkerState.INVALID):
            self.state = WorkerState.ERRORED
        job.deferred.errback(error)

    def _fail_boot(self, error: BootError) -> None:
        if not self.ready.called:
            self.state = WorkerState.ERRORED
            self.ready.errback(error)

    def _stderr(self, data: bytes) -> None:
        buf = self._stderr_buf + data
        *lines, rest = buf.split(b"\n")
        for line in lines:
            self._emit_stderr(line)
        if len(rest) > _MAX_LINE:
            self._emit_stderr(rest)
            rest = b""
        self._stderr_buf = rest

    def _emit_stderr(self, raw: bytes) -> None:
        line = raw.rstrip(b"\r").decode("utf-8", "replace")
        if not line:
            return
        self._stderr_tail.append(line)
        self._log.info("{line}", line=line, pid=self.pid, pool=self.pool, rr_channel="server")
