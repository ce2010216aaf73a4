# -*- test-case-name: tests.http.test_mw_gzip -*-
"""``gzip``: compress responses the client accepts gzip for (spec http.md §12.3).

Whole bodies are compressed at once; streamed and file bodies get an encoder that
compresses each piece and flushes it (``Z_SYNC_FLUSH``), so a server-sent-events stream
still reaches the client chunk by chunk.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Final

from rr.http._response import sniff_content_type
from rr.http.middleware._base import header_values

if TYPE_CHECKING:
    from rr.http.codec import RequestHead
    from rr.http.middleware._base import Response

#: Bodies shorter than this are sent as they are (compression would not pay).
MIN_SIZE: Final = 1024
_VARY = (b"Vary", b"Accept-Encoding")
_MARKER = b"No-Gzip-Compression"
_SKIP_PREFIXES = ("video/", "audio/", "image/jp")
_SKIP_PARTS = ("compress", "zip", "snappy", "lzma", "xz", "zstd", "brotli", "stuffit")
_NO_BODY_STATUS = frozenset((204, 206, 304))


def accepts_gzip(values: list[str]) -> bool:
    """Whether ``Accept-Encoding`` values allow gzip (explicitly or via ``*``) with q > 0."""
    gzip_q: float | None = None
    star_q: float | None = None
    for value in values:
        for item in value.split(","):
            coding, _, params = item.partition(";")
            coding = coding.strip().lower()
            q = 1.0
            for param in params.split(";"):
                key, _, number = param.partition("=")
                if key.strip().lower() == "q":
                    try:
                        q = float(number.strip())
                    except ValueError:
                        q = 0.0
            if coding in ("gzip", "x-gzip"):
                gzip_q = q
            elif coding == "*":
                star_q = q
    if gzip_q is not None:
        return gzip_q > 0
    return star_q is not None and star_q > 0


def compressible(content_type: bytes) -> bool:
    """Whether a body of this type is worth compressing (not already-compressed media)."""
    text = content_type.decode("latin-1").lower()
    return not text.startswith(_SKIP_PREFIXES) and not any(p in text for p in _SKIP_PARTS)


class GzipEncoder:
    """Compresses a body piece by piece, flushing after each piece."""

    __slots__ = ("_z",)

    def __init__(self) -> None:
        self._z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 31)

    def encode(self, data: bytes) -> bytes:
        """Compress ``data`` and flush it so the client can decode it now."""
        if not data:
            return b""
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        """The end of the gzip stream."""
        return self._z.flush(zlib.Z_FINISH)


class GzipMiddleware:
    """Compresses responses; always adds ``Vary: Accept-Encoding``."""

    name = "gzip"

    def before(self, head: RequestHead) -> RequestHead:
        """Requests pass unchanged (request bodies are not decompressed)."""
        return head

    def after(self, head: RequestHead, response: Response) -> None:
        """Compress ``response`` when the client, the type and the size allow it."""
        response.headers.append(_VARY)
        if response.get(_MARKER) is not None:
            response.remove(_MARKER)
            return
        status = response.status
        if (
            head.method == "HEAD"
            or status < 200  # noqa: PLR2004
            or status in _NO_BODY_STATUS
            or response.get(b"Content-Encoding") is not None
            or response.get(b"Content-Range") is not None
            or not accepts_gzip(header_values(head, "accept-encoding"))
        ):
            return
        declared = response.get(b"Content-Length")
        size = response.body_length()
        if declared is not None and declared.strip().isdigit():
            size = int(declared)
        if size is not None and size < MIN_SIZE:
            return
        content_type = response.get(b"Content-Type")
        if content_type is None and response.body:
            content_type = sniff_content_type(response.body)
            response.headers.append((b"Content-Type", content_type))
        if content_type is not None and not compressible(content_type):
            return
        response.remove(b"Content-Length", b"Accept-Ranges")
        response.headers.append((b"Content-Encoding", b"gzip"))
        if response.body is not None and response.file is None:
            z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 31)
            response.body = z.compress(response.body) + z.flush()
        else:
            response.encoder = GzipEncoder()
