"""Goridge frame encoding and decoding against the spec's hex vectors (goridge.md §9)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rr.errors import FrameError
from rr.goridge.frame import (
    PONG_FRAME,
    STOP_FRAME,
    Flags,
    Frame,
    FrameDecoder,
    Stream,
    encode,
    encode_data,
)

VECTORS = {
    "data": (
        "14 00 04 00 00 00 79 76 e7 a6 00 00 02 00 00 00 7b 7d 68 69",
        encode_data(b"{}", b"hi"),
    ),
    "stream": (
        "14 00 04 00 00 00 79 76 e7 a6 01 00 02 00 00 00 7b 7d 68 69",
        encode_data(b"{}", b"hi", stream=Stream.STREAM),
    ),
    "raw": (
        "14 04 04 00 00 00 b9 d0 67 53 00 00 02 00 00 00 7b 7d 68 69",
        encode_data(b"{}", b"hi", Flags.CODEC_RAW),
    ),
    "proto": (
        "14 80 04 00 00 00 eb c6 01 17 00 00 02 00 00 00 7b 7d 68 69",
        encode_data(b"{}", b"hi", Flags.CODEC_PROTO),
    ),
    "rpc": (
        "15 08 11 00 00 00 b0 49 0c 3a 00 00 01 00 00 00 0d 00 00 00 "
        + b"resetter.Listtrue".hex(" "),
        encode(b"resetter.Listtrue", (1, 13), Flags.CODEC_JSON),
    ),
    "pid": (
        "13 09 0c 00 00 00 5f 0c 46 73 00 00 " + b'{"pid":4242}'.hex(" "),
        encode(b'{"pid":4242}', flags=Flags.CONTROL | Flags.CODEC_JSON),
    ),
    "stop-control": (
        "13 09 0d 00 00 00 3a 6b fa cb 00 00 " + b'{"stop":true}'.hex(" "),
        encode(b'{"stop":true}', flags=Flags.CONTROL | Flags.CODEC_JSON),
    ),
    "error": (
        "13 40 04 00 00 00 88 1e 11 e3 00 00 62 6f 6f 6d",
        encode(b"boom", flags=Flags.ERROR),
    ),
    "stop-me": (
        "14 00 0d 00 00 00 f3 39 ef db 00 00 0d 00 00 00 " + b'{"stop":true}'.hex(" "),
        encode_data(b'{"stop":true}', b""),
    ),
    "STOP": ("13 00 00 00 00 00 96 d1 80 34 02 00", STOP_FRAME),
    "PONG": ("13 00 00 00 00 00 96 d1 80 34 08 00", PONG_FRAME),
}


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_encode_matches_spec_vectors(name: str) -> None:
    """Every frame we write is byte-identical to the spec's vectors."""
    expected, actual = VECTORS[name]
    assert actual.hex(" ") == expected


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_decode_spec_vectors_byte_by_byte(name: str) -> None:
    """The decoder reassembles frames fed one byte at a time."""
    data = bytes.fromhex(VECTORS[name][0])
    decoder = FrameDecoder()
    frames: list[Frame] = []
    for i in range(len(data)):
        frames += decoder.feed(data[i : i + 1])
    assert len(frames) == 1
    assert encode(frames[0].payload, frames[0].options, frames[0].flags, frames[0].stream) == data


def test_bad_crc_is_detected_before_options() -> None:
    """Garbage with a large HL nibble fails at once on the CRC, without waiting for more bytes."""
    with pytest.raises(FrameError, match="CRC"):
        FrameDecoder().feed(b"\x1fHello world!")


def test_header_length_out_of_range() -> None:
    """HL below 3 or above 13 is a protocol error."""
    import struct
    import zlib

    for hl in (2, 14):
        head6 = struct.pack("<BBI", 0x10 | hl, 0, 0)
        frame = head6 + struct.pack("<IBB", zlib.crc32(head6), 0, 0)
        with pytest.raises(FrameError, match="header length"):
            FrameDecoder().feed(frame)


def test_payload_limit() -> None:
    """A frame claiming more than the configured maximum is refused from its header alone."""
    frame = encode(b"x" * 100)
    with pytest.raises(FrameError, match="exceeds"):
        FrameDecoder(max_payload=99).feed(frame[:12])


def test_too_many_options_refused() -> None:
    """The writer refuses more than 10 options, as Go does."""
    with pytest.raises(FrameError):
        encode(b"", tuple(range(11)))


@settings(max_examples=300)
@given(
    payload=st.binary(max_size=300),
    options=st.lists(st.integers(0, 2**32 - 1), max_size=10),
    flags=st.integers(0, 255),
    stream=st.integers(0, 255),
    cut=st.integers(0, 400),
)
def test_roundtrip_any_split(
    payload: bytes, options: list[int], flags: int, stream: int, cut: int
) -> None:
    """Any frame survives encode/decode whatever the read boundaries."""
    data = encode(payload, options, flags, stream) * 2
    cut = min(cut, len(data))
    decoder = FrameDecoder()
    frames = decoder.feed(data[:cut]) + decoder.feed(data[cut:])
    assert frames == [Frame(flags, payload, tuple(options), stream)] * 2


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_garbage_never_escapes_typed_error(data: bytes) -> None:
    """Arbitrary bytes give frames or FrameError, never another exception."""
    try:
        FrameDecoder(max_payload=1 << 20).feed(data)
    except FrameError:
        pass
