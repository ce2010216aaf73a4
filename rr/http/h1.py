# -*- test-case-name: tests.http.test_h1 -*-
"""txrr's HTTP/1.1 server connection, on httptools (llhttp) instead of twisted.web.

twisted.web's ``Site`` costs about 2.7 times as much per request as a bare Protocol, so the
hot path is our own: llhttp parses, a :class:`~rr.http.codec.RequestBuilder` buffers the
whole request (a slow client never holds a PHP worker), the :class:`~rr.dispatch.Executor`
runs it, and :mod:`rr.http._response` renders the answer with one ``bytes`` join.

Pipelined requests are dispatched as they complete (at most ``_MAX_IN_FLIGHT`` at a time)
and answered strictly in order: a response that is ready before the ones ahead of it is
buffered. Every server-made error (400, 408, 413, 414, 417, 431) takes its place in that
order and closes the connection after it is written.

Deadlines use one lazily re-armed DelayedCall per connection: the common keep-alive
request, whose head arrives in one read, schedules nothing.
"""

from __future__ import annotations

import html
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Final

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from typing_extensions import override

from rr.errors import NoFreeWorker, RRError
from rr.http import _response as wire
from rr.http.codec import (
    ContextError,
    RequestBuilder,
    RequestError,
    RequestHead,
    ResponseError,
    decode_response,
)
from rr.http.tls import is_tls

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall, IReactorTime
    from twisted.python.failure import Failure as FailureT

    from rr.config._schema import HTTPConfig
    from rr.dispatch import Executor
    from rr.http.codec import CodecOptions
    from rr.payload import Payload

#: Requests of one connection handed to the executor at the same time; later ones wait.
_MAX_IN_FLIGHT: Final = 16
#: Parsed-but-unanswered requests above which the connection stops reading.
_MAX_QUEUED: Final = 16
#: Extra bytes tolerated over ``max_header_size`` before an unfinished head is refused
#: (the exact limit is enforced on complete header lines; this only caps buffering).
_HEAD_SLACK: Final = 65536

# Parser phases.
_IDLE: Final = 0  # between messages
_HEAD: Final = 1  # request line / headers being read
_BODY: Final = 2  # headers complete, body being read

# What the connection's single timer currently guards.
_T_NONE: Final = 0
_T_IDLE: Final = 1
_T_HEADER: Final = 2
_T_BODY: Final = 3

# Request headers the connection itself looks at (lower-case name -> code).
_R_HOST: Final = 1
_R_LENGTH: Final = 2
_R_TE: Final = 3
_R_EXPECT: Final = 4
_REQUEST_SPECIAL: Final = {
    b"host": _R_HOST,
    b"content-length": _R_LENGTH,
    b"transfer-encoding": _R_TE,
    b"expect": _R_EXPECT,
}
_PROTOCOLS: Final = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}
_NO_WORKERS: Final = [(b"No-Workers", b"true")]
_PLAIN_TEXT: Final = (b"Content-Type", b"text/plain; charset=utf-8")


class _Stop(Exception):
    """Raised from a parser callback to stop parsing; the connection has been told why."""


