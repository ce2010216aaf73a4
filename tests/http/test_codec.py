"""Request encoding of the HTTP codec (rr.http.codec): the context PHP receives (spec http.md §2).

Also holds the helpers other ``test_codec_*`` modules import: request heads and
multipart bodies.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest

from rr.config._schema import HTTPConfig, UploadsConfig
from rr.http.codec import (
    CODEC_JSON,
    CODEC_PROTO,
    CodecOptions,
    ContextError,
    RequestBuilder,
    RequestError,
    RequestHead,
    encode_request,
)
from tests.http.test_codec_proto import pb_map, pb_request

JSON = CodecOptions()
PROTO = CodecOptions(codec="proto")


def make_head(
    method: str = "GET",
    target: str = "/",
    headers: list[tuple[str, str]] | None = None,
    *,
    protocol: str = "HTTP/1.1",
    host: str | None = "example.com",
    tls: bool = False,
    authority: str = "",
    remote_addr: str = "127.0.0.1",
) -> RequestHead:
    """A request head; a Host header comes first unless ``host`` is None."""
    lines = [("Host", host)] if host is not None else []
    return RequestHead(
        method=method,
        target=target,
        protocol=protocol,
        headers=lines + (headers or []),
        remote_addr=remote_addr,
        tls=tls,
        authority=authority,
    )


def field_part(name: str, value: str, extra: str = "") -> bytes:
    """One multipart form field."""
    return f'Content-Disposition: form-data; name="{name}"{extra}\r\n\r\n{value}'.encode()


def file_part(name: str, filename: str, content: bytes, mime: str | None = None) -> bytes:
    """One multipart file part."""
    head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
    if mime is not None:
        head += f"Content-Type: {mime}\r\n"
    return (head + "\r\n").encode() + content


def multipart(*parts: bytes, boundary: str = "XyZ") -> bytes:
    """A complete multipart/form-data body."""
    delimiter = b"--" + boundary.encode()
    out = b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts)
    return out + delimiter + b"--\r\n"


def context(payload_context: bytes) -> Any:
    """A JSON context decoded."""
    return orjson.loads(payload_context)


# -- the spec example (§2.7 / §2.8) ---------------------------------------------------------

EXAMPLE_HEADERS = [
    ("Host", "example.com:8080"),
    ("User-Agent", "curl/8.5.0"),
    ("Accept", "*/*"),
    ("Cookie", "session=abc%20123; theme=dark"),
    ("Content-Type", "multipart/form-data; boundary=XyZ"),
    ("Content-Length", "861"),
]
AVATAR = bytes(range(256)) * 4 + b"\r\n--XyZ" + bytes(203)  # 1234 bytes, a fake delimiter inside
EXAMPLE_BODY = multipart(
    field_part("title", "Holiday"),
    field_part("meta[author]", "Ann"),
    file_part("avatar", "me.png", AVATAR, "image/png"),
    file_part("docs[]", "a.txt", b"hello world", "text/plain"),
    file_part("docs[]", "b.php", b"<?php echo 'hi'; ?>\n", "application/x-php"),
)


def example(codec: str, tmp_path: Path) -> tuple[Any, list[str]]:
    head = RequestHead(
        method="POST",
        target="/upload?lang=en&tags[]=a&tags[]=b",
        protocol="HTTP/1.1",
        headers=list(EXAMPLE_HEADERS),
        remote_addr="203.0.113.7",
    )
    options = CodecOptions(codec=codec, uploads_dir=str(tmp_path), uploads_forbid=(".php",))  # type: ignore[arg-type]
    return encode_request(head, EXAMPLE_BODY, options)


def check_example_uploads(uploads: Any, tmp_path: Path, temp_files: list[str]) -> None:
    avatar, (doc_a, doc_b) = uploads["avatar"], uploads["docs"]
    assert list(avatar) == ["name", "mime", "size", "error", "tmpName"]
    assert (avatar["name"], avatar["mime"], avatar["size"], avatar["error"]) == (
        "me.png",
        "image/png",
        1234,
        0,
    )
    assert (doc_a["name"], doc_a["size"], doc_a["error"]) == ("a.txt", 11, 0)
    assert doc_b == {
        "name": "b.php",
        "mime": "application/x-php",
        "size": 0,
        "error": 8,
        "tmpName": "",
    }
    for upload, content in ((avatar, AVATAR), (doc_a, b"hello world")):
        path = Path(upload["tmpName"])
        assert path.parent == tmp_path
        assert re.fullmatch(r"upload\d+", path.name)
        assert path.read_bytes() == content
    assert sorted(temp_files) == sorted([avatar["tmpName"], doc_a["tmpName"]])


def test_spec_example_json(tmp_path: Path) -> None:
    """The §2.7 multipart example gives exactly the §2.8 JSON context (temp names aside)."""
    payload, temp_files = example("json", tmp_path)
    assert payload.codec == CODEC_JSON
    assert payload.body == b'{"meta":{"author":"Ann"},"title":"Holiday"}'
    ctx = context(payload.context)
    check_example_uploads(ctx.pop("uploads"), tmp_path, temp_files)
    assert ctx == {
        "remoteAddr": "203.0.113.7",
        "protocol": "HTTP/1.1",
        "method": "POST",
        "uri": "http://example.com:8080/upload?lang=en&tags[]=a&tags[]=b",
        "headers": {
            "Accept": ["*/*"],
            "Content-Length": ["861"],
            "Content-Type": ["multipart/form-data; boundary=XyZ"],
            "Cookie": ["session=abc%20123; theme=dark"],
            "User-Agent": ["curl/8.5.0"],
        },
        "cookies": {"session": "abc 123", "theme": "dark"},
        "rawQuery": "lang=en&tags[]=a&tags[]=b",
        "parsed": True,
        "attributes": None,
    }


def test_spec_example_proto(tmp_path: Path) -> None:
    """The §2.7 example in protobuf, read back with Google's decoder."""
    payload, temp_files = example("proto", tmp_path)
    assert payload.codec == CODEC_PROTO
    assert payload.body == b'{"meta":{"author":"Ann"},"title":"Holiday"}'
    msg = pb_request(payload.context)
    assert msg.remote_addr == "203.0.113.7"
    assert msg.protocol == "HTTP/1.1"
    assert msg.method == "POST"
    assert msg.uri == "http://example.com:8080/upload?lang=en&tags[]=a&tags[]=b"
    assert pb_map(msg.header) == {
        "User-Agent": [b"curl/8.5.0"],
        "Accept": [b"*/*"],
        "Cookie": [b"session=abc%20123; theme=dark"],
        "Content-Type": [b"multipart/form-data; boundary=XyZ"],
        "Content-Length": [b"861"],
    }
    assert pb_map(msg.cookies) == {"session": [b"abc 123"], "theme": [b"dark"]}
    assert msg.raw_query == "lang=en&tags[]=a&tags[]=b"
    assert msg.parsed is True
    assert len(msg.attributes) == 0
    assert msg.uploads.startswith(b'{"avatar":{"name":"me.png","mime":"image/png","size":1234,')
    check_example_uploads(orjson.loads(msg.uploads), tmp_path, temp_files)


