# -*- test-case-name: tests.http.test_codec_headers -*-
"""The request head the way Go's ``net/http`` shows it to RoadRunner.

PHP sees request header names in Go's canonical form (``x-api-key`` -> ``X-Api-Key``) and
an absolute URI whose path follows Go's escaping rules; Go drops or cleans response
headers that cannot be written safely. Canonicalising runs for every header of every
request, so results are memoised in a small bounded cache.
"""

from __future__ import annotations

import string
from urllib.parse import unquote_to_bytes

#: RFC 9110 token characters: the only bytes allowed in a header (or cookie) name.
TOKEN_CHARS = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
_TOKEN_BYTES = TOKEN_CHARS.encode("ascii")

#: Bytes Go accepts in a Host header (``httpguts.ValidHostHeader``).
HOST_CHARS = string.ascii_letters + string.digits + "!$%&'()*+,-.:;=[]_~"

#: Entries kept per cache; names beyond it are computed every time (a client sending
#: thousands of distinct names must not grow memory).
_CACHE_LIMIT = 4096

_COMMON = (
    "Accept",
    "Accept-Charset",
    "Accept-Encoding",
    "Accept-Language",
    "Authorization",
    "Cache-Control",
    "Connection",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "Cookie",
    "Date",
    "Etag",
    "Expect",
    "Host",
    "If-Modified-Since",
    "If-None-Match",
    "Origin",
    "Pragma",
    "Referer",
    "Set-Cookie",
    "Te",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "User-Agent",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Real-Ip",
    "X-Requested-With",
)

_names: dict[str, str] = {}
_bnames: dict[bytes, bytes] = {}
for _c in _COMMON:
    _names[_c] = _names[_c.lower()] = _c
    _bnames[_c.encode()] = _bnames[_c.lower().encode()] = _c.encode()


#: Look a request header name up in the cache: its canonical form, or None if not cached.
#: ``cached_name(n) or canonical_name(n)`` saves a call per header on the hot path.
cached_name = _names.get


def is_token(name: str) -> bool:
    """Whether *name* is a non-empty RFC 9110 token (a valid header or cookie name)."""
    # strip() with a character set removes everything when every character is in it.
    return bool(name) and not name.strip(TOKEN_CHARS)


def _canonicalise(name: str) -> str:
    if not is_token(name):
        # Go leaves names with invalid characters untouched.
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def canonical_name(name: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey``.

    The first letter and every letter after ``-`` upper-case, the rest lower-case
    (``x_foo`` -> ``X_foo``); a name with a non-token character is returned unchanged.
    """
    canon = _names.get(name)
    if canon is None:
        canon = _canonicalise(name)
        if len(_names) < _CACHE_LIMIT:
            _names[name] = canon
    return canon


def canonical_name_bytes(name: bytes) -> bytes | None:
    """:func:`canonical_name` for a response header name; ``None`` for an invalid name.

    Go drops response headers whose name is not a token instead of writing them.
    """
    canon = _bnames.get(name)
    if canon is None:
        if not name or name.strip(_TOKEN_BYTES):
            return None
        canon = _canonicalise(name.decode("ascii")).encode("ascii")
        if len(_bnames) < _CACHE_LIMIT:
            _bnames[name] = canon
    return canon


def clean_value(value: bytes) -> bytes:
    """Clean a response header value as Go does: CR and LF become spaces, then trim it."""
    if b"\r" in value or b"\n" in value:
        value = value.replace(b"\r", b" ").replace(b"\n", b" ")
    return value.strip(b" \t")


def valid_host(host: str) -> bool:
    """Whether *host* only holds bytes Go accepts in a Host header (empty is valid)."""
    return not host.strip(HOST_CHARS)


def h2_headers(headers: dict[str, list[str]]) -> None:
    """HTTP/2 and 3: drop pseudo-headers, join ``cookie`` fields with ``; ``."""
    for name in [n for n in headers if n.startswith(":")]:
        del headers[name]
    cookies = headers.get("Cookie")
    if cookies is not None and len(cookies) > 1:
        headers["Cookie"] = ["; ".join(cookies)]


def split_trailers(
    headers: list[tuple[bytes, bytes]], announced: list[bytes]
) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    """Split canonical response headers into ``(headers, trailers)``.

    *announced* are the values of the ``Trailer`` header: comma-separated names, each
    header present under one of those names moves to the trailers.
    """
    names = set()
    for value in announced:
        for name in value.split(b","):
            canon = canonical_name_bytes(name.strip(b" \t"))
            if canon is not None:
                names.add(canon)
    kept = [(k, v) for k, v in headers if k not in names]
    return kept, [(k, v) for k, v in headers if k in names]


def received_bytes(text: str) -> bytes:
    """Recover the received bytes of a latin-1 decoded string.

    Characters above U+00FF mean the caller decoded UTF-8: they are encoded back that way
    (lone surrogates from ``surrogateescape`` become their original bytes).
    """
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return text.encode("utf-8", "surrogatepass")


def received_text(value: str) -> str:
    """JSON form of a received string: its bytes as UTF-8, invalid sequences -> U+FFFD."""
    if value.isascii():
        return value
    return received_bytes(value).decode("utf-8", "replace")


# The request URI (spec http.md §2.3): Go's URL parsing and "escaped path" rule.

#: Characters Go's validEncoded accepts in a path as they are (plus "%", checked apart).
_PATH_VALID = string.ascii_letters + string.digits + "-_.~!$&'()*+,;=:@[]/"
_PATH_VALID_BYTES = (_PATH_VALID + "%").encode("ascii")
#: Bytes Go's escape(..., encodePath) leaves alone; every other byte becomes %XX.
_PATH_KEEP = frozenset((string.ascii_letters + string.digits + "-_.~$&+,/:;=@").encode("ascii"))
_SCHEME_CHARS = string.ascii_letters + string.digits + "+-."
_HEX = frozenset(b"0123456789abcdefABCDEF")


def _unescape_path(raw: bytes) -> bytes:
    pct = raw.find(b"%")
    end = len(raw)
    while pct != -1:
        if pct + 2 >= end or raw[pct + 1] not in _HEX or raw[pct + 2] not in _HEX:
            raise ValueError(f"invalid URL escape {raw[pct : pct + 3]!r}")
        pct = raw.find(b"%", pct + 3)
    return unquote_to_bytes(raw)


def escape_path(path: bytes) -> str:
    """Go's ``url.PathEscape``-like encoding of a decoded path (upper-case hex)."""
    keep = _PATH_KEEP
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in path)


