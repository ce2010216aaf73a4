# -*- test-case-name: tests.http.test_codec_proto -*-
"""Hand-written protobuf codec for ``http.v1.Request``, ``Response`` and ``HeaderValue``.

Three flat messages do not justify generated code or the protobuf runtime: a few varints
and length prefixes are all the wire format needs (spec http.md §2.2), and a hand-rolled
encoder is faster than either. Field numbers, not names, are the contract.

Wire layout (proto3)::

    Request:  1 remote_addr  2 protocol  3 method  4 uri      (string)
              5 header  6 cookies  10 attributes               (map<string, HeaderValue>)
              7 raw_query (string)  8 parsed (bool)  9 uploads (bytes, JSON text)
    Response: 1 status (int64)  2 headers (map<string, HeaderValue>)
    HeaderValue: 1 value (repeated bytes)

Proto3 leaves out empty strings, ``false`` and empty maps. A map is a repeated entry
message (key = 1, value = 2) whose key and value are always written. Go's marshaller
emits map entries in random order unless asked to be deterministic, in which case keys
are sorted; we always sort, so equal requests encode to equal bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

#: A map<string, HeaderValue> as (key, values) pairs, in the order to write them.
HeaderMap = Sequence[tuple[bytes, Sequence[bytes]]]
#: The same with ASCII strings (encoded on the fly: saves a copy of every header).
TextMap = Sequence[tuple[str, Sequence[str]]]

_VARINT1 = tuple(bytes((n,)) for n in range(128))

_WIRE_VARINT = 0
_WIRE_FIXED64 = 1
_WIRE_BYTES = 2
_WIRE_FIXED32 = 5

_MAX_VARINT_BYTES = 10
_UINT64 = 1 << 64
_INT64_SIGN = 1 << 63


class ProtoError(ValueError):
    """Bytes are not a well-formed protobuf message."""


def varint(value: int) -> bytes:
    """Encode a non-negative integer (or an int64 as two's complement) as a varint."""
    if 0 <= value < 128:  # noqa: PLR2004
        return _VARINT1[value]
    if value < 0:
        value += _UINT64
    out = bytearray()
    while value > 0x7F:  # noqa: PLR2004
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_header_value(values: Iterable[bytes]) -> bytes:
    """Encode ``HeaderValue``: every element, empty ones included, as field 1."""
    return b"".join([b"\x0a" + varint(len(value)) + value for value in values])


def _append_entry(out: list[bytes], tag: bytes, key: bytes, values: Sequence[bytes]) -> None:
    hv = encode_header_value(values)
    entry = b"".join((b"\x0a", varint(len(key)), key, b"\x12", varint(len(hv)), hv))
    out += (tag, varint(len(entry)), entry)


def _append_map(out: list[bytes], tag: bytes, entries: TextMap | HeaderMap) -> None:
    small = _VARINT1
    for name, values in entries:
        key = name.encode() if isinstance(name, str) else name
        if len(values) == 1:
            value = values[0]
            if isinstance(value, str):
                value = value.encode()
            # The common case: every length fits in one varint byte, no joins needed.
            key_size, value_size = len(key), len(value)
            entry_size = key_size + value_size + 6
            if entry_size < 128:  # noqa: PLR2004
                out += (
                    tag,
                    small[entry_size],
                    b"\x0a",
                    small[key_size],
                    key,
                    b"\x12",
                    small[value_size + 2],
                    b"\x0a",
                    small[value_size],
                    value,
                )
                continue
            _append_entry(out, tag, key, (value,))
        else:
            _append_entry(out, tag, key, [v.encode() if isinstance(v, str) else v for v in values])


def _append(out: list[bytes], tag: bytes, data: bytes) -> None:
    if data:
        size = len(data)
        out += (tag, _VARINT1[size] if size < 128 else varint(size), data)  # noqa: PLR2004


def encode_request(
    *,
    remote_addr: bytes = b"",
    protocol: bytes = b"",
    method: bytes = b"",
    uri: bytes = b"",
    header: TextMap | HeaderMap = (),
    cookies: TextMap | HeaderMap = (),
    raw_query: bytes = b"",
    parsed: bool = False,
    uploads: bytes = b"",
    attributes: HeaderMap = (),
) -> bytes:
    """Serialise ``http.v1.Request`` (fields in number order, proto3 defaults omitted).

    Strings must already be UTF-8 bytes; map entries are written in the order given
    (pass them sorted by key) and may be ASCII ``str`` instead of bytes.
    """
    out: list[bytes] = []
    strings = ((b"\x0a", remote_addr), (b"\x12", protocol), (b"\x1a", method), (b"\x22", uri))
    for tag, data in strings:
        if data:
            size = len(data)
            out += (tag, _VARINT1[size] if size < 128 else varint(size), data)  # noqa: PLR2004
    if header:
        _append_map(out, b"\x2a", header)
    if cookies:
        _append_map(out, b"\x32", cookies)
    _append(out, b"\x3a", raw_query)
    if parsed:
        out.append(b"\x40\x01")
    _append(out, b"\x4a", uploads)
    if attributes:
        _append_map(out, b"\x52", attributes)
    return b"".join(out)


def encode_response(status: int, headers: HeaderMap) -> bytes:
    """Serialise ``http.v1.Response`` (as a PHP worker would)."""
    out = [b"\x08" + varint(status)] if status else []
    _append_map(out, b"\x12", headers)
    return b"".join(out)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    end = len(buf)
    for i in range(_MAX_VARINT_BYTES):
        if pos >= end:
            raise ProtoError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:  # noqa: PLR2004
            if i == _MAX_VARINT_BYTES - 1 and byte > 1:
                raise ProtoError("varint overflows 64 bits")
            return result, pos
        shift += 7
    raise ProtoError("varint longer than 10 bytes")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield ``(field number, wire type, value)``; value is an int or the raw bytes.

    :raises ProtoError: truncated data, a group wire type or field number 0.
    """
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtoError("field number 0")
        value: int | bytes
        if wire == _WIRE_VARINT:
            value, pos = _read_varint(buf, pos)
        elif wire == _WIRE_BYTES:
            length, pos = _read_varint(buf, pos)
            if length > end - pos:
                raise ProtoError("truncated length-delimited field")
            value = buf[pos : pos + length]
            pos += length
        elif wire in (_WIRE_FIXED64, _WIRE_FIXED32):
            size = 8 if wire == _WIRE_FIXED64 else 4
            if size > end - pos:
                raise ProtoError("truncated fixed-size field")
            value = int.from_bytes(buf[pos : pos + size], "little")
            pos += size
        else:
            raise ProtoError(f"unsupported wire type {wire}")
        yield number, wire, value


def decode_header_value(buf: bytes) -> list[bytes]:
    """Decode ``HeaderValue`` into its elements (unknown fields skipped)."""
    return [
        value
        for number, wire, value in iter_fields(buf)
        if number == 1 and wire == _WIRE_BYTES and isinstance(value, bytes)
    ]


def _decode_map_entry(buf: bytes) -> tuple[bytes, list[bytes]]:
    key = b""
    values: list[bytes] = []
    for number, wire, value in iter_fields(buf):
        if wire != _WIRE_BYTES or not isinstance(value, bytes):
            continue
        if number == 1:
            key = value
        elif number == 2:  # noqa: PLR2004
            values = decode_header_value(value)
    return key, values


def _put(target: dict[bytes, list[bytes]], entry: bytes) -> None:
    key, values = _decode_map_entry(entry)
    target[key] = values  # a repeated key replaces the earlier entry, as in protobuf


def decode_response(buf: bytes) -> tuple[int, dict[bytes, list[bytes]]]:
    """Decode ``http.v1.Response`` into ``(status, headers)``; ``status`` is int64.

    :raises ProtoError: malformed message.
    """
    status = 0
    headers: dict[bytes, list[bytes]] = {}
    for number, wire, value in iter_fields(buf):
        if number == 1 and wire == _WIRE_VARINT and isinstance(value, int):
            status = value - _UINT64 if value >= _INT64_SIGN else value
        elif number == 2 and wire == _WIRE_BYTES and isinstance(value, bytes):  # noqa: PLR2004
            _put(headers, value)
    return status, headers


@dataclass(slots=True)
class DecodedRequest:
    """``http.v1.Request`` as decoded by :func:`decode_request` (strings left as bytes)."""

    strings: dict[int, bytes] = field(default_factory=dict)
    header: dict[bytes, list[bytes]] = field(default_factory=dict)
    cookies: dict[bytes, list[bytes]] = field(default_factory=dict)
    attributes: dict[bytes, list[bytes]] = field(default_factory=dict)
    parsed: bool = False


_REQUEST_MAPS = {5: "header", 6: "cookies", 10: "attributes"}


def decode_request(buf: bytes) -> DecodedRequest:
    """Decode ``http.v1.Request`` (for fakes standing in for PHP, and for tests).

    String and bytes fields (1, 2, 3, 4, 7, 9) land in ``strings`` by field number.

    :raises ProtoError: malformed message.
    """
    out = DecodedRequest()
    for number, wire, value in iter_fields(buf):
        if isinstance(value, int):
            if number == 8 and wire == _WIRE_VARINT:  # noqa: PLR2004
                out.parsed = value != 0
        elif number in _REQUEST_MAPS:
            _put(getattr(out, _REQUEST_MAPS[number]), value)
        else:
            out.strings[number] = value
    return out
