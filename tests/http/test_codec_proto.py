"""The hand-written http.v1 protobuf codec (rr.http._proto), checked against Google's runtime.

The message classes are built at run time from a descriptor equivalent to RoadRunner's
``http.proto``, so the test proves wire compatibility without generated code. Other
``test_codec*`` modules import :func:`pb_request` / :func:`pb_response` from here.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # type: ignore[import-untyped]

from rr.http import _proto

_F = descriptor_pb2.FieldDescriptorProto


def _add_map(msg: Any, field_name: str, number: int, entry: str) -> None:
    nested = msg.nested_type.add(name=entry)
    nested.options.map_entry = True
    nested.field.add(name="key", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    nested.field.add(
        name="value",
        number=2,
        type=_F.TYPE_MESSAGE,
        label=_F.LABEL_OPTIONAL,
        type_name=".http.v1.HeaderValue",
    )
    msg.field.add(
        name=field_name,
        number=number,
        type=_F.TYPE_MESSAGE,
        label=_F.LABEL_REPEATED,
        type_name=f".http.v1.{msg.name}.{entry}",
    )


def _build_pool() -> descriptor_pool.DescriptorPool:
    fdp = descriptor_pb2.FileDescriptorProto(
        name="http/v1/http.proto", package="http.v1", syntax="proto3"
    )
    hv = fdp.message_type.add(name="HeaderValue")
    hv.field.add(name="value", number=1, type=_F.TYPE_BYTES, label=_F.LABEL_REPEATED)
    req = fdp.message_type.add(name="Request")
    for name, number in (("remote_addr", 1), ("protocol", 2), ("method", 3), ("uri", 4)):
        req.field.add(name=name, number=number, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    _add_map(req, "header", 5, "HeaderEntry")
    _add_map(req, "cookies", 6, "CookiesEntry")
    req.field.add(name="raw_query", number=7, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    req.field.add(name="parsed", number=8, type=_F.TYPE_BOOL, label=_F.LABEL_OPTIONAL)
    req.field.add(name="uploads", number=9, type=_F.TYPE_BYTES, label=_F.LABEL_OPTIONAL)
    _add_map(req, "attributes", 10, "AttributesEntry")
    rsp = fdp.message_type.add(name="Response")
    rsp.field.add(name="status", number=1, type=_F.TYPE_INT64, label=_F.LABEL_OPTIONAL)
    _add_map(rsp, "headers", 2, "HeadersEntry")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return pool


_POOL = _build_pool()
PbRequest = message_factory.GetMessageClass(_POOL.FindMessageTypeByName("http.v1.Request"))
PbResponse = message_factory.GetMessageClass(_POOL.FindMessageTypeByName("http.v1.Response"))


def pb_request(data: bytes) -> Any:
    """Decode ``http.v1.Request`` with Google's protobuf runtime."""
    msg = PbRequest()
    msg.ParseFromString(data)
    return msg


def pb_response(data: bytes) -> Any:
    """Decode ``http.v1.Response`` with Google's protobuf runtime."""
    msg = PbResponse()
    msg.ParseFromString(data)
    return msg


def pb_map(field: Any) -> dict[str, list[bytes]]:
    """A decoded map<string, HeaderValue> as a plain dict."""
    return {key: list(value.value) for key, value in field.items()}


RESPONSE_VECTOR = bytes.fromhex(
    "08c801121c0a0c436f6e74656e742d54797065120c0a0a746578742f706c61696e"
)


def test_response_vector_encodes_byte_exact() -> None:
    """status=200, Content-Type: text/plain encodes to the 33-byte vector of spec §3.1."""
    assert _proto.encode_response(200, [(b"Content-Type", [b"text/plain"])]) == RESPONSE_VECTOR


def test_response_vector_decodes() -> None:
    """The §3.1 vector decodes to status 200 and one Content-Type value."""
    assert _proto.decode_response(RESPONSE_VECTOR) == (200, {b"Content-Type": [b"text/plain"]})


def test_request_round_trips_through_google_runtime() -> None:
    """Every Request field we write is read back by Google's decoder with the same value."""
    data = _proto.encode_request(
        remote_addr=b"203.0.113.7",
        protocol=b"HTTP/1.1",
        method=b"POST",
        uri=b"http://example.com/x?y=1",
        header=[(b"Accept", [b"a", b""]), (b"X-Long", [b"v" * 300])],
        cookies=[("theme", ["dark"])],
        raw_query=b"y=1",
        parsed=True,
        uploads=b'{"f":{}}',
        attributes=[(b"ipAddress", [b"10.0.0.1"])],
    )
    msg = pb_request(data)
    assert msg.remote_addr == "203.0.113.7"
    assert msg.protocol == "HTTP/1.1"
    assert msg.method == "POST"
    assert msg.uri == "http://example.com/x?y=1"
    assert pb_map(msg.header) == {"Accept": [b"a", b""], "X-Long": [b"v" * 300]}
    assert pb_map(msg.cookies) == {"theme": [b"dark"]}
    assert msg.raw_query == "y=1"
    assert msg.parsed is True
    assert msg.uploads == b'{"f":{}}'
    assert pb_map(msg.attributes) == {"ipAddress": [b"10.0.0.1"]}


