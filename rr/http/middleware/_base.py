# -*- test-case-name: tests.http.test_middleware -*-
"""The values the middleware seam passes around, and the pipeline that runs the chain.

Kept free of any protocol: HTTP/1.1, HTTP/2 and FastCGI all hand the pipeline a
:class:`~rr.http.codec.RequestHead` and a :class:`Response`, and render what comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rr.http.codec import RequestHead

Headers = list[tuple[bytes, bytes]]


@dataclass(slots=True)
class FileBody:
    """A response body read from a file: ``length`` bytes of ``path`` from ``offset``.

    The front end opens the file when it starts writing and reads it in chunks, so a
    large file is never held in memory.
    """

    path: str
    offset: int = 0
    length: int = 0


class BodyEncoder(Protocol):
    """Transforms a body that is written piece by piece (gzip on a stream or a file)."""

    def encode(self, data: bytes) -> bytes:
        """Encode the next piece; the result may be empty."""

    def finish(self) -> bytes:
        """Return whatever ends the encoded body."""


@dataclass(slots=True)
class Response:
    """A response as the middleware sees it on its way back to the client.

    :ivar headers: names in Go's canonical form (as the worker's headers are decoded).
    :ivar body: the whole body, or ``None`` when the worker streams it (the front end
        passes the following pieces through ``encoder``).
    :ivar file: set when the body is a file (``body`` is then ignored).
    :ivar encoder: applied to streamed and file bodies; ``body`` bytes are encoded in place.
    """

    status: int
    headers: Headers = field(default_factory=list)
    body: bytes | None = b""
    file: FileBody | None = None
    encoder: BodyEncoder | None = None

    def get(self, name: bytes) -> bytes | None:
        """Return the first value of header ``name`` (canonical form), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def remove(self, *names: bytes) -> None:
        """Drop every header called one of ``names``."""
        self.headers = [(k, v) for k, v in self.headers if k not in names]

    def body_length(self) -> int | None:
        """Bytes of the body before encoding, when known."""
        if self.file is not None:
            return self.file.length
        return None if self.body is None else len(self.body)


class Middleware(Protocol):
    """One entry of ``http.middleware``."""

    name: str

    def before(self, head: RequestHead) -> RequestHead | Response:
        """Rewrite the request, or answer it without a worker."""

    def after(self, head: RequestHead, response: Response) -> None:
        """Change the response in place.

        ``head`` is the request as the worker saw it, or, for a response made by the
        chain, as the entry that answered it saw it.
        """


def header_values(head: RequestHead, name: str) -> list[str]:
    """Every value of request header ``name`` (lower-case), in arrival order."""
    return [value for key, value in head.headers if key.lower() == name]


def header_value(head: RequestHead, name: str) -> str | None:
    """The first value of request header ``name`` (lower-case), or None."""
    for key, value in head.headers:
        if key.lower() == name:
            return value
    return None


class Pipeline:
    """The configured chain, in RoadRunner's order.

    ``http.middleware: [a, b, c]``: a request enters at ``c`` and reaches the worker after
    ``a``; the response goes back through ``a``, ``b``, ``c``.
    """

    def __init__(self, chain: Sequence[Middleware]) -> None:
        self.chain = tuple(chain)
        self._inward = tuple(reversed(self.chain))

    def __bool__(self) -> bool:
        return bool(self.chain)

    def before(self, head: RequestHead) -> tuple[RequestHead, Response | None]:
        """Run the request side of the chain.

        Returns the request as the worker should see it, and ``None``; or, when an entry
        answered it, the request as that entry saw it and the finished response (already
        passed back through the entries the request had entered).
        """
        inward = self._inward
        for index, middleware in enumerate(inward):
            result = middleware.before(head)
            if isinstance(result, Response):
                for outer in reversed(inward[:index]):
                    outer.after(head, result)
                return head, result
            head = result
        return head, None

    def after(self, head: RequestHead, response: Response) -> Response:
        """Run the response side of the chain for the worker's ``response``."""
        for middleware in self.chain:
            middleware.after(head, response)
        return response
