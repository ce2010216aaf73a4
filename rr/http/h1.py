# -*- test-case-name: tests.http.test_h1 -*-
"""txrr's HTTP/1.1 server connection, on httptools (llhttp) instead of twisted.web.

twisted.web's ``Site`` costs about 2.7 times as much per request as a bare Protocol, so the
hot path is our own: llhttp parses, a :class:`~rr.http.codec.RequestBuilder` buffers the
whole request (a slow client never holds a PHP worker), the :class:`~rr.dispatch.Executor`
runs it, and :mod:`rr.http._response` renders the answer with one ``bytes`` join.

Pipelined requests are dispatched as they complete (at most ``MAX_IN_FLIGHT`` at a time)
and answered strictly in order. Every server-made error (400, 408, 413, 414, 417, 431)
takes its place in that order and closes the connection after it is written.

This module is the reading half: parsing, the middleware's request side, the executor and
the worker's frames. The writing half (order, files, flow control, the write timeout,
the read deadlines) is :class:`rr.http._h1_conn.H1Connection`, its base class.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Final

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from typing_extensions import override

from rr.http import _response as wire
from rr.http._h1_answers import MAX_IN_FLIGHT, H1Answers
from rr.http._h1_conn import (
    BODY,
    HEAD,
    IDLE,
    MAX_QUEUED,
    T_BODY,
    T_HEADER,
    T_IDLE,
    T_NONE,
    H1Request,
)
from rr.http._transport import is_tls
from rr.http.codec import (
    ContextError,
    RequestBuilder,
    RequestError,
    RequestHead,
)

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime
    from twisted.python.failure import Failure as FailureT

    from rr.config._schema import HTTPConfig
    from rr.dispatch import Executor
    from rr.http.access_log import RequestLog
    from rr.http.codec import CodecOptions
    from rr.http.middleware import Pipeline, Response

#: Extra bytes tolerated over ``max_header_size`` before an unfinished head is refused
#: (the exact limit is enforced on complete header lines; this only caps buffering).
_HEAD_SLACK: Final = 65536

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


class _Stop(Exception):
    """Raised from a parser callback to stop parsing; the connection has been told why."""


class H1Protocol(H1Answers):
    """One HTTP/1.x server connection."""

    _log = Logger()

    def __init__(
        self,
        reactor: IReactorTime,
        executor: Executor,
        config: HTTPConfig,
        options: CodecOptions,
        dates: wire.DateCache | None = None,
        *,
        pipeline: Pipeline | None = None,
        request_log: RequestLog | None = None,
    ) -> None:
        super().__init__(reactor, executor, config, dates, request_log=request_log,
                         pipeline=pipeline)
        self._options = options
        limits = config.limits
        self._header_timeout = limits.read_header_timeout
        self._body_timeout = limits.read_body_timeout
        self._max_header_size = limits.max_header_size
        self._max_header_count = limits.max_header_count
        self._max_uri_length = limits.max_uri_length
        self._max_body = options.max_request_size
        self._parser = HttpRequestParser(self)
        self._tls = False
        # parser state
        self._head_bytes = 0
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._header_size = 0
        self._hosts = 0
        self._length: int | None = None
        self._chunked = False
        self._expect: bytes | None = None
        self._current: H1Request | None = None  # the request whose body is being read
        self._upgrade_body = False  # llhttp skipped the body of an Upgrade/CONNECT request
        self._synthetic = False  # parsing our own stand-in head for that body

    # -- Twisted ---------------------------------------------------------------------------

    @override
    def connectionMade(self) -> None:
        peer = self.transport.getPeer() if self.transport is not None else None
        if isinstance(peer, IPv4Address | IPv6Address):
            self._remote_addr = peer.host
            self._remote_port = peer.port
        else:
            self._remote_addr = "@"
        self._start_output()
        self._tls = is_tls(self.transport)
        # A client that connects and sends nothing is dropped after the header timeout.
        self._arm(self._header_timeout, T_IDLE)

    @override
    def dataReceived(self, data: bytes) -> None:
        if not self._reading:
            if self._lingering:
                self._linger_read(data)
            return
        if self._phase != BODY:
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
        if phase == HEAD:
            if self._deadline_kind != T_HEADER:
                # The head began in this read: its deadline is absolute from now.
                self._arm(self._header_timeout, T_HEADER)
            if self._head_bytes > self._max_header_size + _HEAD_SLACK:
                self._reject(431, "request header fields too large")
        elif phase == BODY and self._deadline_kind != T_BODY:
            self._arm(self._body_timeout, T_BODY)

    @override
    def connectionLost(self, reason: FailureT = connectionDone) -> None:
        self._current = None
        self._lose_all()

    @override
    def _deadline_passed(self, kind: int) -> None:
        self._reject(408, "request timeout")

    # -- parser callbacks (called by httptools) --------------------------------------------

    def on_message_begin(self) -> None:
        """Start a new request."""
        if not self._reading:
            raise _Stop
        if self._synthetic:
            return
        self._phase = HEAD
        self._deadline_kind = T_NONE  # the idle deadline no longer applies
        self._url = b""
        self._headers = []
        self._header_size = 0
        self._hosts = 0
        self._length = None
        self._chunked = False
        self._expect = None

    def on_url(self, url: bytes) -> None:
        """Collect a piece of the request target."""
        if self._phase != HEAD:
            return
        self._url += url
        if len(self._url) > self._max_uri_length:
            self._reject(414, "request URI too long")
            raise _Stop

    def on_header(self, name: bytes, value: bytes) -> None:
        """Collect one header line (trailer fields of a chunked body are ignored)."""
        if self._phase != HEAD:
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
        self._phase = BODY
        self._head_bytes = 0
        self._deadline_kind = T_NONE
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
        req = self._new_request(head, http11=http11, keep_alive=parser.should_keep_alive())
        has_body = self._chunked or bool(self._length)
        if req.answer is not None and has_body and self._expect is not None:
            self._answer_now(req, req.answer)
            raise _Stop
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

    def _new_request(self, head: RequestHead, *, http11: bool, keep_alive: bool) -> H1Request:
        """Run the middleware on a complete head and queue the request it gives."""
        answer = None
        if self._pipeline is not None:
            head, answer = self._pipeline.before(head)
        req = H1Request(
            RequestBuilder(head, self._options) if answer is None else None, head.method,
            head.target, http11=http11, keep_alive=keep_alive,
        )
        req.head = head
        req.answer = answer
        req.start = self._reactor.seconds()
        self._queue.append(req)
        self._current = req
        return req

    def _answer_now(self, req: H1Request, answer: Response) -> None:
        """Answer a request whose client waits for ``100 Continue`` before its body.

        The chain answered it, so the body is never asked for: write the answer now, then
        close, draining what may still come.
        """
        self._reading = False
        self._current = None
        req.keep_alive = False
        req.linger = True
        self._write(req, answer, [])

    def on_body(self, body: bytes) -> None:
        """Feed a piece of the (de-chunked) body to the request builder."""
        req = self._current
        if req is None or req.builder is None or not req.builder.reads_body:
            return
        req.read_bytes += len(body)
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
        self._phase = IDLE
        self._deadline_kind = T_NONE
        if req is None or (req.builder is None and req.answer is None):
            return
        if not req.keep_alive:
            self._reading = False  # nothing after this request will be answered
        if req.answer is not None:
            self._write(req, req.answer, [])
            return
        builder = req.builder
        if builder is None:
            return
        try:
            payload = builder.finish()
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
        if self._in_flight < MAX_IN_FLIGHT:
            self._dispatch(req, payload)
        else:
            req.payload = payload
            self._waiting.append(req)
        if len(self._queue) > MAX_QUEUED and not self._paused and self.transport is not None:
            self._paused = True
            IPushProducer(self.transport).pauseProducing()

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

    def _reject(self, status: int, message: str, req: H1Request | None = None) -> None:
        """Answer a broken request with a plain-text ``status`` and close after it.

        The answer takes the place of ``req`` (default: the request whose body is being
        read) or, before a head is complete, of a new entry at the end of the queue.
        """
        self._reading = False
        self._deadline_kind = T_NONE
        if req is None:
            req = self._current
        self._current = None
        if req is None or req.done or req.deferred is not None:
            req = H1Request(None, "", "", http11=True, keep_alive=False)
            self._queue.append(req)
        self._cleanup(req)
        self._emit(req, wire.render_plain(status, message, self._dates.line()))
        req.close = True
        # The client may still be sending the body we refused: let it read the answer.
        req.linger = status in (413, 417)
        self._finish(req)
