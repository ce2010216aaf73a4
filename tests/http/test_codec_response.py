"""Response decoding of the HTTP codec (rr.http.codec.decode_response, spec http.md §3.1)."""

from __future__ import annotations

import pytest

from rr.http import _proto
from rr.http.codec import ResponseError, ResponseHead, decode_response
from rr.payload import Payload
from tests.http.test_codec_proto import RESPONSE_VECTOR


def proto(status: int, headers: list[tuple[bytes, list[bytes]]]) -> Payload:
    return Payload(_proto.encode_response(status, headers), b"body", 0x80)


def test_proto_vector() -> None:
    """The §3.1 test vector decodes to 200 with one Content-Type header and no trailers."""
    head = decode_response(Payload(RESPONSE_VECTOR, b"", 0x80))
    assert head == ResponseHead(200, [(b"Content-Type", b"text/plain")], [])


@pytest.mark.parametrize("codec", [0x08, 0x00])
def test_json_codecs(codec: int) -> None:
    """Codec 0x08 and 0x00 (older SDKs) are JSON; repeated values stay separate headers."""
    context = b'{"status":201,"headers":{"Set-Cookie":["a=1","b=2"],"X-Id":["7"]}}'
    head = decode_response(Payload(context, b"", codec))
    assert head == ResponseHead(
        201, [(b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2"), (b"X-Id", b"7")], []
    )


@pytest.mark.parametrize("headers", [b"{}", b"[]", b"null"])
def test_json_empty_headers(headers: bytes) -> None:
    """JSON headers may be {} or [] (PHP's empty array) or null."""
    head = decode_response(Payload(b'{"status":204,"headers":' + headers + b"}", b"", 0x08))
    assert head == ResponseHead(204, [], [])


def test_json_lenient_values() -> None:
    """A bare string is one value; non-string elements are left out, as the SDK's proto path does."""
    context = b'{"status":200,"headers":{"A":"x","B":["y",5,null],"C":{"0":"z"}}}'
    head = decode_response(Payload(context, b"", 0x08))
    assert head is not None
    assert head.headers == [(b"A", b"x"), (b"B", b"y"), (b"C", b"z")]


def test_empty_context_is_none() -> None:
    """An empty context (a body-only chunk) decodes to None whatever the codec byte."""
    for codec in (0x80, 0x08, 0x00):
        assert decode_response(Payload(b"", b"chunk", codec)) is None


def test_status_not_range_checked() -> None:
    """Out-of-range statuses come back as they are: the caller answers the fixed 500.

    (Status 0 without headers is an empty protobuf message, hence an empty context.)
    """
    assert decode_response(Payload(b'{"status":0}', b"", 0x08)) == ResponseHead(0, [], [])
    for status in (99, 600, -5):
        head = decode_response(proto(status, []))
        assert head is not None
        assert head.status == status


@pytest.mark.parametrize(
    "context",
    [
        b"not json",
        b"[1]",
        b'{"status":"200"}',
        b'{"status":true}',
        b'{"status":200.0}',
        b'{"status":200,"headers":"x"}',
        b'{"status":200,"headers":[["x"]]}',
        b'{"status":200,"headers":{"A":7}}',
    ],
)
def test_bad_json_is_response_error(context: bytes) -> None:
    """A JSON context that is not {"status": int, "headers": {..}} raises ResponseError."""
    with pytest.raises(ResponseError):
        decode_response(Payload(context, b"", 0x08))


def test_bad_proto_is_response_error() -> None:
    """A truncated protobuf context raises ResponseError."""
    with pytest.raises(ResponseError):
        decode_response(Payload(b"\x12\x10\x0a", b"", 0x80))


def test_names_canonicalised_and_invalid_dropped() -> None:
    """Header names are canonicalised; empty or non-token names are dropped."""
    head = decode_response(
        proto(
            200,
            [(b"content-type", [b"a"]), (b"bad name", [b"x"]), (b"", [b"y"]), (b"x\xff", [b"z"])],
        )
    )
    assert head is not None
    assert head.headers == [(b"Content-Type", b"a")]


def test_crlf_in_values_become_spaces() -> None:
    """CR and LF inside values become spaces (no header injection), then the value is trimmed."""
    head = decode_response(proto(200, [(b"X-A", [b"v1\r\nSet-Cookie: evil=1", b" \tpadded\r\n"])]))
    assert head is not None
    assert head.headers == [(b"X-A", b"v1  Set-Cookie: evil=1"), (b"X-A", b"padded")]


def test_trailer_headers_move_to_trailers() -> None:
    """Headers named in Trailer move to the trailers; Trailer itself is removed."""
    head = decode_response(
        proto(
            200,
            [
                (b"trailer", [b"x-checksum, X-Missing", b"\tgrpc-status"]),
                (b"X-Checksum", [b"abc"]),
                (b"Grpc-Status", [b"0"]),
                (b"Content-Type", [b"text/plain"]),
            ],
        )
    )
    assert head == ResponseHead(
        200,
        [(b"Content-Type", b"text/plain")],
        [(b"X-Checksum", b"abc"), (b"Grpc-Status", b"0")],
    )


def test_trailer_naming_absent_headers_is_just_removed() -> None:
    """A Trailer header listing nothing present only disappears."""
    head = decode_response(
        Payload(b'{"status":200,"headers":{"Trailer":["X-Nope"],"A":["1"]}}', b"", 0x08)
    )
    assert head == ResponseHead(200, [(b"A", b"1")], [])
