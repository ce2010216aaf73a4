# -*- test-case-name: tests.goridge.test_frame -*-
"""Goridge frames, sans-IO: bytes in, frames out, and back.

A frame is a 12-byte header (version/HL, flags, payload length, CRC-32 of bytes 0-5,
the stream byte, a reserved byte), 0-10 little-endian option words and the payload.
See ``shared/spec/goridge.md``. Nothing here imports Twisted.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntFlag

from rr.errors import FrameError

HEADER_SIZE = 12
VERSION = 1
MAX_OPTIONS = 10
#: Default cap on a payload; a frame claiming more is refused before it is buffered.
DEFAULT_MAX_PAYLOAD = 1 << 30

_MIN_HL = 3  # header words without options
_HEAD6 = struct.Struct("<BBI")
_TAIL6 = struct.Struct("<IBB")
_U32 = struct.Struct("<I")
_OPTS = tuple(struct.Struct("<" + "I" * n) for n in range(MAX_OPTIONS + 1))


class Flags(IntFlag):
    """Byte 1 of the header."""

    NONE = 0
    CONTROL = 0x01
    CODEC_RAW = 0x04
    CODEC_JSON = 0x08
    CODEC_MSGPACK = 0x10
    CODEC_GOB = 0x20
    ERROR = 0x40
    CODEC_PROTO = 0x80


class Stream(IntFlag):
    """Byte 10 of the header: not covered by the CRC."""

    NONE = 0
    STREAM = 0x01
    STOP = 0x02
    PING = 0x04
    PONG = 0x08


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame."""

    flags: int
    payload: bytes
    options: tuple[int, ...] = ()
    stream: int = 0
    version: int = VERSION


def encode(
    payload: bytes,
    options: tuple[int, ...] | list[int] = (),
    flags: int = 0,
    stream: int = 0,
) -> bytes:
    """Return the whole frame as one bytes object, ready for a single write."""
    count = len(options)
    if count > MAX_OPTIONS:
        raise FrameError(f"a frame holds at most {MAX_OPTIONS} options, got {count}")
    head6 = _HEAD6.pack((VERSION << 4) | (3 + count), flags, len(payload))
    return b"".join(
        (head6, _TAIL6.pack(zlib.crc32(head6), stream, 0), _OPTS[count].pack(*options), payload)
    )


def encode_data(context: bytes, body: bytes, flags: int = 0, stream: int = 0) -> bytes:
    """Encode a worker data frame: one option (the context length), then context and body."""
    payload_len = len(context) + len(body)
    head6 = _HEAD6.pack(0x14, flags, payload_len)
    return b"".join(
        (head6, _TAIL6.pack(zlib.crc32(head6), stream, 0), _U32.pack(len(context)), context, body)
    )


#: Header-only frames the server sends while a worker streams.
STOP_FRAME = encode(b"", stream=Stream.STOP)
PONG_FRAME = encode(b"", stream=Stream.PONG)


class FrameDecoder:
    """Incremental decoder: feed bytes, get whole frames.

    The CRC is checked before any option word is read, so garbage claiming a large
    header cannot make the decoder wait for bytes that never come.
    """

    __slots__ = ("_buf", "_max_payload")

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        self._buf = bytearray()
        self._max_payload = max_payload

    @property
    def buffered(self) -> bytes:
        """The bytes received but not yet part of a whole frame."""
        return bytes(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        """Add ``data`` and return every frame now complete.

        :raises FrameError: on a bad header; the decoder is then unusable.
        """
        buf = self._buf
        buf += data
        frames: list[Frame] = []
        while len(buf) >= HEADER_SIZE:
            b0, flags, length = _HEAD6.unpack_from(buf, 0)
            crc, stream, _ = _TAIL6.unpack_from(buf, 6)
            if zlib.crc32(memoryview(buf)[:6]) != crc:
                raise FrameError("CRC mismatch in frame header", bytes(buf))
            hl = b0 & 0x0F
            if not _MIN_HL <= hl <= _MIN_HL + MAX_OPTIONS:
                raise FrameError(f"header length {hl} out of range", bytes(buf))
            if length > self._max_payload:
                raise FrameError(
                    f"frame payload of {length} bytes exceeds the limit of {self._max_payload}",
                    bytes(buf[:HEADER_SIZE]),
                )
            start = hl * 4
            end = start + length
            if len(buf) < end:
                break
            options = _OPTS[hl - 3].unpack_from(buf, HEADER_SIZE)
            frames.append(Frame(flags, bytes(buf[start:end]), options, stream, b0 >> 4))
            del buf[:end]
        return frames
