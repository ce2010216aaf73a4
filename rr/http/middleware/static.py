# -*- test-case-name: tests.http.test_mw_static -*-
# os.path on the request path: no Path object per request.
# ruff: noqa: PTH112, PTH116, PTH118, PTH119, PTH122
"""``static``: serve files from ``http.static.dir`` without a worker (spec http.md §12.4).

Decisions beyond upstream: ``.php``/``.phtml``/``.phar`` files and any path with a
component starting with ``.`` (dotfiles, ``.git/``) are never served, whatever ``allow``
says: they go to PHP. Paths are resolved with symlinks and must stay inside ``dir``; an
escape is refused with 403, as is any ``..``. Only one byte range is honoured; a request
for several ranges gets the whole file. The strong ETag needs a CRC of the whole
content: it is computed once per file version (size, mtime) and cached, and files larger
than :data:`ETAG_MAX_SIZE` get ``"<size>-<mtime in ns>"`` instead, so a big file is never
read on the reactor just for its tag.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from dataclasses import replace
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote_to_bytes, urlsplit

from rr.errors import ConfigError
from rr.http._response import sniff_content_type
from rr.http.middleware._base import FileBody, Response, header_value
from rr.http.middleware.headers import _header_map

if TYPE_CHECKING:
    from rr.config._values import Section
    from rr.http.codec import RequestHead
    from rr.http.middleware._base import Headers

#: Never served as files, whatever the config says.
NEVER_SERVED: Final = frozenset((".php", ".phtml", ".phar"))
#: Files up to this size get the upstream CRC ETag; larger ones a size-mtime tag (the CRC
#: runs in pure Python, a few MB/s: 64 KiB costs milliseconds once per file version).
ETAG_MAX_SIZE: Final = 64 << 10
_POLY: Final = 0x48D90782
_ETAG_CACHE_LIMIT: Final = 1024


def _crc_table() -> tuple[int, ...]:
    table = []
    for index in range(256):
        crc = index
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE: Final = _crc_table()


def crc32_koopman(data: bytes, crc: int = 0) -> int:
    """CRC-32 with RoadRunner's reflected polynomial ``0x48D90782`` (not zlib's)."""
    table = _TABLE
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


class StaticMiddleware:
    """Answers requests for existing files under ``dir``."""

    name = "static"

    def __init__(
        self,
        root: str,
        *,
        forbid: frozenset[str] = frozenset(),
        allow: frozenset[str] = frozenset(),
        calculate_etag: bool = False,
        weak: bool = False,
        request: Headers | None = None,
        response: Headers | None = None,
    ) -> None:
        self.root = os.path.realpath(root)
        self.forbid = forbid | NEVER_SERVED
        self.allow = allow - self.forbid
        self.calculate_etag = calculate_etag
        self.weak = weak
        self.request = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request or []]
        self.response = list(response or [])
        self._etags: dict[tuple[str, int, int], bytes] = {}
        if not mimetypes.inited:
            mimetypes.init()  # reads the system type map now, not on the first request

    @classmethod
    def from_section(cls, section: Section) -> StaticMiddleware:
        """Build from ``http.static``; ``dir`` must be an existing directory."""
        root = section.string("dir") or "."
        if not os.path.isdir(root):
            raise ConfigError([(section.key_path("dir"), f"{root!r} is not a directory")])

        def extensions(key: str) -> frozenset[str]:
            return frozenset(e.strip().lower() for e in section.strings(key) if e.strip())

        middleware = cls(
            root,
            forbid=extensions("forbid"),
            allow=extensions("allow"),
            calculate_etag=section.boolean("calculate_etag"),
            weak=section.boolean("weak"),
            request=_header_map(section, "request"),
            response=_header_map(section, "response"),
        )
        section.log_unknown()
        return middleware

    def before(self, head: RequestHead) -> RequestHead | Response:  # noqa: PLR0911
        """Serve the file the path names, or pass the request on."""
        path = _url_path(head.target)
        if path is None:
            return head
        if b".." in path:
            return Response(403, [], b"")
        name = path.rsplit(b"/", 1)[-1]
        ext = os.path.splitext(name.replace(b"\r", b"").replace(b"\n", b""))[1]
        ext_text = ext.decode("latin-1").lower()
        if (
            not ext_text
            or ext_text in self.forbid
            or (self.allow and ext_text not in self.allow)
            or b"/." in path
            or b"\x00" in path
        ):
            return head
        full = os.path.realpath(os.path.join(self.root, os.fsdecode(path.lstrip(b"/"))))
        if full != self.root and not full.startswith(self.root + os.sep):
            return Response(403, [], b"")
        try:
            info = os.stat(full)
        except OSError:
            return head
        if not stat.S_ISREG(info.st_mode):
            return head
        if self.request:
            head = replace(head, headers=[*head.headers, *self.request])
        return self._serve(head, full, info)

    def after(self, head: RequestHead, response: Response) -> None:
        """Worker responses pass unchanged."""

    # -- serving ---------------------------------------------------------------------------

    def _serve(self, head: RequestHead, full: str, info: os.stat_result) -> Response:
        size = info.st_size
        mtime = int(info.st_mtime)
        headers: Headers = [*self.response]
        etag = self._etag(full, info) if self.calculate_etag else None
        if etag is not None:
            headers.append((b"ETag", etag))
        headers.append((b"Last-Modified", formatdate(mtime, usegmt=True).encode("ascii")))
        check = _preconditions(head, etag, mtime)
        if check:
            if check == 304:  # noqa: PLR2004
                return Response(304, headers, b"")
            return Response(412, [], b"")
        headers += ((b"Content-Type", _content_type(full)), (b"Accept-Ranges", b"bytes"))
        status, offset, length = 200, 0, size
        ranged = _range(head, etag, mtime, size)
        if ranged is not None:
            if ranged[0] < 0:
                return Response(416, [(b"Content-Range", b"bytes */%d" % size)], b"")
            offset, length = ranged
            status = 206
            headers.append(
                (b"Content-Range", b"bytes %d-%d/%d" % (offset, offset + length - 1, size))
            )
        headers.append((b"Content-Length", b"%d" % length))
        return Response(status, headers, None, FileBody(full, offset, length))

    def _etag(self, full: str, info: os.stat_result) -> bytes | None:
        if self.weak:
            name = os.path.basename(full).encode("utf-8", "surrogateescape")
            return b'W/"%d"' % crc32_koopman(name)
        if info.st_size == 0:
            return None
        if info.st_size > ETAG_MAX_SIZE:
            return b'"%d-%d"' % (info.st_size, info.st_mtime_ns)
        key = (full, info.st_size, info.st_mtime_ns)
        tag = self._etags.get(key)
        if tag is None:
            try:
                with open(full, "rb") as fh:  # noqa: PTH123 - bounded by ETAG_MAX_SIZE
                    tag = b'"%d-%d"' % (info.st_size, crc32_koopman(fh.read()))
            except OSError:
                return None
            if len(self._etags) >= _ETAG_CACHE_LIMIT:
                self._etags.clear()
            self._etags[key] = tag
        return tag


def _url_path(target: str) -> bytes | None:
    """The percent-decoded path of a request target; None for ``*``/authority forms."""
    if target.startswith("/"):
        raw = target.split("?", 1)[0]
    elif "://" in target:
        raw = urlsplit(target).path or "/"
    else:
        return None
    return unquote_to_bytes(raw.encode("latin-1"))


def _content_type(full: str) -> bytes:
    guessed, encoding = mimetypes.guess_type(full, strict=False)
    if guessed is not None and encoding is None:
        if guessed.startswith("text/") or guessed == "application/javascript":
            guessed += "; charset=utf-8"
        return guessed.encode("latin-1")
    try:
        with open(full, "rb") as fh:  # noqa: PTH123 - 512 bytes to sniff
            return sniff_content_type(fh.read(512))
    except OSError:
        return b"application/octet-stream"


def _http_date(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _etag_matches(header: str, etag: bytes | None, *, weak: bool) -> bool:
    if header.strip() == "*":
        return True
    if etag is None:
        return False
    ours = etag.decode("latin-1")
    if weak:
        ours = ours.removeprefix("W/")
    for candidate in header.split(","):
        tag = candidate.strip()
        if weak:
            tag = tag.removeprefix("W/")
        elif tag.startswith("W/") or ours.startswith("W/"):
            continue
        if tag == ours:
            return True
    return False


def _preconditions(head: RequestHead, etag: bytes | None, mtime: int) -> int:
    """0 to serve, 304 for a cached copy, 412 for a failed precondition (RFC 9110 §13.2.2)."""
    if_match = header_value(head, "if-match")
    if if_match is not None:
        if not _etag_matches(if_match, etag, weak=False):
            return 412
    else:
        since = _http_date(header_value(head, "if-unmodified-since"))
        if since is not None and mtime > since:
            return 412
    safe = head.method in ("GET", "HEAD")
    if_none = header_value(head, "if-none-match")
    if if_none is not None:
        if _etag_matches(if_none, etag, weak=True):
            return 304 if safe else 412
        return 0
    if safe:
        since = _http_date(header_value(head, "if-modified-since"))
        if since is not None and mtime <= since:
            return 304
    return 0


def _range(head: RequestHead, etag: bytes | None, mtime: int, size: int) -> tuple[int, int] | None:
    """(offset, length) of a single satisfiable range; (-1, 0) if unsatisfiable; else None."""
    spec = header_value(head, "range")
    if spec is None or head.method not in ("GET", "HEAD"):
        return None
    if_range = header_value(head, "if-range")
    if if_range is not None:
        if if_range.strip().startswith(('"', "W/")):
            if not _etag_matches(if_range, etag, weak=False):
                return None
        elif _http_date(if_range) != mtime:
            return None
    return parse_range(spec, size)


def parse_range(spec: str, size: int) -> tuple[int, int] | None:
    """Parse one ``bytes=`` range against ``size``: see :func:`_range`."""
    unit, _, ranges = spec.strip().partition("=")
    first, dash, last = ranges.strip().partition("-")
    first, last = first.strip(), last.strip()
    valid = (
        unit.strip().lower() == "bytes" and dash and "," not in ranges
        and (first.isdigit() or (not first and last.isdigit()))
        and (not last or last.isdigit())
    )
    if not valid:
        return None
    if not first:  # suffix: the last N bytes
        length = min(int(last), size)
        return (size - length, length) if length else (-1, 0)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size:
        return (-1, 0)
    return (start, end - start + 1) if end >= start else None
