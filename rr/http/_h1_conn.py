# -*- test-case-name: tests.http.test_h1_limits -*-
"""The writing half of an HTTP/1.1 connection: response order, files, flow control, timers.

:class:`H1Connection` is the base of :class:`rr.http.h1.H1Protocol`, which parses requests
and runs them; this half owns everything that goes back to the client:

* responses leave strictly in request order: a response ready before the ones ahead of it
  is kept in its :class:`H1Request` until the wire is its turn;
* the connection is its transport's streaming producer. While the transport's buffer is
  over its high-water mark (the client is not reading), file bodies stop being read,
  ``http.limits.write_timeout`` runs, and a client that takes nothing for that long is
  dropped. Worker streams cannot be held by the pool yet, so a stream that keeps producing
  while the client is stalled is buffered up to :data:`MAX_STALLED_BYTES`, then the
  connection is dropped (which stops the stream and frees the worker);
* a refused request whose body the client may still be sending (413) is answered, then the
  write side is shut and the body drained for a bounded time, so the client reads the 413
  instead of a connection reset;
* the read deadlines: one lazily re-armed DelayedCall per connection.
"""

from __future__ import annotations

from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Final

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from typing_extensions import override
from zope.interface import implementer

from rr.http import _response as wire
from rr.http._file import FileSender
from rr.http._transport import is_tls
from rr.http.access_log import RequestDone, RequestLog, peer_address
from rr.worker.eager import write_to_socket

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall, IReactorTime
    from twisted.python.failure import Failure

    from rr.config._schema import HTTPConfig
    from rr.http.codec import RequestBuilder, RequestHead
    from rr.http.middleware import BodyEncoder, Response
    from rr.payload import Payload

#: Parsed-but-unanswered requests above which the connection stops reading.
MAX_QUEUED: Final = 16
#: Bytes a worker stream may add to the transport's buffer while the client is not reading.
MAX_STALLED_BYTES: Final = 16 << 20
#: After a refusal with an unread body: how long and how much of it is drained.
LINGER_SECONDS: Final = 2.0
LINGER_BYTES: Final = 1 << 20

# Parser phases.
IDLE: Final = 0  # between messages
HEAD: Final = 1  # request line / headers being read
BODY: Final = 2  # headers complete, body being read

# What the connection's single read timer currently guards.
T_NONE: Final = 0
T_IDLE: Final = 1
T_HEADER: Final = 2
T_BODY: Final = 3


class H1Request:
    """One request of a connection, from its complete head to its last response byte."""

    __slots__ = (
        "answer", "builder", "cancelled", "close", "deferred", "done", "encoder", "file",
        "framing", "head", "head_request", "http11", "keep_alive", "linger", "method",
        "on_frame", "out", "payload", "read_bytes", "replaced", "start", "status", "target",
        "write_bytes",
    )

    def __init__(
        self,
        builder: RequestBuilder | None,
        method: str,
        target: str,
        *,
        http11: bool,
        keep_alive: bool,
    ) -> None:
        self.builder = builder
        self.method = method
        self.target = target
        self.http11 = http11
        self.keep_alive = keep_alive
        self.head_request = method == "HEAD"
        self.payload: Payload | None = None  # set while waiting for an in-flight slot
        self.deferred: Deferred[Payload] | None = None  # the pending exec
        self.framing: wire.BodyFraming | None = None  # set once a streamed head is written
        self.out: list[bytes] = []  # bytes waiting for the requests ahead to finish
        self.on_frame: partial[None] | None = None
        self.done = False  # the whole response is produced
        self.close = False  # close the connection after this response
        self.linger = False  # ...but drain the unread request body first
        self.cancelled = False  # we cancelled the exec: its CancelledError is expected
        # middleware and access log
        self.head: RequestHead | None = None  # as the worker (or the answering entry) saw it
        self.answer: Response | None = None  # the chain answered: no worker
        self.encoder: BodyEncoder | None = None  # applied to the pieces of a stream
        self.file: FileSender | None = None  # a file body being (or waiting to be) sent
        self.replaced = False  # the chain replaced the worker's body: ignore its frames
        self.start = 0.0
        self.status: int | None = None  # the worker's final status, once known
        self.read_bytes = 0
        self.write_bytes = 0