# -- a plain GET ------------------------------------------------------------------------------


def test_get_json_exact_bytes() -> None:
    """A bodiless GET: compact JSON with sorted keys, empty maps as {}, uploads/attributes null."""
    payload, temp_files = encode_request(make_head(target="/hello"), b"", JSON)
    assert payload.context == (
        b'{"attributes":null,"cookies":{},"headers":{},"method":"GET","parsed":false,'
        b'"protocol":"HTTP/1.1","rawQuery":"","remoteAddr":"127.0.0.1","uploads":null,'
        b'"uri":"http://example.com/hello"}'
    )
    assert payload.body == b""
    assert temp_files == []


def test_get_proto_exact_bytes() -> None:
    """The same GET in protobuf: only the non-empty string fields, in field order."""
    payload, _ = encode_request(make_head(target="/hello"), b"", PROTO)
    assert payload.context == (
        b"\x0a\x09127.0.0.1\x12\x08HTTP/1.1\x1a\x03GET\x22\x18http://example.com/hello"
    )
    assert payload.codec == CODEC_PROTO


def test_body_is_passed_raw_and_json_not_parsed() -> None:
    """A JSON body is not parsed: it becomes the frame body verbatim, parsed=false."""
    head = make_head("POST", "/api", [("Content-Type", "application/json")])
    builder = RequestBuilder(head, JSON)
    assert builder.reads_body
    builder.feed(b'{"a":')
    builder.feed(b"1}")
    payload = builder.finish()
    assert payload.body == b'{"a":1}'
    assert context(payload.context)["parsed"] is False