class _Request:
    """One request of a connection, from its complete head to its last response byte."""

    __slots__ = (
        "builder", "cancelled", "close", "deferred", "done", "framing", "head_request",
        "http11", "keep_alive", "method", "on_frame", "out", "payload", "target",
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
        self.cancelled = False  # we cancelled the exec: its CancelledError is expected


class H1Protocol(Protocol):
    """One HTTP/1.x server connection."""

    _log = Logger()

    def __init__(
        self,
        reactor: IReactorTime,
        executor: Executor,
        config: HTTPConfig,
        options: CodecOptions,
        dates: wire.DateCache | None = None,
    ) -> None:
        self._reactor = reactor
        self._executor = executor
        self._options = options
        self._dates = dates if dates is not None else wire.DateCache(reactor)
        limits = config.limits
        self._header_timeout = limits.read_header_timeout
        self._body_timeout = limits.read_body_timeout
        self._idle_timeout = limits.idle_timeout
        self._max_header_size = limits.max_header_size
        self._max_header_count = limits.max_header_count
        self._max_uri_length = limits.max_uri_length
        self._max_body = options.max_request_size
        self._error_code = config.internal_error_code or 500
        self._debug = config.pool.debug
        self._parser = HttpRequestParser(self)
        self._remote_addr = ""
        self._tls = False
        # parser state
        self._phase = _IDLE
        self._head_bytes = 0
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._header_size = 0
        self._hosts = 0
        self._length: int | None = None
        self._chunked = False
        self._expect: bytes | None = None
        self._current: _Request | None = None  # the request whose body is being read
        self._upgrade_body = False  # llhttp skipped the body of an Upgrade/CONNECT request
        self._synthetic = False  # parsing our own stand-in head for that body
        # connection state
        self._queue: deque[_Request] = deque()  # in response order; [0] owns the wire
        self._waiting: deque[_Request] = deque()  # parsed, not yet handed to the executor
        self._in_flight = 0
        self._reading = True
        self._paused = False
        self._lost = False
        self._draining = False
        self.closed: Deferred[None] = Deferred()
        # the one timer
        self._timer: IDelayedCall | None = None
        self._deadline = 0.0
        self._deadline_kind = _T_NONE

    # -- Twisted ---------------------------------------------------------------------------

    @override
    def connectionMade(self) -> None:
        peer = self.transport.getPeer() if self.transport is not None else None
        if isinstance(peer, IPv4Address | IPv6Address):
            self._remote_addr = peer.host
        else:
            self._remote_addr = "@"
        self._tls = is_tls(self.transport)
        # A client that connects and sends nothing is dropped after the header timeout.
        self._arm(self._header_timeout, _T_IDLE)

    @override
    def dataReceived(self, data: bytes) -> None:
        if not self._reading:
            return
        if self._phase != _BODY:
            self._head_bytes += len(data)
        try:
            self._feed(data)
        except HttpParserError as exc:
            if self._reading:  # else a callback stopped the parser on purpose
                self._parse_error(exc)
            return
        if self._reading:
            self._after_read()

    def _parse_error(self, exc: HttpParserError) -> None:
        cause = exc.__context__
        if cause is not None and not isinstance(cause, _Stop):
            self._log.failure("HTTP/1 callback failed", Failure(cause), peer=self._remote_addr)
        self._reject(400, "malformed HTTP request: " + str(exc))

    def _after_read(self) -> None:
        """Start the deadline of a head or body that did not arrive in one read."""
        phase = self._phase
        if phase == _HEAD:
            if self._deadline_kind != _T_HEADER:
                # The head began in this read: its deadline is absolute from now.
                self._arm(self._header_timeout, _T_HEADER)
            if self._head_bytes > self._max_header_size + _HEAD_SLACK:
                self._reject(431, "request header fields too large")
        elif phase == _BODY and self._deadline_kind != _T_BODY:
            self._arm(self._body_timeout, _T_BODY)

    def drain(self) -> Deferred[None]:
        """Server shutdown: answer the requests already read, then close the connection."""
        self._draining = True
        if not self._queue and not self._waiting and not self._lost:
            self._close()
        return self.closed

    @override
    def connectionLost(self, reason: FailureT = connectionDone) -> None:
        if not self.closed.called:
            self.closed.callback(None)
        self._lost = True
        self._reading = False
        self._cancel_timer()
        self._current = None
        pending = list(self._queue) + list(self._waiting)
        self._queue.clear()
        self._waiting.clear()
        self._abandon(pending)

    # -- parser callbacks (called by httptools) --------------------------------------------

    def on_message_begin(self) -> None:
        """Start a new request."""
        if not self._reading:
            raise _Stop
        if self._synthetic:
            return
        self._phase = _HEAD
        self._deadline_kind = _T_NONE  # the idle deadline no longer applies
        self._url = b""
        self._headers = []
        self._header_size = 0
        self._hosts = 0
        self._length = None
        self._chunked = False
        self._expect = None

    def on_url(self, url: bytes) -> None:
        """Collect a piece of the request target."""
        if self._phase != _HEAD:
            return
        self._url += url
        if len(self._url) > self._max_uri_length:
            self._reject(414, "request URI too long")
            raise _Stop

    def on_header(self, name: bytes, value: bytes) -> None:
        """Collect one header line (trailer fields of a chunked body are ignored)."""
        if self._phase != _HEAD:
            return
        headers = self._headers
        headers.append((name.decode("latin-1"), value.decode("latin-1")))
        self._header_size += len(name) + len(value) + 4
        if len(headers) > self._max_header_count or self._header_size > self._max_header_size:
            self._reject(431, "request header fields too large")
            raise _Stop
        code = _REQUEST_SPECIAL.get(name.lower())
        if code is not None:
            if code == _R_HOST:
                self._hosts += 1
            elif code == _R_LENGTH:
                self._length = int(value)  # llhttp accepted it: digits only, no duplicates
            elif code == _R_TE:
                self._chunked = True  # llhttp refuses a request TE that does not end in chunked
            else:
                self._expect = value

    def on_headers_complete(self) -> None:
        """Validate the complete head and queue the request."""
        if self._synthetic:
            return
        parser = self._parser
        version = parser.get_http_version()
        http11 = version == "1.1"
        method = parser.get_method().decode("ascii")
        target = self._url.decode("latin-1")
        self._phase = _BODY
        self._head_bytes = 0
        self._deadline_kind = _T_NONE
        if self._header_size + len(self._url) > self._max_header_size:
            self._reject(431, "request header fields too large")
            raise _Stop
        if self._hosts != 1 and (self._hosts or (http11 and method != "CONNECT")):
            self._reject(400, "missing required Host header" if not self._hosts
                         else "too many Host headers")
            raise _Stop
        head = RequestHead(
            method=method,
            target=target,
            protocol=_PROTOCOLS.get(version) or "HTTP/" + version,
            headers=self._headers,
            remote_addr=self._remote_addr,
            tls=self._tls,
        )
        req = _Request(
            RequestBuilder(head, self._options), method, target, http11=http11,
            keep_alive=parser.should_keep_alive(),
        )
        self._queue.append(req)
        self._current = req
        has_body = self._chunked or bool(self._length)
        reads_body = req.builder is not None and req.builder.reads_body
        if reads_body and self._length is not None and self._length > self._max_body:
            self._reject(413, "http: request body too large")
            raise _Stop
        expect = self._expect
        if expect is not None:
            if expect.strip().lower() != b"100-continue":
                self._reject(417, "unsupported Expect header value")
                raise _Stop
            if http11 and has_body and reads_body:
                self._emit(req, wire.CONTINUE_100)
        if parser.should_upgrade():
            # Upgrade/CONNECT is served as plain HTTP; llhttp will skip the body (see _feed).
            self._upgrade_body = has_body

    def on_body(self, body: bytes) -> None:
        """Feed a piece of the (de-chunked) body to the request builder."""
        req = self._current
        if req is None or req.builder is None or not req.builder.reads_body:
            return
        try:
            req.builder.feed(body)
        except RequestError as exc:
            self._reject(exc.status, exc.message)
            raise _Stop from None

    def on_message_complete(self) -> None:
        """Build the payload of the complete request and dispatch it."""
        if self._upgrade_body:
            return  # llhttp skipped the body; it comes through a stand-in head
        self._synthetic = False
        req = self._current
        self._current = None
        self._phase = _IDLE
        self._deadline_kind = _T_NONE
        if req is None or req.builder is None:
            return
        if not req.keep_alive:
            self._reading = False  # nothing after this request will be answered
        try:
            payload = req.builder.finish()
        except RequestError as exc:
            self._reject(exc.status, exc.message, req)
            raise _Stop from None
        except ContextError as exc:
            self._log.error(
                "cannot build the request context for {method} {target}: {error}",
                method=req.method, target=req.target, error=exc,
            )
            self._cleanup(req)
            self._respond_error(req, exc)
            return
        req.on_frame = partial(self._on_frame, req)
        if self._in_flight < _MAX_IN_FLIGHT:
            self._dispatch(req, payload)
        else:
            req.payload = payload
            self._waiting.append(req)
        if len(self._queue) > _MAX_QUEUED and not self._paused and self.transport is not None:
            self._paused = True
            _producer(self.transport).pauseProducing()

    # -- parsing helpers -------------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        """Feed the parser; serve Upgrade/CONNECT requests as ordinary requests."""
        while True:
            try:
                self._parser.feed_data(data)
            except HttpParserUpgrade as exc:
                # llhttp stops after an Upgrade/CONNECT head and would hand us the rest as
                # another protocol. We do not upgrade: parse on with a fresh parser, and if
                # the request declared a body, read it by feeding a stand-in head that
                # declares the same framing.
                rest = data[exc.args[0]:]
                self._parser = HttpRequestParser(self)
                if self._upgrade_body:
                    self._upgrade_body = False
                    self._synthetic = True
                    if self._chunked:
                        framing = b"Transfer-Encoding: chunked\r\n"
                    else:
                        framing = b"Content-Length: %d\r\n" % (self._length or 0)
                    rest = b"POST / HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n" + rest
                if not rest or not self._reading:
                    return
                data = rest
            else:
                return

    def _reject(self, status: int, message: str, req: _Request | None = None) -> None:
        """Answer a broken request with a plain-text ``status`` and close after it.

        The answer takes the place of ``req`` (default: the request whose body is being
        read) or, before a head is complete, of a new entry at the end of the queue.
        """
        self._reading = False
        self._deadline_kind = _T_NONE
        if req is None:
            req = self._current
        self._current = None
        if req is None or req.done or req.deferred is not None:
            req = _Request(None, "", "", http11=True, keep_alive=False)
            self._queue.append(req)
        self._cleanup(req)
        self._emit(req, wire.render_plain(status, message, self._dates.line()))
        req.close = True
        self._finish(req)

    # -- executor --------------------------------------------------------------------------

    def _dispatch(self, req: _Request, payload: Payload) -> None:
        self._in_flight += 1
        d: Deferred[Payload]
        try:
            d = self._executor.exec(payload, req.on_frame)
        except Exception:  # noqa: BLE001 - an executor bug must still get an answer
            d = Deferred()
            d.errback()
        req.deferred = d
        if req.done and not d.called:  # answered by a frame during exec(): stop the stream
            req.cancelled = True
            d.cancel()
        d.addBoth(self._on_result, req)

    def _on_result(self, result: Payload | Failure, req: _Request) -> None:
        """Route the exec result (one callback: an already-fired Deferred costs one call)."""
        try:
            if isinstance(result, Failure):
                self._on_failure(result, req)
            else:
                self._on_response(result, req)
        except Exception:  # noqa: BLE001 - logged with its traceback by _on_bug
            self._on_bug(Failure(), req)

    def _settled(self, req: _Request) -> None:
        """Free the in-flight slot and the temp files of ``req``, whose exec is over."""
        req.deferred = None
        self._in_flight -= 1
        self._cleanup(req)
        waiting = self._waiting
        while waiting and self._in_flight < _MAX_IN_FLIGHT:
            nxt = waiting.popleft()
            payload = nxt.payload
            nxt.payload = None
            if payload is not None and not nxt.done:
                self._dispatch(nxt, payload)

    def _on_frame(self, req: _Request, payload: Payload) -> None:
        """One frame of a streamed response (STREAM bit set)."""
        if req.done:
            return
        framing = req.framing
        if framing is not None:
            data = framing.chunk(payload.body)
            if data:
                self._emit(req, data)
            return
        if self._start(req, payload):
            return
        d = req.deferred
        if d is not None:  # the response is over (an error answer): stop the stream
            req.cancelled = True
            d.cancel()

    def _on_response(self, payload: Payload, req: _Request) -> None:
        """Write the final frame of a response."""
        self._settled(req)
        if req.done:
            return
        framing = req.framing
        if framing is not None:
            self._emit(req, framing.end(payload.body))
            req.close = framing.close
            self._finish(req)
        elif self._start(req, payload, final=True):
            # Only 1xx frames: the worker never sent a final status.
            self._respond(req, 200, [], [], b"")

    def _start(self, req: _Request, payload: Payload, *, final: bool = False) -> bool:
        """Handle a frame that arrives before the final status is committed.

        Returns True while the response is still open (1xx sent, or a streamed head
        written), False once the request is answered (regular response or error).
        """
        try:
            head = decode_response(payload)
        except ResponseError as exc:
            self._log.error("bad response to {method} {target}: {error}",
                            method=req.method, target=req.target, error=exc)
            self._respond_error(req, exc)
            return False
        if head is None:
            status, headers, trailers = 200, [], []
        else:
            status, headers, trailers = head.status, head.headers, head.trailers
            if status < 200 or status > 599:  # noqa: PLR2004
                return self._special_status(req, status, headers)
        if final:
            self._respond(req, status, headers, trailers, payload.body)
            return False
        data, framing = wire.render_head(
            status, headers, trailers, payload.body, self._dates.line(), final=False,
            http11=req.http11, keep_alive=req.keep_alive, head_request=req.head_request,
        )
        req.framing = framing
        self._emit(req, data)
        return True

    def _special_status(
        self, req: _Request, status: int, headers: list[tuple[bytes, bytes]]
    ) -> bool:
        """1xx interim responses, the unsupported 101, and statuses outside 100-599."""
        if status == 101:  # noqa: PLR2004
            self._log.error("worker answered {method} {target} with 101; upgrades are not "
                            "supported, frame ignored", method=req.method, target=req.target)
            return True
        if 100 <= status < 200:  # noqa: PLR2004
            if req.http11:
                self._emit(req, wire.render_interim(status, headers))
            return True
        self._log.error("unknown status code from worker: {status}", status=status)
        self._emit(req, wire.render_plain(500, f"unknown status code from worker: {status}",
                                          self._dates.line(), close=not req.keep_alive))
        req.close = not req.keep_alive
        self._finish(req)
        return False

    def _respond(
        self,
        req: _Request,
        status: int,
        headers: list[tuple[bytes, bytes]],
        trailers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        data, framing = wire.render_head(
            status, headers, trailers, body, self._dates.line(), final=True,
            http11=req.http11, keep_alive=req.keep_alive, head_request=req.head_request,
        )
        self._emit(req, data)
        req.close = framing.close
        self._finish(req)

    def _on_failure(self, failure: Failure, req: _Request) -> None:
        """Answer a failed exec (unless we cancelled it)."""
        self._settled(req)
        if req.done:
            return
        exc = failure.value
        if req.cancelled and isinstance(exc, CancelledError):
            return
        if isinstance(exc, RRError):
            self._log.error("{method} {target} failed: {error}",
                            method=req.method, target=req.target, error=exc)
        else:
            self._log.failure("{method} {target} failed", failure,
                              method=req.method, target=req.target)
        framing = req.framing
        if framing is not None:
            # The head is on the wire: end the body short, never send a second status.
            self._emit(req, framing.abort())
            req.close = framing.close
            self._finish(req)
        else:
            self._respond_error(req, failure.value)

    def _respond_error(self, req: _Request, exc: BaseException | None) -> None:
        """Answer ``internal_error_code`` (``No-Workers: true`` for an allocate timeout)."""
        headers = list(_NO_WORKERS) if isinstance(exc, NoFreeWorker) else []
        body = b""
        if self._debug:
            body = html.escape(str(exc)).encode("utf-8")
            headers.append(_PLAIN_TEXT)
        self._respond(req, self._error_code, headers, [], body)

    def _on_bug(self, failure: Failure, req: _Request) -> None:
        """Last resort: our own response code raised. Log it and drop the connection."""
        self._log.failure("HTTP/1 response handling failed for {method} {target}", failure,
                          method=req.method, target=req.target)
        if self.transport is not None and not self._lost:
            self.transport.loseConnection()

    # -- output ordering -------------------------------------------------------------------

    def _emit(self, req: _Request, data: bytes) -> None:
        """Write ``data`` now if ``req`` owns the wire, else keep it for later.

        TODO: back-pressure. A streamed response (or one buffered behind a slow
        pipelined request) is written or kept in memory without waiting for the client:
        register as the transport's producer and, while paused, hold the worker's stream.
        """
        queue = self._queue
        if queue and queue[0] is req:
            if self.transport is not None and not self._lost:
                self.transport.write(data)
        else:
            req.out.append(data)

    def _finish(self, req: _Request) -> None:
        """``req``'s response is complete; hand the wire to the next ones in order."""
        req.done = True
        queue = self._queue
        transport = self.transport
        while queue and queue[0].done:
            head = queue.popleft()
            if head.close:
                self._close()
                return
            if queue and queue[0].out and transport is not None:
                nxt = queue[0]
                transport.write(b"".join(nxt.out))
                nxt.out = []
        if self._paused and len(queue) <= _MAX_QUEUED // 2 and transport is not None:
            self._paused = False
            _producer(transport).resumeProducing()
        if not queue and self._draining and not self._waiting:
            self._close()
            return
        if not queue and self._phase == _IDLE and self._reading:
            self._arm(self._idle_timeout, _T_IDLE)

    def _close(self) -> None:
        """Close the connection once written; abandon anything still queued."""
        self._reading = False
        self._cancel_timer()
        pending = list(self._queue) + list(self._waiting)
        self._queue.clear()
        self._waiting.clear()
        self._abandon(pending)
        if self.transport is not None and not self._lost:
            self.transport.loseConnection()

    def _abandon(self, requests: list[_Request]) -> None:
        """Cancel the execs of requests that will never be answered; delete their files."""
        for req in requests:
            req.done = True
            d = req.deferred
            if d is not None:
                req.cancelled = True
                d.cancel()
            self._cleanup(req)

    def _cleanup(self, req: _Request) -> None:
        builder = req.builder
        if builder is not None:
            req.builder = None
            try:
                builder.cleanup()
            except Exception:  # noqa: BLE001 - a failed unlink must not break the connection
                self._log.failure("cannot delete upload temp files")

    # -- the timer -------------------------------------------------------------------------

    def _arm(self, delay: float, kind: int) -> None:
        """Make ``kind`` the pending deadline, ``delay`` seconds from now (<= 0: none)."""
        if delay <= 0:
            self._deadline_kind = _T_NONE
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
        self._deadline_kind = _T_NONE
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.cancel()

    def _on_timer(self) -> None:
        self._timer = None
        kind = self._deadline_kind
        if kind == _T_NONE or self._lost:
            return
        remaining = self._deadline - self._reactor.seconds()
        if remaining > 0:
            self._timer = self._reactor.callLater(remaining, self._on_timer)
            return
        self._deadline_kind = _T_NONE
        if kind == _T_IDLE:
            self._close()
        else:
            self._reject(408, "request timeout")


def _producer(transport: object) -> IPushProducer:
    """Return the transport as the push producer of its incoming data (TCP and TLS are)."""
    return IPushProducer(transport)
