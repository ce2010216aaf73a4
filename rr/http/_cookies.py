# -*- test-case-name: tests.http.test_codec_cookies -*-
"""The ``cookies`` map of the request context, parsed the way RoadRunner does it.

RoadRunner takes Go's ``Request.Cookies()`` (lenient RFC 6265 parsing) and then
URL-query-unescapes every value (``+`` becomes a space); PHP relies on that, so a value
that does not unescape is dropped rather than passed through.
"""

from __future__ import annotations

from rr.http._forms import query_unescape_text
from rr.http._headers import TOKEN_CHARS

#: Go's ``textproto.TrimString``: ASCII whitespace.
_WS = " \t\r\n"

#: Memoised lines: at most this many, each at most this long (bounded memory).
_CACHE_LIMIT = 1024
_CACHE_LINE_LIMIT = 4096
_cache: dict[str, dict[str, str]] = {}


def _valid_value(value: str) -> bool:
    # Go's validCookieValueByte: 0x20-0x7e except '"', ';' and '\'.
    return value.isascii() and value.isprintable() and '"' not in value and "\\" not in value


def _value(raw: str, clean: bool) -> str | None:
    """Return the stored value of a cookie, or ``None`` to drop it."""
    if not clean:
        if len(raw) > 1 and raw[0] == '"' and raw[-1] == '"':
            raw = raw[1:-1]
        if not _valid_value(raw):
            return None
    return query_unescape_text(raw)


def parse_cookies(lines: list[str]) -> dict[str, str]:
    """Parse ``Cookie`` header values into name -> unescaped value.

    Strings are latin-1 text (one character per byte), in and out. Names that are not
    tokens are skipped; surrounding double quotes are removed; values with invalid
    characters or a broken ``%`` escape are dropped; the last duplicate wins.

    A client sends the same ``Cookie`` line with every request, so results for single
    lines are memoised: the returned dict is shared and must not be modified.
    """
    if len(lines) == 1 and len(lines[0]) <= _CACHE_LINE_LIMIT:
        line = lines[0]
        cookies = _cache.get(line)
        if cookies is None:
            cookies = _parse(lines)
            if len(_cache) >= _CACHE_LIMIT:
                _cache.clear()
            _cache[line] = cookies
        return cookies
    return _parse(lines)


def _parse(lines: list[str]) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for line in lines:
        # A line made only of valid value characters needs no per-cookie checks.
        clean = _valid_value(line)  # ";" passes: it is a printable character
        for part in line.split(";"):
            name, _, raw = part.partition("=")
            name = name.strip(_WS)
            if not name or name.strip(TOKEN_CHARS):
                continue
            raw = raw.rstrip(_WS)
            if clean and "%" not in raw and "+" not in raw:
                cookies[name] = raw  # the common case: nothing to check or unescape
                continue
            value = _value(raw, clean)
            if value is not None:
                cookies[name] = value
    return cookies