# -- headers ------------------------------------------------------------------------------------


def test_headers_canonical_lists_without_host() -> None:
    """Names are canonicalised, repeats become list entries in order, Host is left out."""
    head = make_head(headers=[("x-api-key", "k"), ("ACCEPT", "a"), ("accept", "b"), ("x_foo", "1")])
    ctx = context(encode_request(head, b"", JSON)[0].context)
    assert ctx["headers"] == {"X-Api-Key": ["k"], "Accept": ["a", "b"], "X_foo": ["1"]}


def test_transfer_encoding_and_content_length_removed_when_chunked() -> None:
    """Transfer-Encoding is removed, and with it Content-Length on HTTP/1.1."""
    lines = [("Transfer-Encoding", "chunked"), ("Content-Length", "5"), ("Expect", "100-continue")]
    ctx = context(encode_request(make_head("POST", headers=lines), b"hello", JSON)[0].context)
    assert ctx["headers"] == {"Expect": ["100-continue"]}
    ctx = context(
        encode_request(make_head(headers=lines, protocol="HTTP/1.0"), b"", JSON)[0].context
    )
    assert ctx["headers"] == {"Content-Length": ["5"], "Expect": ["100-continue"]}


def test_http2_authority_pseudo_headers_and_cookies() -> None:
    """HTTP/2: :authority is the host, pseudo-headers are dropped, cookie fields joined."""
    head = make_head(
        target="/x",
        headers=[(":method", "GET"), ("cookie", "a=1"), ("cookie", "b=2")],
        protocol="HTTP/2.0",
        host=None,
        tls=True,
        authority="example.org:8443",
    )
    ctx = context(encode_request(head, b"", JSON)[0].context)
    assert ctx["uri"] == "https://example.org:8443/x"
    assert ctx["protocol"] == "HTTP/2.0"
    assert ctx["headers"] == {"Cookie": ["a=1; b=2"]}
    assert ctx["cookies"] == {"a": "1", "b": "2"}


def test_non_ascii_header_values() -> None:
    """Latin-1 decoded UTF-8 bytes reach JSON as the UTF-8 text and proto as the raw bytes."""
    head = make_head(headers=[("X-Name", "café".encode().decode("latin-1")), ("X-Bin", "\xff")])
    ctx = context(encode_request(head, b"", JSON)[0].context)
    assert ctx["headers"] == {"X-Name": ["café"], "X-Bin": ["\ufffd"]}
    msg = pb_request(encode_request(head, b"", PROTO)[0].context)
    assert pb_map(msg.header) == {"X-Name": ["café".encode()], "X-Bin": [b"\xff"]}


def test_invalid_utf8_string_field_is_a_context_error() -> None:
    """Proto refuses invalid UTF-8 in string fields (ContextError); JSON replaces it."""
    head = make_head(target="/a?q=\xff")
    with pytest.raises(ContextError):
        encode_request(head, b"", PROTO)
    assert context(encode_request(head, b"", JSON)[0].context)["rawQuery"] == "q=\ufffd"


def test_cookies_in_both_codecs() -> None:
    """Cookie values are unescaped; in proto each is a one-element HeaderValue (bytes)."""
    head = make_head(headers=[("Cookie", "a=x%FFy; b=1+2; c=%zz")])
    assert context(encode_request(head, b"", JSON)[0].context)["cookies"] == {
        "a": "x\ufffdy",
        "b": "1 2",
    }
    msg = pb_request(encode_request(head, b"", PROTO)[0].context)
    assert pb_map(msg.cookies) == {"a": [b"x\xffy"], "b": [b"1 2"]}


