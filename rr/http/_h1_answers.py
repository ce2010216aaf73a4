# -*- test-case-name: tests.http.test_h1 -*-
"""The running part of an HTTP/1.1 connection: requests to the executor, frames back.

:class:`H1Answers` sits between the reading half (:class:`rr.http.h1.H1Protocol`, which
parses requests and calls :meth:`H1Answers._dispatch`) and the writing half
(:class:`rr.http._h1_conn.H1Connection`). It turns the worker's frames into responses:
regular, streamed (the middleware's encoder applied to each piece), 1xx interim, the
fixed 500 for a bad status, and ``internal_error_code`` for failed execs; and it runs the
response side of the middleware chain.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Final

from twisted.internet.defer import CancelledError, Deferred
from twisted.python.failure import Failure

from rr.errors import NoFreeWorker, RRError
from rr.http import _response as wire
from rr.http._h1_conn import H1Connection, H1Request
from rr.http.codec import ResponseError, decode_response
from rr.http.middleware import Response

if TYPE_CHECKING:
    from collections import deque

    from twisted.internet.interfaces import IReactorTime

    from rr.config._schema import HTTPConfig
    from rr.dispatch import Executor
    from rr.http.access_log import RequestLog
    from rr.http.middleware import Pipeline
    from rr.payload import Payload

#: Requests of one connection handed to the executor at the same time; later ones wait.
MAX_IN_FLIGHT: Final = 16
_NO_WORKERS: Final = [(b"No-Workers", b"true")]
_PLAIN_TEXT: Final = (b"Content-Type", b"text/plain; charset=utf-8")


class H1Answers(H1Connection):
    """Dispatch to the executor and write what the worker answers."""

    _waiting: deque[H1Request]

    def __init__(
        self,
        reactor: IReactorTime,
        executor: Executor,
        config: HTTPConfig,
        dates: wire.DateCache | None,
        *,
        request_log: RequestLog | None,
        pipeline: Pipeline | None,
    ) -> None:
        super().__init__(reactor, config, dates, request_log)
        self._executor = executor
        self._pipeline = pipeline or None
        self._error_code = config.internal_error_code or 500
        self._debug = config.pool.debug
        self._in_flight = 0

    # -- executor --------------------------------------------------------------------------

    def _dispatch(self, req: H1Request, payload: Payload) -> None:
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

    def _on_result(self, result: Payload | Failure, req: H1Request) -> None:
        """Route the exec result (one callback: an already-fired Deferred costs one call)."""
        try:
            if isinstance(result, Failure):
                self._on_failure(result, req)
            else:
                self._on_response(result, req)
        except Exception:  # noqa: BLE001 - logged with its traceback by _on_bug
            self._on_bug(Failure(), req)

    def _settled(self, req: H1Request) -> None:
        """Free the in-flight slot and the temp files of ``req``, whose exec is over."""
        req.deferred = None
        self._in_flight -= 1
        self._cleanup(req)
        waiting = self._waiting
        while waiting and self._in_flight < MAX_IN_FLIGHT:
            nxt = waiting.popleft()
            payload = nxt.payload
            nxt.payload = None
            if payload is not None and not nxt.done:
                self._dispatch(nxt, payload)

    def _on_frame(self, req: H1Request, payload: Payload) -> None:
        """One frame of a streamed response (STREAM bit set)."""
        if req.done or req.replaced:
            return
        framing = req.framing
        if framing is not None:
            body = payload.body
            req.write_bytes += len(body)
            if req.encoder is not None:
                body = req.encoder.encode(body)
            data = framing.chunk(body)
            if data:
                self._emit(req, data)
            return
        if self._start(req, payload):
            return
        d = req.deferred
        if d is not None:  # the response is over (an error answer): stop the stream
            req.cancelled = True
            d.cancel()

    def _on_response(self, payload: Payload, req: H1Request) -> None:
        """Write the final frame of a response."""
        self._settled(req)
        if req.done or req.replaced:
            return
        framing = req.framing
        if framing is not None:
            body = payload.body
            req.write_bytes += len(body)
            encoder = req.encoder
            if encoder is not None:
                body = encoder.encode(body) + encoder.finish()
            self._emit(req, framing.end(body))
            req.close = framing.close
            self._finish(req)
        elif self._start(req, payload, final=True):
            # Only 1xx frames: the worker never sent a final status.
            self._respond(req, 200, [], [], b"")

    def _start(self, req: H1Request, payload: Payload, *, final: bool = False) -> bool:
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
        req.status = status
        body = payload.body
        req.write_bytes += len(body)
        if self._pipeline is not None and req.head is not None:
            answer = self._pipeline.after(req.head, Response(status, headers, None))
            if answer.body or answer.file is not None:  # the chain replaced the stream
                req.replaced = True
                self._write(req, answer, trailers)
                return False
            status, headers = answer.status, answer.headers
            req.encoder = encoder = answer.encoder
            if encoder is not None:
                body = encoder.encode(body)
        data, framing = wire.render_head(
            status, headers, trailers, body, self._dates.line(), final=False,
            http11=req.http11, keep_alive=req.keep_alive, head_request=req.head_request,
        )
        req.framing = framing
        self._emit(req, data)
        return True

    def _special_status(
        self, req: H1Request, status: int, headers: list[tuple[bytes, bytes]]
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
        req.status = 500
        self._finish(req)
        return False

    def _respond(
        self,
        req: H1Request,
        status: int,
        headers: list[tuple[bytes, bytes]],
        trailers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        req.status = status
        req.write_bytes += len(body)
        if self._pipeline is not None and req.head is not None:
            self._write(req, self._pipeline.after(req.head, Response(status, headers, body)),
                        trailers)
            return
        data, framing = wire.render_head(
            status, headers, trailers, body, self._dates.line(), final=True,
            http11=req.http11, keep_alive=req.keep_alive, head_request=req.head_request,
        )
        self._emit(req, data)
        req.close = framing.close
        self._finish(req)

    def _on_failure(self, failure: Failure, req: H1Request) -> None:
        """Answer a failed exec (unless we cancelled it)."""
        self._settled(req)
        if req.done or req.replaced:
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

    def _respond_error(self, req: H1Request, exc: BaseException | None) -> None:
        """Answer ``internal_error_code`` (``No-Workers: true`` for an allocate timeout)."""
        headers = list(_NO_WORKERS) if isinstance(exc, NoFreeWorker) else []
        body = b""
        if self._debug:
            body = html.escape(str(exc)).encode("utf-8")
            headers.append(_PLAIN_TEXT)
        self._respond(req, self._error_code, headers, [], body)

    def _on_bug(self, failure: Failure, req: H1Request) -> None:
        """Last resort: our own response code raised. Log it and drop the connection."""
        self._log.failure("HTTP/1 response handling failed for {method} {target}", failure,
                          method=req.method, target=req.target)
        if self.transport is not None and not self._lost:
            self.transport.loseConnection()
