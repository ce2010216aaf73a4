# -*- test-case-name: tests.http.test_h1_response -*-
"""Bytes of HTTP/1.1 responses: status lines, the cached Date header, framing and chunking.

Kept apart from the connection state machine in :mod:`rr.http.h1` so the wire format can be
tested with plain asserts. Everything here is on the hot path: heads are built as a list of
``bytes`` and joined once, status lines are precomputed, and the Date header is formatted at
most once per second.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

    from twisted.internet.interfaces import IReactorTime

#: How the body of a response is delimited on the wire.
BODY_NONE: Final = 0  # HEAD, 1xx, 204, 304: nothing after the head
BODY_LENGTH: Final = 1  # Content-Length; ``remaining`` bytes may still be written
BODY_CHUNKED: Final = 2  # Transfer-Encoding: chunked
BODY_EOF: Final = 3  # HTTP/1.0 without a known length: the connection close ends it

CRLF: Final = b"\r\n"
LAST_CHUNK: Final = b"0\r\n\r\n"
CONTINUE_100: Final = b"HTTP/1.1 100 Continue\r\n\r\n"

HTML_UTF8: Final = b"text/html; charset=utf-8"
XML_UTF8: Final = b"text/xml; charset=utf-8"
TEXT_UTF8: Final = b"text/plain; charset=utf-8"
OCTET_STREAM: Final = b"application/octet-stream"

_SNIFF_LEN = 512
_WHITESPACE = b"\t\n\x0c\r "
#: Tags that make a body HTML when it starts with one of them followed by space or ``>``
#: (the same list Go's content sniffer uses).
_HTML_TAGS = (
    b"<!doctype html", b"<html", b"<head", b"<script", b"<iframe", b"<h1", b"<div", b"<font",
    b"<table", b"<a", b"<style", b"<title", b"<b", b"<body", b"<br", b"<p", b"<!--",
)


def _status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = f"status code {status}"
    return f"HTTP/1.1 {status} {phrase}\r\n".encode("ascii")


_STATUS_LINES: Final = {code: _status_line(code) for code in range(100, 600)}


def status_line(status: int) -> bytes:
    """Return the status line, CRLF included (our responses always say HTTP/1.1)."""
    line = _STATUS_LINES.get(status)
    return line if line is not None else _status_line(status)


class DateCache:
    """Formats the ``Date`` header line, recomputing it only when the second changes."""

    __slots__ = ("_line", "_reactor", "_second")

    def __init__(self, reactor: IReactorTime) -> None:
        self._reactor = reactor
        self._second = -1
        self._line = b""

    def line(self) -> bytes:
        """Return the ``Date: <IMF-fixdate>`` line, CRLF included, for the current second."""
        second = int(self._reactor.seconds())
        if second != self._second:
            stamp = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(second))
            self._line = b"Date: " + stamp.encode("ascii") + CRLF
            self._second = second
        return self._line


def sniff_content_type(body: bytes) -> bytes:
    """Guess a Content-Type from the start of ``body`` (HTML, XML, UTF-8 text or binary)."""
    head = body[:_SNIFF_LEN]
    start = head.lstrip(_WHITESPACE)
    if start[:1] == b"<":
        low = start[:16].lower()
        for tag in _HTML_TAGS:
            if low.startswith(tag) and low[len(tag) : len(tag) + 1] in (b" ", b">"):
                return HTML_UTF8
        if low.startswith(b"<?xml"):
            return XML_UTF8
    if b"\x00" in head:
        return OCTET_STREAM
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the 512-byte window is still text.
        if not (len(body) > _SNIFF_LEN and exc.start >= len(head) - 3 and exc.end == len(head)):
            return OCTET_STREAM
    return TEXT_UTF8


def encode_chunk(data: bytes) -> bytes:
    """Encode one non-empty chunk of a chunked body."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def last_chunk(trailers: Sequence[tuple[bytes, bytes]]) -> bytes:
    """Return the terminating zero-length chunk, carrying ``trailers`` when there are any."""
    if not trailers:
        return LAST_CHUNK
    parts = [b"0\r\n"]
    for name, value in trailers:
        parts += (name, b": ", value, CRLF)
    parts.append(CRLF)
    return b"".join(parts)


def render_plain(status: int, message: str, date: bytes, *, close: bool = True) -> bytes:
    """Render a complete plain-text response, as the server sends for its own errors."""
    body = message.encode("utf-8") + b"\n" if message else b""
    return b"".join((
        status_line(status),
        b"Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n",
        date,
        b"Content-Length: %d\r\n" % len(body),
        b"Connection: close\r\n\r\n" if close else CRLF,
        body,
    ))


