# -*- test-case-name: tests.http.test_codec -*-
"""Sans-IO HTTP codec: a parsed request -> the worker payload, a worker frame -> a response.

PHP workers built on ``spiral/roadrunner-http`` only understand the request context
RoadRunner sends (spec http.md §2): Go-canonical header names without ``Host``, an
absolute URI, URL-unescaped cookies, form bodies turned into a JSON tree and uploads
already on disk. This module reproduces that context, in JSON (``http.codec: json``) or
protobuf (``proto``), and decodes the worker's answer (§3) in whichever codec it used.
No sockets and no Twisted: the HTTP/1.1 and HTTP/2 protocols drive it.

Every request passes through here, so the common case (a bodiless GET) takes a fast path:
no regexes, one pass over the headers, one ``orjson.dumps``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import orjson

from rr.errors import RRError
from rr.goridge.frame import Flags
from rr.http import _proto
from rr.http._cookies import parse_cookies
from rr.http._forms import FormConflict, build_tree, first, last, parse_urlencoded
from rr.http._headers import (
    cached_name,
    canonical_name,
    canonical_name_bytes,
    clean_value,
    h2_headers,
    received_bytes,
    received_text,
    request_uri,
    split_trailers,
    valid_host,
)
from rr.http._multipart import MultipartCollector, MultipartError, UploadPolicy, boundary_of
from rr.payload import Payload

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rr.config._schema import HTTPConfig

__all__ = [
    "CODEC_JSON",
    "CODEC_PROTO",
    "CodecOptions",
    "ContextError",
    "RequestBuilder",
    "RequestError",
    "RequestHead",
    "ResponseError",
    "ResponseHead",
    "decode_response",
    "encode_request",
]

CODEC_JSON = int(Flags.CODEC_JSON)
CODEC_PROTO = int(Flags.CODEC_PROTO)

_NO_BODY_METHODS = frozenset(("HEAD", "OPTIONS"))
_FORM_METHODS = frozenset(("POST", "PUT", "PATCH"))
_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_SORTED = orjson.OPT_SORT_KEYS

# What happens to the body (decided from the head, before the first byte arrives).
_SKIP = 0  # HEAD/OPTIONS: not read at all
_RAW = 1  # passed through as the frame body
_FORM = 2  # url-encoded form, parsed at the end
_EMPTY_FORM = 3  # url-encoded on a method Go does not parse: counted, dropped, parsed=true
_PARTS = 4  # multipart, parsed while it arrives
_DRAIN = 5  # the head is already known to be bad: counted and dropped


class RequestError(RRError):
    """The client's request cannot be turned into a worker payload.

    :ivar status: 413 (body over ``max_request_size``) or 400 (anything else malformed).
    :ivar message: one-line text for the plain-text error response.
    """

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status} {message}")


class ContextError(RRError):
    """The request context cannot be encoded (a protobuf string field is not UTF-8).

    RoadRunner fails such requests with ``internal_error_code``; so should the caller.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ResponseError(RRError):
    """A worker's response context cannot be decoded (answer ``internal_error_code``)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True, kw_only=True)
class CodecOptions:
    """The ``http`` settings the codec needs, with derived values computed once."""

    codec: Literal["json", "proto"] = "json"
    raw_body: bool = False
    max_request_size: int = 1000 * 1024 * 1024  # bytes
    uploads_dir: str = ""  # "" = tempfile.gettempdir()
    uploads_forbid: tuple[str, ...] = ()
    uploads_allow: tuple[str, ...] = ()
    #: Derived: the upload directory and extension sets (forbidden entries leave ``allow``).
    policy: UploadPolicy = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        forbid = frozenset(self.uploads_forbid)
        policy = UploadPolicy(
            dir=self.uploads_dir or tempfile.gettempdir(),
            forbid=forbid,
            allow=frozenset(self.uploads_allow) - forbid,
        )
        object.__setattr__(self, "policy", policy)

    @classmethod
    def from_config(cls, http: HTTPConfig) -> CodecOptions:
        """Take the options from the ``http`` config section."""
        return cls(
            codec=http.codec,
            raw_body=http.raw_body,
            max_request_size=http.max_request_size,
            uploads_dir=http.uploads.dir,
            uploads_forbid=http.uploads.forbid,
            uploads_allow=http.uploads.allow,
        )


@dataclass(slots=True, kw_only=True)
class RequestHead:
    """A request as the protocol parsed it.

    Strings are expected to be latin-1 decoded from the wire, so each character stands for
    one received byte and the original bytes can be recovered (characters above U+00FF are
    taken as UTF-8 text).

    :ivar method: as received (not upper-cased).
    :ivar target: the raw request-target (origin, absolute, authority or ``*`` form).
    :ivar protocol: ``HTTP/1.0``, ``HTTP/1.1``, ``HTTP/2.0`` ...
    :ivar headers: every header line in arrival order, names in any case, ``Host`` included.
    :ivar remote_addr: the peer host, without port and IPv6 brackets.
    :ivar tls: whether the connection is TLS (the URI scheme depends on nothing else).
    :ivar authority: HTTP/2 ``:authority``, used instead of ``Host`` when set.
    """

    method: str
    target: str
    protocol: str
    headers: list[tuple[str, str]]
    remote_addr: str
    tls: bool = False
    authority: str = ""


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """The status and headers of one worker response frame, ready to write.

    ``status`` is passed through unchecked: outside 100-599 the caller answers the fixed
    500 ``unknown status code from worker: <n>`` (spec http.md §3.1).
    """

    status: int
    headers: list[tuple[bytes, bytes]]
    trailers: list[tuple[bytes, bytes]]


def _utf8(value: str, what: str) -> bytes:
    """Bytes of a protobuf ``string`` field, which must be valid UTF-8."""
    if value.isascii():
        return value.encode("ascii")
    raw = received_bytes(value)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ContextError(f"{what} is not valid UTF-8") from None
    return raw


class RequestBuilder:
    """Accumulate one request body and produce the worker payload.

    Feed the body with :meth:`feed` (unless :attr:`reads_body` is false), then call
    :meth:`finish`. Multipart bodies are parsed as they arrive and files are streamed to
    temp files listed in :attr:`temp_files`; the caller deletes them with :meth:`cleanup`
    after the last response frame. When :meth:`feed` or :meth:`finish` raises, the
    builder has already deleted its temp files.

    A malformed head (bad request-target, missing, repeated or invalid ``Host``) is
    reported by :meth:`finish` as a 400; until then the body is only counted.
    """

    __slots__ = (
        "_chunks",
        "_collector",
        "_content_type",
        "_cookies",
        "_error",
        "_head",
        "_headers",
        "_mode",
        "_non_ascii",
        "_options",
        "_raw_query",
        "_size",
        "_uri",
        "reads_body",
        "temp_files",
    )

    def __init__(self, head: RequestHead, options: CodecOptions) -> None:
        self._head = head
        self._options = options
        self.temp_files: list[str] = []
        self.reads_body = head.method not in _NO_BODY_METHODS
        self._size = 0
        self._chunks: list[bytes] = []
        self._collector: MultipartCollector | None = None
        self._error: RequestError | None = None
        self._uri = self._raw_query = ""
        self._cookies: list[str] = []
        self._content_type = ""
        self._non_ascii = False
        host = self._collect_headers()
        try:
            self._uri, self._raw_query = request_uri(head.target, head.method, host, tls=head.tls)
        except ValueError as exc:
            self._error = RequestError(400, str(exc))
        self._mode = self._choose_mode()

    def _collect_headers(self) -> str:
        """Build the canonical header map; return the host for the URI."""
        head = self._head
        headers: dict[str, list[str]] = {}
        hosts: list[str] = []
        chunked = False
        non_ascii = False
        cached = cached_name
        for name, value in head.headers:
            canon = cached(name) or canonical_name(name)
            if canon == "Host":
                hosts.append(value)
                continue
            if canon == "Transfer-Encoding":
                chunked = True
                continue
            if not value.isascii() or not canon.isascii():
                non_ascii = True
            values = headers.get(canon)
            if values is None:
                headers[canon] = [value]
            else:
                values.append(value)
        if chunked and head.protocol != "HTTP/1.0":
            headers.pop("Content-Length", None)
        if not head.protocol.startswith("HTTP/1."):
            h2_headers(headers)
        self._headers = headers
        self._non_ascii = non_ascii
        self._cookies = headers.get("Cookie", self._cookies)
        content_type = headers.get("Content-Type")
        if content_type is not None:
            self._content_type = content_type[0]
        return self._host(hosts)

    def _host(self, hosts: list[str]) -> str:
        head = self._head
        host = head.authority or (hosts[0] if hosts else "")
        if len(hosts) > 1:
            self._error = RequestError(400, "too many Host headers")
        elif not host and head.protocol == "HTTP/1.1" and head.method != "CONNECT":
            self._error = RequestError(400, "missing required Host header")
        elif not valid_host(host):
            self._error = RequestError(400, "malformed Host header")
        return host

    def _choose_mode(self) -> int:
        if not self.reads_body:
            return _SKIP
        if self._error is not None:
            return _DRAIN
        if self._options.raw_body:
            return _RAW
        content_type = self._content_type
        # RoadRunner's detection: case-sensitive substring match, url-encoded first.
        if _URLENCODED in content_type:
            return _FORM if self._head.method in _FORM_METHODS else _EMPTY_FORM
        if _MULTIPART in content_type:
            return self._multipart_mode(content_type)
        return _RAW

    def _multipart_mode(self, content_type: str) -> int:
        boundary = boundary_of(content_type)
        if boundary is None:
            self._error = RequestError(400, "request Content-Type isn't multipart/form-data")
            return _DRAIN
        try:
            self._collector = MultipartCollector(boundary, self._options.policy, self.temp_files)
        except MultipartError as exc:
            self._error = RequestError(400, str(exc))
            return _DRAIN
        return _PARTS

    def feed(self, data: bytes) -> None:
        """Take the next chunk of the request body.

        :raises RequestError: 413 once more than ``max_request_size`` bytes were fed;
            400 as soon as a multipart body is seen to be malformed.
        """
        mode = self._mode
        if mode == _SKIP:
            return
        self._size += len(data)
        if self._size > self._options.max_request_size:
            self._fail(RequestError(413, "http: request body too large"))
        if mode in (_RAW, _FORM):
            self._chunks.append(data)
        elif mode == _PARTS and self._collector is not None:
            try:
                self._collector.write(data)
            except MultipartError as exc:
                self._fail(RequestError(400, str(exc)))

    def finish(self) -> Payload:
        """Produce the worker payload once the whole body was fed.

        :raises RequestError: 400 for a malformed head, multipart body or form tree.
        :raises ContextError: the protobuf context would hold invalid UTF-8.
        """
        if self._error is not None:
            self._fail(self._error)
        try:
            body, uploads, parsed = self._body()
        except (FormConflict, MultipartError) as exc:
            self._fail(RequestError(400, str(exc)))
        try:
            if self._options.codec == "proto":
                context = self._proto_context(parsed, uploads)
                return Payload(context, body, CODEC_PROTO)
            return Payload(self._json_context(parsed, uploads), body, CODEC_JSON)
        except ContextError:
            self.cleanup()
            raise

    def _fail(self, error: RequestError) -> NoReturn:
        self._mode = _DRAIN
        self._error = error
        if self._collector is not None:
            self._collector.close()
        self.cleanup()
        raise error

    def _body(self) -> tuple[bytes, dict[str, Any] | None, bool]:
        """Return ``(frame body, uploads tree or None, parsed)``."""
        mode = self._mode
        if mode == _RAW:
            chunks = self._chunks
            return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), None, False
        if mode == _FORM:
            fields = parse_urlencoded(b"".join(self._chunks))
            return self._tree_body(build_tree(fields.items(), last)), None, True
        if mode == _EMPTY_FORM:
            return self._tree_body({}), None, True
        if mode == _PARTS and self._collector is not None:
            collector = self._collector
            collector.finish()
            data = build_tree(collector.fields.items(), last)
            files = build_tree(collector.files.items(), first)
            return self._tree_body(data), files, True
        return b"", None, False

    def _tree_body(self, tree: dict[str, Any]) -> bytes:
        if tree:
            return orjson.dumps(tree, option=_SORTED)
        # An empty parsed form: protobuf sends nothing (the SDK substitutes "{}"), but the
        # SDK's JSON path json_decode()s the body with JSON_THROW_ON_ERROR, so JSON mode
        # must send "{}" (as RoadRunner did when it spoke JSON).
        return b"" if self._options.codec == "proto" else b"{}"

    def _json_context(self, parsed: bool, uploads: dict[str, Any] | None) -> bytes:
        head = self._head
        headers: dict[str, list[str]] = self._headers
        if self._non_ascii:
            text = received_text
            headers = {text(k): [text(v) for v in vs] for k, vs in headers.items()}
        cookies = parse_cookies(self._cookies) if self._cookies else {}
        strings = [head.remote_addr, head.protocol, head.method, self._uri, self._raw_query]
        if not "".join(strings).isascii():
            strings = [received_text(text) for text in strings]
        remote_addr, protocol, method, uri, raw_query = strings
        context = {
            "remoteAddr": remote_addr,
            "protocol": protocol,
            "method": method,
            "uri": uri,
            "headers": headers,
            "cookies": {k: v if v.isascii() else received_text(v) for k, v in cookies.items()},
            "rawQuery": raw_query,
            "parsed": parsed,
            "uploads": uploads,
            "attributes": None,
        }
        return orjson.dumps(context, option=_SORTED)

    def _proto_context(self, parsed: bool, uploads: dict[str, Any] | None) -> bytes:
        head = self._head
        header: _proto.TextMap | _proto.HeaderMap = sorted(self._headers.items())
        if self._non_ascii:
            header = [
                (_utf8(name, "header name"), [received_bytes(v) for v in values])
                for name, values in sorted(self._headers.items())
            ]
        cookies = parse_cookies(self._cookies) if self._cookies else {}
        strings = [head.remote_addr, head.protocol, head.method, self._uri, self._raw_query]
        if "".join(strings).isascii():
            encoded = [text.encode() for text in strings]
        else:
            names = ("remote address", "protocol", "method", "uri", "query")
            encoded = [_utf8(text, what) for text, what in zip(strings, names, strict=True)]
        remote_addr, protocol, method, uri, raw_query = encoded
        return _proto.encode_request(
            remote_addr=remote_addr,
            protocol=protocol,
            method=method,
            uri=uri,
            header=header,
            # Cookie names are tokens (ASCII); values are latin-1 text, i.e. raw bytes.
            cookies=[(k.encode(), (v.encode("latin-1"),)) for k, v in sorted(cookies.items())],
            raw_query=raw_query,
            parsed=parsed,
            uploads=b"" if uploads is None else orjson.dumps(uploads, option=_SORTED),
        )

    def cleanup(self) -> None:
        """Delete every temp file created (missing ones are ignored); idempotent."""
        while self.temp_files:
            with contextlib.suppress(OSError):
                os.unlink(self.temp_files.pop())  # noqa: PTH108


def encode_request(
    head: RequestHead, body: bytes, options: CodecOptions
) -> tuple[Payload, list[str]]:
    """Build the payload of a request whose body is already complete.

    :returns: the payload and the temp files to delete after the last response frame.
    :raises RequestError: see :meth:`RequestBuilder.feed` and :meth:`RequestBuilder.finish`.
    :raises ContextError: see :meth:`RequestBuilder.finish`.
    """
    builder = RequestBuilder(head, options)
    if body:
        builder.feed(body)
    return builder.finish(), builder.temp_files


def _json_values(name: str, values: object) -> list[bytes]:
    if isinstance(values, str):
        return [values.encode()]
    if isinstance(values, dict):
        values = list(values.values())
    if not isinstance(values, list):
        raise ResponseError(f"header {name!r}: values must be a list of strings")
    # Like the SDK's protobuf path, non-string elements are left out.
    return [v.encode() for v in values if isinstance(v, str)]


def _decode_json(context: bytes) -> tuple[int, list[tuple[bytes, list[bytes]]]]:
    try:
        data = orjson.loads(context)
    except orjson.JSONDecodeError as exc:
        raise ResponseError(f"response context is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ResponseError("response context is not a JSON object")
    status = data.get("status", 0)
    if not isinstance(status, int) or isinstance(status, bool):
        raise ResponseError(f"response status is not an integer: {status!r}")
    headers = data.get("headers")
    if headers is None or headers == []:
        return status, []
    if not isinstance(headers, dict):
        raise ResponseError("response headers are not a JSON object")
    return status, [(k.encode(), _json_values(k, v)) for k, v in headers.items()]


def decode_response(payload: Payload) -> ResponseHead | None:
    """Decode the context of a worker response frame.

    The frame's codec byte picks the format: ``0x80`` protobuf ``http.v1.Response``,
    anything else (``0x08``, ``0x00``) JSON ``{"status": .., "headers": {..}}``. Header
    names are canonicalised and invalid ones dropped, CR/LF in values become spaces, and
    headers named by a ``Trailer`` header move to ``trailers`` (``Trailer`` itself is
    removed). The status is not range-checked (see :class:`ResponseHead`).

    :returns: ``None`` when the context is empty (a body-only chunk).
    :raises ResponseError: the context cannot be decoded.
    """
    context = payload.context
    if not context:
        return None
    items: Iterable[tuple[bytes, list[bytes]]]
    if payload.codec & CODEC_PROTO:
        try:
            status, decoded = _proto.decode_response(context)
        except _proto.ProtoError as exc:
            raise ResponseError(f"malformed protobuf response context: {exc}") from None
        items = decoded.items()
    else:
        status, items = _decode_json(context)
    headers: list[tuple[bytes, bytes]] = []
    announced: list[bytes] = []
    for name, values in items:
        canon = canonical_name_bytes(name)
        if canon is None:
            continue
        if canon == b"Trailer":
            announced += values
            continue
        headers += [(canon, clean_value(value)) for value in values]
    if not announced:
        return ResponseHead(status, headers, [])
    kept, trailers = split_trailers(headers, announced)
    return ResponseHead(status, kept, trailers)
