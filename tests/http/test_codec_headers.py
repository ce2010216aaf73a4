"""Header names, values and the request URI as Go shows them (rr.http._headers)."""

from __future__ import annotations

import pytest

from rr.http._headers import (
    canonical_name,
    canonical_name_bytes,
    clean_value,
    escaped_path,
    request_uri,
    valid_host,
)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("content-type", "Content-Type"),
        ("x-api-key", "X-Api-Key"),
        ("x_foo", "X_foo"),
        ("WWW-AUTHENTICATE", "Www-Authenticate"),
        ("dnt", "Dnt"),
        ("etag", "Etag"),
        ("x-forwarded-for", "X-Forwarded-For"),
        ("a--b", "A--B"),
        ("-x", "-X"),
        ("1abc-2DEF", "1abc-2def"),
        ("Content-Type", "Content-Type"),
        ("bad name", "bad name"),  # invalid characters: left as is
        ("x:y", "x:y"),
        ("caf\xe9", "caf\xe9"),
        ("", ""),
    ],
)
def test_canonical_name(name: str, canonical: str) -> None:
    """Go's CanonicalMIMEHeaderKey: upper-case after start and '-', lower elsewhere; invalid names untouched."""
    assert canonical_name(name) == canonical
    assert canonical_name(name) == canonical  # second call comes from the cache


def test_canonical_name_bytes_drops_invalid() -> None:
    """Response names: canonicalised, or None when Go would drop them."""
    assert canonical_name_bytes(b"x-request-id") == b"X-Request-Id"
    assert canonical_name_bytes(b"CONTENT-LENGTH") == b"Content-Length"
    for bad in (b"", b"a b", b"a:b", b"\xff", b"a\r\nb"):
        assert canonical_name_bytes(bad) is None


def test_clean_value() -> None:
    """CR/LF -> space, then surrounding spaces and tabs trimmed."""
    assert clean_value(b"a\r\nb") == b"a  b"
    assert clean_value(b"\t x \t") == b"x"
    assert clean_value(b"plain") == b"plain"


def test_valid_host() -> None:
    """Host header bytes as Go's ValidHostHeader accepts them."""
    for host in ("example.com", "example.com:8080", "[::1]:80", "", "xn--bcher-kva.de", "a_b~c"):
        assert valid_host(host)
    for host in ("a b", "a/b", "a@b", "caf\xe9", "a\r\n"):
        assert not valid_host(host)


@pytest.mark.parametrize(
    ("path", "escaped"),
    [
        ("/a/b", "/a/b"),
        ("/a%20b", "/a%20b"),  # the client's valid encoding is kept
        ("/a%2fb", "/a%2fb"),  # ... even lower-case hex and an encoded slash
        ("/a b", "/a%20b"),
        ("/a%20b c", "/a%20b%20c"),  # invalid as sent: the decoded path is re-encoded
        ("/caf\xc3\xa9", "/caf%C3%A9"),  # latin-1 decoded UTF-8 bytes
        ("/\xe9", "/%E9"),
        ("/a#b", "/a%23b"),
        ('/a"b', "/a%22b"),
        ("/[x]!$&'()*+,;=:@~", "/[x]!$&'()*+,;=:@~"),
        ("/%2A", "/%2A"),
        ("", ""),
    ],
)
def test_escaped_path(path: str, escaped: str) -> None:
    """Go's EscapedPath: keep a valid client encoding, else re-encode the decoded path."""
    assert escaped_path(path) == escaped


@pytest.mark.parametrize("path", ["/a%zz", "/a%", "/a%2", "/%g0"])
def test_escaped_path_rejects_bad_escapes(path: str) -> None:
    """A malformed % escape is an error (Go answers 400)."""
    with pytest.raises(ValueError, match="invalid URL escape"):
        escaped_path(path)


@pytest.mark.parametrize(
    ("target", "method", "uri", "query"),
    [
        ("/p?q=1", "GET", "http://h:1/p?q=1", "q=1"),
        ("*", "OPTIONS", "http://h:1*", ""),
        ("other.example:443", "CONNECT", "//other.example:443", ""),
        ("https://u@a.b:9/x y?z", "GET", "https://u@a.b:9/x%20y?z", "z"),
        ("ws://a/", "GET", "ws://a/", ""),
    ],
)
def test_request_uri(target: str, method: str, uri: str, query: str) -> None:
    """Origin, asterisk, authority and absolute forms, printed as Go prints them."""
    assert request_uri(target, method, "h:1", tls=False) == (uri, query)


@pytest.mark.parametrize("target", ["", "a/b", "1http://a/", ":x", "mailto:a@b", "/a\x7f", "/a\nb"])
def test_request_uri_rejects(target: str) -> None:
    """Targets Go refuses (empty, relative, opaque, control characters) raise ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the case
        request_uri(target, "GET", "h", tls=False)