# -- URI and the head's validity -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "tls", "uri", "query"),
    [
        ("/", False, "http://example.com/", ""),
        ("/a/b?x=1&y", True, "https://example.com/a/b?x=1&y", "x=1&y"),
        ("/a?", False, "http://example.com/a?", ""),
        ("/a??b", False, "http://example.com/a??b", "?b"),
        ("/a b", False, "http://example.com/a%20b", ""),
        ("/a%2fb", False, "http://example.com/a%2fb", ""),
        ("/a#frag", False, "http://example.com/a%23frag", ""),
        ("*", False, "http://example.com*", ""),
        ("HTTP://other:81/p%20q?z", False, "http://other:81/p%20q?z", "z"),
        ("http://other", True, "http://other", ""),
    ],
)
def test_uri(target: str, tls: bool, uri: str, query: str) -> None:
    """The URI is absolute (scheme from TLS only), Go-escaped; the raw query is kept as sent."""
    ctx = context(encode_request(make_head(target=target, tls=tls), b"", JSON)[0].context)
    assert (ctx["uri"], ctx["rawQuery"]) == (uri, query)


def test_forwarded_proto_is_ignored() -> None:
    """X-Forwarded-Proto does not change the scheme."""
    head = make_head(headers=[("X-Forwarded-Proto", "https")])
    assert context(encode_request(head, b"", JSON)[0].context)["uri"] == "http://example.com/"


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (make_head(host=None), "missing required Host header"),
        (make_head(headers=[("host", "b")]), "too many Host headers"),
        (make_head(host="bad host"), "malformed Host header"),
        (make_head(target="/a%zz"), "invalid URL escape"),
        (make_head(target="/a\x01"), "invalid control character in URL"),
        (make_head(target="relative"), "invalid URI for request"),
        (make_head(target=""), "empty url"),
    ],
)
def test_bad_head_is_400_at_finish(head: RequestHead, message: str) -> None:
    """A malformed head is reported as a 400 by finish(); the body is only counted."""
    builder = RequestBuilder(head, JSON)
    builder.feed(b"ignored")
    with pytest.raises(RequestError) as info:
        builder.finish()
    assert info.value.status == 400
    assert message in info.value.message


def test_http10_without_host() -> None:
    """HTTP/1.0 needs no Host: the URI then has an empty host."""
    head = make_head(target="/x", host=None, protocol="HTTP/1.0")
    assert context(encode_request(head, b"", JSON)[0].context)["uri"] == "http:///x"


# -- bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_and_options_bodies_are_not_read(method: str) -> None:
    """HEAD/OPTIONS: reads_body is false, fed bytes are ignored, no form parsing."""
    head = make_head(method, headers=[("Content-Type", "application/x-www-form-urlencoded")])
    builder = RequestBuilder(head, CodecOptions(max_request_size=1))
    assert builder.reads_body is False
    builder.feed(b"a=1&b=2")
    payload = builder.finish()
    assert payload.body == b""
    assert context(payload.context)["parsed"] is False


def test_urlencoded_post_becomes_a_tree() -> None:
    """A url-encoded POST body becomes the JSON tree, parsed=true; the query is not merged."""
    head = make_head(
        "POST", "/?q=1", [("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")]
    )
    payload, _ = encode_request(head, b"title=a+b&tags[]=x&tags[]=y&meta[author]=Ann&title=c", JSON)
    assert payload.body == b'{"meta":{"author":"Ann"},"tags":["x","y"],"title":"c"}'
    assert context(payload.context)["parsed"] is True
    assert context(payload.context)["uploads"] is None


