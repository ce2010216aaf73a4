"""The cookies map of the request context (rr.http._cookies, spec http.md §2.3)."""

from __future__ import annotations

import pytest

from rr.http._cookies import parse_cookies


@pytest.mark.parametrize(
    ("lines", "cookies"),
    [
        (["session=abc%20123; theme=dark"], {"session": "abc 123", "theme": "dark"}),
        (['a="quoted value"'], {"a": "quoted value"}),
        (['a="'], {}),  # a lone quote is not stripped and is invalid
        (["a=1+2"], {"a": "1 2"}),
        (["a=%2B"], {"a": "+"}),
        (["a=%zz; b=1"], {"b": "1"}),  # undecodable values are dropped
        (["a=%4"], {}),
        (["a b=1; c=2"], {"c": "2"}),  # invalid names are skipped
        (["=x; ,y=1; z=2"], {"z": "2"}),
        (["a=1; a=2", "a=3"], {"a": "3"}),  # the last one wins, across lines too
        (['a=x"y; b=x\\y; c=x\ty; d=ok'], {"d": "ok"}),  # invalid value bytes drop the cookie
        (["  a = 1 ;  b=2  "], {"a": " 1", "b": "2"}),  # Go trims the pair, not the value's start
        (["a=; flag"], {"a": "", "flag": ""}),
        (["a=%FF"], {"a": "\xff"}),  # latin-1 text: one character per byte
        (["a=caf\xe9"], {}),  # non-ASCII value bytes are invalid
        ([";;"], {}),
        ([], {}),
    ],
)
def test_parse_cookies(lines: list[str], cookies: dict[str, str]) -> None:
    """Go's Cookies() leniency, then URL-query-unescaping (+ -> space); broken ones dropped."""
    assert parse_cookies(lines) == cookies