def escaped_path(path: str) -> str:
    """Go's ``URL.EscapedPath`` for a request path as received.

    The client's encoding is kept when it is a valid encoding of the decoded path;
    otherwise the decoded path is re-encoded (``/a b`` -> ``/a%20b``).

    :raises ValueError: a malformed ``%`` escape (Go answers 400).
    """
    if not path.strip(_PATH_VALID):  # only characters that need no re-encoding, no "%"
        return path
    raw = received_bytes(path)
    decoded = _unescape_path(raw)
    if decoded == b"*":
        return "*"
    if not raw.strip(_PATH_VALID_BYTES):
        return path
    return escape_path(decoded)


def _has_ctl(text: str) -> bool:
    if text.isascii() and text.isprintable():
        return False
    return any(char < " " or char == "\x7f" for char in text)


def _absolute(path: str) -> str:
    """``scheme://authority/path`` of an absolute-form target (query already cut off)."""
    scheme, colon, rest = path.partition(":")
    if (
        not colon
        or not scheme.isascii()
        or not scheme[:1].isalpha()
        or scheme.strip(_SCHEME_CHARS)
        or not rest.startswith("//")
    ):
        raise ValueError("invalid URI for request")
    authority, slash, tail = rest[2:].partition("/")
    return scheme.lower() + "://" + authority + escaped_path(slash + tail)


def request_uri(target: str, method: str, host: str, *, tls: bool) -> tuple[str, str]:
    """Return ``(uri, raw query)`` for the context, from the raw request-target.

    ``uri`` is absolute: ``http(s)://`` (TLS alone decides) + host + escaped path +
    ``?query`` when the target had a ``?``. An absolute-form target is used as is
    (scheme lower-cased, path escaped); ``*`` gives ``<scheme>://<host>*`` and a CONNECT
    authority ``//host:port``, as Go prints them.

    :raises ValueError: a target Go refuses with 400 (control characters, bad escapes,
        neither a path nor an absolute URL).
    """
    if not target:
        raise ValueError("empty url")
    if _has_ctl(target):
        raise ValueError("invalid control character in URL")
    path, question, query = target.partition("?")
    if path.startswith("/"):
        scheme = "https://" if tls else "http://"
        return scheme + host + escaped_path(path) + question + query, query
    if target == "*":
        return ("https://" if tls else "http://") + host + "*", ""
    if method == "CONNECT":
        return "//" + target, ""
    return _absolute(path) + question + query, query
