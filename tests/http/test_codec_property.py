"""Property tests: whatever a client or a worker sends, the codec fails only in documented ways."""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from rr.http.codec import (
    CODEC_JSON,
    CODEC_PROTO,
    CodecOptions,
    ContextError,
    RequestBuilder,
    RequestError,
    RequestHead,
    ResponseError,
    ResponseHead,
    decode_response,
)
from rr.payload import Payload
from tests.http.test_codec import field_part, file_part, multipart
from tests.http.test_codec_proto import pb_request

latin1 = st.text(st.characters(max_codepoint=0xFF))
any_text = st.one_of(latin1, st.text())
header_names = st.one_of(
    st.sampled_from(
        ["Host", "host", "Cookie", "Content-Type", "Transfer-Encoding", "Content-Length", ":path"]
    ),
    any_text,
)
content_types = st.one_of(
    any_text,
    st.sampled_from(
        [
            "multipart/form-data; boundary=XyZ",
            "multipart/form-data; boundary=XyZ",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=XyZ",
            "multipart/form-data",
            "multipart/form-data; boundary=" + "b" * 300,
        ]
    ),
)
form_names = st.one_of(latin1, st.text("ab[] .", min_size=1))
form_bodies = st.lists(st.tuples(form_names, latin1)).map(
    lambda pairs: multipart(
        *[
            file_part(name, value + ".txt", value.encode("latin-1"))
            if i % 2
            else field_part(name, value)
            for i, (name, value) in enumerate(pairs)
        ]
    )
)
bodies = st.one_of(st.binary(), form_bodies, form_bodies, latin1.map(lambda s: s.encode("latin-1")))


@st.composite
def heads(draw: st.DrawFn) -> RequestHead:
    """Request heads, about half of them plausible (valid Host and path) to reach the body paths."""
    plausible = draw(st.booleans())
    headers = draw(st.lists(st.tuples(header_names, any_text), max_size=8))
    if plausible:
        headers.append(("Content-Type", "multipart/form-data; boundary=XyZ"))
        headers = [(k, v) for k, v in headers if k.lower() != "host"] + [("Host", "example.com")]
        target = "/" + draw(st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF)))
        method = draw(st.sampled_from(["GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH"]))
    else:
        headers.append(("Content-Type", draw(content_types)))
        target = draw(st.one_of(st.just("/"), any_text, any_text.map(lambda s: "/" + s)))
        method = draw(st.one_of(st.sampled_from(["GET", "POST", "CONNECT"]), any_text))
    return RequestHead(
        method=method,
        target=target,
        protocol=draw(
            st.sampled_from(["HTTP/1.0", "HTTP/1.1", "HTTP/2.0"]) if plausible else any_text
        ),
        headers=draw(st.permutations(headers)),
        remote_addr="127.0.0.1" if plausible else draw(any_text),
        tls=draw(st.booleans()),
        authority=draw(st.one_of(st.just(""), any_text)) if not plausible else "",
    )


@settings(max_examples=400, deadline=None)
@given(
    head=heads(),
    body=bodies,
    codec=st.sampled_from(["json", "proto"]),
    raw_body=st.booleans(),
    chunk=st.integers(min_value=1, max_value=64),
)
def test_encode_fails_only_with_request_or_context_errors(
    head: RequestHead, body: bytes, codec: str, raw_body: bool, chunk: int
) -> None:
    """Any head and body: a well-formed payload, or RequestError/ContextError with no file left behind."""
    with tempfile.TemporaryDirectory(prefix="rr-codec-property-") as uploads:
        options = CodecOptions(
            codec=codec,  # type: ignore[arg-type]
            raw_body=raw_body,
            max_request_size=4096,
            uploads_dir=uploads,
            uploads_forbid=(".php",),
        )
        _encode_and_check(head, body, options, chunk)
        assert list(Path(uploads).iterdir()) == []


def _encode_and_check(head: RequestHead, body: bytes, options: CodecOptions, chunk: int) -> None:
    builder = RequestBuilder(head, options)
    error: Exception | None = None
    try:
        for start in range(0, len(body), chunk):
            builder.feed(body[start : start + chunk])
        payload = builder.finish()
    except (RequestError, ContextError) as exc:
        error = exc
    if error is not None:
        assert builder.temp_files == []
        assert not isinstance(error, RequestError) or error.status in (400, 413)
    else:
        if options.codec == "json":
            assert payload.codec == CODEC_JSON
            assert isinstance(orjson.loads(payload.context), dict)
        else:
            assert payload.codec == CODEC_PROTO
            pb_request(payload.context)  # Google's runtime accepts it (UTF-8 checked too)
        builder.cleanup()


@settings(max_examples=400, deadline=None)
@given(
    context=st.one_of(
        st.binary(),
        st.dictionaries(
            st.text(), st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(), st.lists(st.text()))
        ).map(orjson.dumps),
        st.builds(
            lambda status, headers: orjson.dumps({"status": status, "headers": headers}),
            st.integers(-(2**63), 2**63 - 1),
            st.dictionaries(
                st.text(), st.one_of(st.text(), st.lists(st.one_of(st.text(), st.integers(0, 9))))
            ),
        ),
    ),
    codec=st.sampled_from([0x80, 0x08, 0x00]),
)
def test_decode_fails_only_with_response_error(context: bytes, codec: int) -> None:
    """Any worker context: a ResponseHead (clean names and values), None, or ResponseError."""
    try:
        head = decode_response(Payload(context, b"", codec))
    except ResponseError:
        return
    if head is None:
        assert context == b""
        return
    assert isinstance(head, ResponseHead)
    for name, value in head.headers + head.trailers:
        assert name
        assert b"\r" not in value
        assert b"\n" not in value
        assert name != b"Trailer"