def test_request_matches_google_deterministic_serialisation() -> None:
    """Our bytes equal Google's deterministic (sorted-map) serialisation of the same message."""
    msg = PbRequest(
        remote_addr="::1", protocol="HTTP/2.0", method="GET", uri="https://h/", parsed=False
    )
    for key, values in (("B", [b"2"]), ("A", [b"1", b"x" * 200]), ("a", [b""])):
        msg.header[key].value.extend(values)
    ours = _proto.encode_request(
        remote_addr=b"::1",
        protocol=b"HTTP/2.0",
        method=b"GET",
        uri=b"https://h/",
        header=[(b"A", [b"1", b"x" * 200]), (b"B", [b"2"]), (b"a", [b""])],
    )
    assert ours == msg.SerializeToString(deterministic=True)


def test_empty_map_key_and_value_are_written() -> None:
    """A map entry always carries its key and value, even empty ones (as Go writes them)."""
    data = _proto.encode_request(header=[(b"", [b""])])
    assert data == b"\x2a\x06\x0a\x00\x12\x02\x0a\x00"
    assert pb_map(pb_request(data).header) == {"": [b""]}


def test_empty_request_is_empty() -> None:
    """Proto3 omits empty strings, false and empty maps: a default Request is zero bytes."""
    assert _proto.encode_request() == b""


def test_decode_request_reads_google_output() -> None:
    """decode_request (for fakes) reads what Google's runtime writes."""
    msg = PbRequest(method="GET", uri="http://h/", parsed=True, uploads=b"{}")
    msg.header["X"].value.append(b"1")
    msg.cookies["c"].value.append(b"v")
    decoded = _proto.decode_request(msg.SerializeToString())
    assert decoded.strings == {3: b"GET", 4: b"http://h/", 9: b"{}"}
    assert decoded.header == {b"X": [b"1"]}
    assert decoded.cookies == {b"c": [b"v"]}
    assert decoded.parsed is True


def test_response_from_google_runtime() -> None:
    """A Response written by Google's runtime (as the PHP SDK would) decodes, repeated values kept."""
    msg = PbResponse(status=404)
    msg.headers["Set-Cookie"].value.extend([b"a=1", b"b=2"])
    msg.headers["X-Empty"].value.extend([])
    status, headers = _proto.decode_response(msg.SerializeToString())
    assert status == 404
    assert headers == {b"Set-Cookie": [b"a=1", b"b=2"], b"X-Empty": []}


def test_negative_and_large_status() -> None:
    """int64 status: negative values come back negative, large ones unchanged."""
    for status in (-1, 99, 600, 2**40):
        assert _proto.decode_response(_proto.encode_response(status, []))[0] == status
        assert pb_response(_proto.encode_response(status, [])).status == status


def test_unknown_fields_are_skipped() -> None:
    """Unknown fields of every wire type (varint, fixed64, bytes, fixed32) are ignored."""
    extra = b"\x18\x05" + b"\x21" + b"\x00" * 8 + b"\x2a\x02hi" + b"\x35" + b"\x00" * 4
    assert _proto.decode_response(extra + RESPONSE_VECTOR) == (
        200,
        {b"Content-Type": [b"text/plain"]},
    )


@pytest.mark.parametrize(
    "data",
    [
        b"\x08",  # truncated varint
        b"\x12\x05ab",  # truncated length
        b"\x08" + b"\xff" * 10 + b"\x01",  # varint too long
        b"\x0b",  # group wire type
        b"\x00\x01",  # field number 0
        b"\x12\x03\x0a\x05a",  # map entry with a truncated key
    ],
)
def test_malformed_response_raises(data: bytes) -> None:
    """Malformed bytes raise ProtoError, never anything else."""
    with pytest.raises(_proto.ProtoError):
        _proto.decode_response(data)


def test_varint_boundaries() -> None:
    """Varints match Google's encoding at the 1/2/10-byte boundaries."""
    assert _proto.varint(0) == b"\x00"
    assert _proto.varint(127) == b"\x7f"
    assert _proto.varint(128) == b"\x80\x01"
    assert _proto.varint(300) == b"\xac\x02"
    assert _proto.varint(-1) == b"\xff" * 9 + b"\x01"