@implementer(IPushProducer)
class H1Connection(Protocol):
    """Response ordering, file bodies, write flow control and read deadlines."""

    _log = Logger()

    def __init__(
        self,
        reactor: IReactorTime,
        config: HTTPConfig,
        dates: wire.DateCache | None,
        request_log: RequestLog | None,
    ) -> None:
        self._reactor = reactor
        self._dates = dates if dates is not None else wire.DateCache(reactor)
        self._request_log = request_log
        self._idle_timeout = config.limits.idle_timeout
        self._write_timeout = config.limits.write_timeout
        self._remote_addr = ""
        self._remote_port: int | None = None
        self._phase = IDLE
        self._queue: deque[H1Request] = deque()  # in response order; [0] owns the wire
        self._waiting: deque[H1Request] = deque()  # parsed, not yet handed to the executor
        self._reading = True
        self._paused = False  # we paused the transport's reading
        self._lost = False
        self._draining = False
        self._lingering = False
        self._linger_left = 0
        self.closed: Deferred[None] = Deferred()
        # write flow control
        self._stalled = False  # the transport paused us: the client is not reading
        self._stalled_bytes = 0
        self._write_timer: IDelayedCall | None = None
        self._pumping = False
        # the one read timer
        self._timer: IDelayedCall | None = None
        self._deadline = 0.0
        self._deadline_kind = T_NONE

    def _start_output(self) -> None:
        """Become the transport's producer (called from ``connectionMade``)."""
        if self.transport is not None:
            self.transport.registerProducer(self, True)  # type: ignore[attr-defined]  # noqa: FBT003

    def _deadline_passed(self, kind: int) -> None:
        """A read deadline (``T_HEADER``/``T_BODY``) expired; the subclass answers 408."""
        raise NotImplementedError

    # -- IPushProducer: the transport tells us whether the client keeps up ----------------

    def pauseProducing(self) -> None:
        """The transport's buffer is full: stop files, start the write timeout."""
        if self._stalled or self._lost:
            return
        self._stalled = True
        self._stalled_bytes = 0
        if self._write_timeout > 0:
            self._write_timer = self._reactor.callLater(self._write_timeout, self._write_stuck)

    def resumeProducing(self) -> None:
        """The client took the buffered bytes: go on."""
        self._stalled = False
        timer = self._write_timer
        if timer is not None:
            self._write_timer = None
            timer.cancel()
        self._pump()

    def stopProducing(self) -> None:
        """The transport is going away; ``connectionLost`` cleans up."""

    def _write_stuck(self) -> None:
        self._write_timer = None
        if self._lost or self.transport is None:
            return
        self._log.info("client {peer} read nothing for {timeout}s; dropping the connection",
                       peer=self._remote_addr, timeout=self._write_timeout, rr_channel="http")
        self._abort()

    def _abort(self) -> None:
        abort = getattr(self.transport, "abortConnection", None)
        if callable(abort):
            abort()
        elif self.transport is not None:
            self.transport.loseConnection()

    def _pump(self) -> None:
        """Send file bodies while the client keeps up (not re-entrant)."""
        if self._pumping:
            return
        self._pumping = True
        try:
            queue = self._queue
            while queue and not self._stalled and not self._lost and self.transport is not None:
                sender = queue[0].file
                if sender is None:
                    break
                sender.step(self.transport)
        finally:
            self._pumping = False

    # -- output ordering ------------------------------------------------------------------

    def _emit(self, req: H1Request, data: bytes) -> None:
        """Write ``data`` now if ``req`` owns the wire, else keep it for later."""
        queue = self._queue
        if queue and queue[0] is req:
            if self.transport is not None and not self._lost:
                if self._stalled:
                    self._stalled_bytes += len(data)
                    if self._stalled_bytes > MAX_STALLED_BYTES:
                        self._log.warn(
                            "client {peer} is not reading a streamed response; dropping it",
                            peer=self._remote_addr, rr_channel="http")
                        self._abort()
                        return
                write_to_socket(self.transport, data)
        else:
            req.out.append(data)

    def _write(
        self, req: H1Request, response: Response, trailers: list[tuple[bytes, bytes]]
    ) -> None:
        """Write a response that went through the middleware (a file body is streamed)."""
        file = response.file
        head_request = req.head_request
        if file is None or head_request:
            data, framing = wire.render_head(
                response.status, response.headers, trailers, response.body or b"",
                self._dates.line(), final=True, http11=req.http11, keep_alive=req.keep_alive,
                head_request=head_request,
            )
            self._emit(req, data)
            req.close = framing.close
            self._finish(req)
            return
        try:
            fh = open(file.path, "rb")  # noqa: PTH123, SIM115 - closed by the FileSender
            fh.seek(file.offset)
        except OSError as exc:
            self._log.error("cannot open {path} for {method} {target}: {error}",
                            path=file.path, method=req.method, target=req.target, error=exc)
            self._emit(req, wire.render_plain(404, "not found", self._dates.line(),
                                              close=not req.keep_alive))
            req.close = not req.keep_alive
            self._finish(req)
            return
        data, framing = wire.render_head(
            response.status, response.headers, [], b"", self._dates.line(), final=False,
            http11=req.http11, keep_alive=req.keep_alive, head_request=False,
        )
        self._emit(req, data)
        req.file = FileSender(fh, file.length, framing, response.encoder,
                              partial(self._file_sent, req, framing))
        self._pump()

    def _file_sent(self, req: H1Request, framing: wire.BodyFraming) -> None:
        req.file = None
        req.close = framing.close
        self._finish(req)

    def _finish(self, req: H1Request) -> None:
        """``req``'s response is complete; hand the wire to the next ones in order."""
        req.done = True
        if req.status is not None and self._request_log is not None:
            self._log_done(req)
        queue = self._queue
        transport = self.transport
        while queue and queue[0].done:
            head = queue.popleft()
            if head.close:
                self._close(linger=head.linger)
                return
            if queue and queue[0].out and transport is not None:
                nxt = queue[0]
                write_to_socket(transport, b"".join(nxt.out))
                nxt.out = []
        if queue and queue[0].file is not None:
            self._pump()
        if self._paused and len(queue) <= MAX_QUEUED // 2 and transport is not None:
            self._paused = False
            IPushProducer(transport).resumeProducing()
        if not queue and self._draining and not self._waiting:
            self._close()
            return
        if not queue and self._phase == IDLE and self._reading:
            self._arm(self._idle_timeout, T_IDLE)

    def _log_done(self, req: H1Request) -> None:
        head = req.head
        log = self._request_log
        if head is None or req.status is None or log is None:
            return
        address = head.remote_addr
        if address == self._remote_addr:
            address = peer_address(address, self._remote_port)
        log.done(RequestDone(
            head, address, req.status, req.read_bytes, req.write_bytes, req.start,
            self._reactor.seconds() - req.start,
        ))

    # -- closing --------------------------------------------------------------------------

    def drain(self) -> Deferred[None]:
        """Server shutdown: answer the requests already read, then close the connection."""
        self._draining = True
        if not self._queue and not self._waiting and not self._lost:
            self._close()
        return self.closed

    def _close(self, *, linger: bool = False) -> None:
        """Close the connection once written; abandon anything still queued.

        ``linger``: the client may still be sending a body we refused; shut only our write
        side and drain its bytes for a while, so it reads our answer instead of a reset.
        """
        self._reading = False
        self._cancel_timer()
        pending = list(self._queue) + list(self._waiting)
        self._queue.clear()
        self._waiting.clear()
        self._abandon(pending)
        transport = self.transport
        if transport is None or self._lost:
            return
        # A registered producer keeps Twisted from closing a drained transport.
        transport.unregisterProducer()  # type: ignore[attr-defined]
        # Over TLS the attribute would reach the TCP socket under the TLS layer: close.
        half_close = None if is_tls(transport) else getattr(transport, "loseWriteConnection", None)
        if linger and callable(half_close):
            self._lingering = True
            self._linger_left = LINGER_BYTES
            self._timer = self._reactor.callLater(LINGER_SECONDS, self._abort)
            half_close()
        else:
            transport.loseConnection()

    def _linger_read(self, data: bytes) -> None:
        """Drop bytes of a refused body; too many and the connection is cut."""
        self._linger_left -= len(data)
        if self._linger_left < 0:
            self._lingering = False
            self._abort()

    def _lose_all(self) -> None:
        """``connectionLost``: cancel and clean up everything still pending."""
        if not self.closed.called:
            self.closed.callback(None)
        self._lost = True
        self._reading = False
        self._lingering = False
        self._cancel_timer()
        timer = self._write_timer
        if timer is not None:
            self._write_timer = None
            timer.cancel()
        pending = list(self._queue) + list(self._waiting)
        self._queue.clear()
        self._waiting.clear()
        self._abandon(pending)

    def _abandon(self, requests: list[H1Request]) -> None:
        """Cancel the execs of requests that will never be answered; delete their files."""
        for req in requests:
            req.done = True
            if req.file is not None:
                req.file.close()
            d = req.deferred
            if d is not None:
                req.cancelled = True
                d.cancel()
            self._cleanup(req)

    def _cleanup(self, req: H1Request) -> None:
        builder = req.builder
        if builder is not None:
            req.builder = None
            try:
                builder.cleanup()
            except Exception:  # noqa: BLE001 - a failed unlink must not break the connection
                self._log.failure("cannot delete upload temp files")

    # -- the read timer -------------------------------------------------------------------

    def _arm(self, delay: float, kind: int) -> None:
        """Make ``kind`` the pending deadline, ``delay`` seconds from now (<= 0: none)."""
        if delay <= 0:
            self._deadline_kind = T_NONE
            return
        deadline = self._reactor.seconds() + delay
        self._deadline = deadline
        self._deadline_kind = kind
        timer = self._timer
        if timer is None:
            self._timer = self._reactor.callLater(delay, self._on_timer)
        elif timer.getTime() > deadline:
            timer.cancel()
            self._timer = self._reactor.callLater(delay, self._on_timer)

    def _cancel_timer(self) -> None:
        self._deadline_kind = T_NONE
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()

    def _on_timer(self) -> None:
        self._timer = None
        kind = self._deadline_kind
        if kind == T_NONE or self._lost:
            return
        remaining = self._deadline - self._reactor.seconds()
        if remaining > 0:
            self._timer = self._reactor.callLater(remaining, self._on_timer)
            return
        self._deadline_kind = T_NONE
        if kind == T_IDLE:
            self._close()
        else:
            self._deadline_passed(kind)

    @override
    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._lose_all()