@pytest.mark.parametrize(("options", "body"), [(JSON, b"{}"), (PROTO, b"")])
def test_empty_parsed_form(options: CodecOptions, body: bytes) -> None:
    """An empty parsed form: proto sends an empty body, JSON sends {} (the SDK's JSON path needs it)."""
    head = make_head("POST", headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert encode_request(head, b"", options)[0].body == body


def test_urlencoded_on_get_is_an_empty_parsed_form() -> None:
    """Go parses url-encoded bodies only for POST/PUT/PATCH: a GET gets an empty form, parsed."""
    head = make_head("GET", headers=[("Content-Type", "application/x-www-form-urlencoded")])
    payload, _ = encode_request(head, b"a=1", PROTO)
    assert payload.body == b""
    assert pb_request(payload.context).parsed is True


def test_content_type_match_is_case_sensitive() -> None:
    """Detection is a case-sensitive substring match: an upper-case type is passed raw."""
    head = make_head("POST", headers=[("Content-Type", "Application/X-WWW-Form-Urlencoded")])
    payload, _ = encode_request(head, b"a=1", JSON)
    assert payload.body == b"a=1"


def test_raw_body_skips_form_and_multipart(tmp_path: Path) -> None:
    """raw_body: url-encoded and multipart bodies pass raw, parsed=false, no temp files."""
    options = CodecOptions(raw_body=True, uploads_dir=str(tmp_path))
    body = multipart(file_part("f", "a.txt", b"x"))
    head = make_head("POST", headers=[("Content-Type", "multipart/form-data; boundary=XyZ")])
    payload, temp_files = encode_request(head, body, options)
    assert payload.body == body
    assert context(payload.context)["parsed"] is False
    assert context(payload.context)["uploads"] is None
    assert temp_files == []
    assert list(tmp_path.iterdir()) == []
    head = make_head("POST", headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert encode_request(head, b"a=1", options)[0].body == b"a=1"


def test_form_conflict_is_400() -> None:
    """A non-empty value colliding with a nested one fails the request with 400."""
    head = make_head("POST", headers=[("Content-Type", "application/x-www-form-urlencoded")])
    with pytest.raises(RequestError) as info:
        encode_request(head, b"a=1&a[b]=2", JSON)
    assert info.value.status == 400


# -- size limit -----------------------------------------------------------------------------------


def test_413_while_feeding() -> None:
    """Feeding past max_request_size raises 413 at the chunk that crosses it."""
    builder = RequestBuilder(make_head("POST"), CodecOptions(max_request_size=10))
    builder.feed(b"x" * 6)
    builder.feed(b"x" * 4)  # exactly at the limit is fine
    with pytest.raises(RequestError) as info:
        builder.feed(b"x")
    assert info.value.status == 413
    assert info.value.message == "http: request body too large"


def test_413_deletes_temp_files(tmp_path: Path) -> None:
    """An oversized multipart body: the files already written are deleted at once."""
    options = CodecOptions(max_request_size=200, uploads_dir=str(tmp_path))
    head = make_head("POST", headers=[("Content-Type", "multipart/form-data; boundary=XyZ")])
    builder = RequestBuilder(head, options)
    body = multipart(file_part("f", "a.txt", b"x" * 150), file_part("g", "b.txt", b"y" * 150))
    builder.feed(body[:190])
    assert len(builder.temp_files) == 1
    with pytest.raises(RequestError) as info:
        builder.feed(body[190:])
    assert info.value.status == 413
    assert builder.temp_files == []
    assert list(tmp_path.iterdir()) == []


# -- options -------------------------------------------------------------------------------------


def test_options_from_config() -> None:
    """from_config copies the http settings; forbidden extensions leave the allow list."""
    http = HTTPConfig(
        codec="proto",
        raw_body=True,
        max_request_size=5,
        uploads=UploadsConfig(dir="/srv/up", forbid=(".php",), allow=(".php", ".png")),
    )
    options = CodecOptions.from_config(http)
    assert (options.codec, options.raw_body, options.max_request_size) == ("proto", True, 5)
    assert options.policy.dir == "/srv/up"
    assert options.policy.forbid == {".php"}
    assert options.policy.allow == {".png"}


def test_default_uploads_dir_is_os_temp() -> None:
    """An empty uploads_dir means the OS temp directory."""
    assert CodecOptions().policy.dir == tempfile.gettempdir()


def test_cleanup_is_idempotent_and_ignores_moved_files(tmp_path: Path) -> None:
    """cleanup() deletes temp files, skips ones PHP moved away, and can run twice."""
    head = make_head("POST", headers=[("Content-Type", "multipart/form-data; boundary=XyZ")])
    builder = RequestBuilder(head, CodecOptions(uploads_dir=str(tmp_path)))
    builder.feed(multipart(file_part("a", "a.txt", b"1"), file_part("b", "b.txt", b"2")))
    builder.finish()
    first, second = builder.temp_files
    Path(first).rename(tmp_path / "moved")
    builder.cleanup()
    builder.cleanup()
    assert not Path(second).exists()
    assert [p.name for p in tmp_path.iterdir()] == ["moved"]