def render_interim(status: int, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    """Render a 1xx interim response carrying only ``headers``."""
    parts = [status_line(status)]
    for name, value in headers:
        parts += (name, b": ", value, CRLF)
    parts.append(CRLF)
    return b"".join(parts)


class BodyFraming:
    """How the rest of one response's body goes on the wire, once its head is written.

    :ivar mode: one of ``BODY_NONE``, ``BODY_LENGTH``, ``BODY_CHUNKED``, ``BODY_EOF``.
    :ivar remaining: for ``BODY_LENGTH``, bytes still allowed by the Content-Length.
    :ivar trailers: sent after the last chunk (``BODY_CHUNKED`` only).
    :ivar close: the connection must be closed once the response is complete.
    """

    __slots__ = ("close", "mode", "remaining", "trailers")

    def __init__(
        self, mode: int, remaining: int, trailers: Sequence[tuple[bytes, bytes]], close: bool
    ) -> None:
        self.mode = mode
        self.remaining = remaining
        self.trailers = trailers
        self.close = close

    def chunk(self, data: bytes) -> bytes:
        """Wire bytes for the next piece of the body (maybe empty)."""
        if not data:
            return b""
        mode = self.mode
        if mode == BODY_CHUNKED:
            return encode_chunk(data)
        if mode == BODY_LENGTH:
            if len(data) > self.remaining:
                data = data[: self.remaining]
            self.remaining -= len(data)
            return data
        if mode == BODY_EOF:
            return data
        return b""

    def end(self, data: bytes) -> bytes:
        """Wire bytes for the last piece of the body plus whatever terminates the body."""
        out = self.chunk(data)
        mode = self.mode
        if mode == BODY_CHUNKED:
            return out + last_chunk(self.trailers)
        if mode == BODY_LENGTH and self.remaining:
            self.close = True  # the worker sent less than it declared: the client must see EOF
        elif mode == BODY_EOF:
            self.close = True
        return out

    def abort(self) -> bytes:
        """Wire bytes that end the body early after a failure (the response stays short)."""
        if self.mode == BODY_CHUNKED:
            return LAST_CHUNK
        if self.mode != BODY_NONE:
            self.close = True
        return b""


# Response header names the framing logic looks at -> a small code. Names are matched in
# Go's canonical form, which is how decode_response hands them over.
_H_LENGTH = 1
_H_TE = 2
_H_CONNECTION = 3
_H_TYPE = 4
_H_DATE = 5
_SPECIAL: Final = {
    b"Content-Length": _H_LENGTH,
    b"Transfer-Encoding": _H_TE,
    b"Connection": _H_CONNECTION,
    b"Keep-Alive": _H_CONNECTION,
    b"Content-Type": _H_TYPE,
    b"Date": _H_DATE,
}


def render_head(  # noqa: C901, PLR0912, PLR0915 - one pass on the hot path, no helpers
    status: int,
    headers: Sequence[tuple[bytes, bytes]],
    trailers: Sequence[tuple[bytes, bytes]],
    body: bytes,
    date: bytes,
    *,
    final: bool,
    http11: bool,
    keep_alive: bool,
    head_request: bool,
) -> tuple[bytes, BodyFraming]:
    """Render a final (status >= 200) response head and choose its body framing.

    Header names must be in Go's canonical form (as :func:`rr.http.codec.decode_response`
    returns them); values must already be free of CR/LF.

    ``final`` is True when ``body`` is the whole body (a regular response); then the returned
    bytes are the complete response. For a streamed response (``final`` False) ``body`` is
    the first chunk: the returned bytes are the head plus that chunk, and the
    :class:`BodyFraming` encodes the following chunks.

    The worker's ``Content-Length`` is honoured; otherwise a regular response gets the body
    length and a streamed one ``Transfer-Encoding: chunked`` (HTTP/1.1) or is delimited by
    closing the connection (HTTP/1.0). Worker-sent ``Transfer-Encoding``/``Connection`` headers
    are replaced by ours (``Connection: close`` from the worker closes the connection). A
    missing ``Date`` is added; a missing ``Content-Type`` is sniffed from a non-empty body.
    """
    parts = [_STATUS_LINES.get(status) or status_line(status)]
    length: int | None = None
    has_type = has_date = worker_close = False
    special = _SPECIAL
    for name, value in headers:
        code = special.get(name)
        if code is not None:
            if code == _H_LENGTH:
                if length is None and value.strip().isdigit():
                    length = int(value)
                continue
            if code == _H_TE:
                continue
            if code == _H_CONNECTION:
                worker_close = worker_close or b"close" in value.lower()
                continue
            if code == _H_TYPE:
                has_type = True
            else:
                has_date = True
        parts += (name, b": ", value, CRLF)
    if not has_date:
        parts.append(date)
    keep = keep_alive and not worker_close
    if head_request or status in (204, 304):
        mode = BODY_NONE
        if head_request:
            if length is None and final and status not in (204, 304):
                length = len(body)
        elif status == 204:  # noqa: PLR2004
            length = None
        if length is not None:
            parts.append(b"Content-Length: %d\r\n" % length)
        body = b""
        remaining = 0
    else:
        if body and not has_type:
            parts += (b"Content-Type: ", sniff_content_type(body), CRLF)
        if length is None and final and not (trailers and http11):
            length = len(body)
        if length is not None:
            mode = BODY_LENGTH
            remaining = length
            parts.append(b"Content-Length: %d\r\n" % length)
        elif http11:
            mode = BODY_CHUNKED
            remaining = 0
            parts.append(b"Transfer-Encoding: chunked\r\n")
        else:
            mode = BODY_EOF
            remaining = 0
            keep = False
    if http11:
        if not keep:
            parts.append(b"Connection: close\r\n")
    elif keep:
        parts.append(b"Connection: keep-alive\r\n")
    parts.append(CRLF)
    framing = BodyFraming(mode, remaining, trailers if mode == BODY_CHUNKED else (), not keep)
    if mode != BODY_NONE:
        parts.append(framing.end(body) if final else framing.chunk(body))
    return b"".join(parts), framing
