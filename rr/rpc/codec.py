# -*- test-case-name: tests.rpc.test_codec -*-
"""The goridge RPC codec, sans-IO: a request frame in, a call; a result out, a reply frame.

RoadRunner's PHP SDK and ``rr`` CLI put the sequence number and the method-name length in
the two frame options, the method name at the start of the payload, and choose the codec
with one flag bit (goridge.md §7). An error reply is the codec bit OR ``ERROR`` with the
plain error text after the method name; the PHP SDK turns it into ``ServiceException``.
Frames that break those rules cannot be answered (the sequence or method is unknown), so
they raise :class:`~rr.errors.FrameError` and the caller closes the connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgpack  # type: ignore[import-untyped]

from rr.errors import FrameError, RPCError
from rr.goridge.frame import Flags, Frame, encode

__all__ = [
    "Call",
    "decode_args",
    "encode_error",
    "encode_reply",
    "encode_request",
    "go_json",
    "parse_request",
    "pick_codec",
]

#: Checked in this order, the first bit set wins (goridge.md §7.3); no bit means gob.
_CODEC_ORDER = (Flags.CODEC_PROTO, Flags.CODEC_JSON, Flags.CODEC_RAW, Flags.CODEC_MSGPACK)
_OPTION_COUNT = 2

#: The bytes Go's encoding/json escapes inside strings (HTML-safe output).
_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


@dataclass(frozen=True, slots=True)
class Call:
    """One decoded request frame; ``body`` is still in the wire codec."""

    seq: int
    method: str
    codec: int
    body: bytes


def pick_codec(flags: int) -> int:
    """Return the single codec bit the server answers with (gob when no known bit is set)."""
    for bit in _CODEC_ORDER:
        if flags & bit:
            return int(bit)
    return int(Flags.CODEC_GOB)


def parse_request(frame: Frame) -> Call:
    """Split a request frame into sequence, method, codec and argument bytes.

    :raises FrameError: the frame cannot be answered (the connection must be closed).
    """
    if len(frame.options) != _OPTION_COUNT:
        raise FrameError(
            f"RPC frame needs 2 options (seq, method length), got {len(frame.options)}"
        )
    seq, name_len = frame.options
    if name_len > len(frame.payload):
        raise FrameError(
            f"RPC method length {name_len} exceeds the payload of {len(frame.payload)} bytes"
        )
    try:
        method = frame.payload[:name_len].decode("ascii")
    except UnicodeDecodeError:
        raise FrameError("RPC method name is not ASCII") from None
    return Call(seq, method, pick_codec(frame.flags), frame.payload[name_len:])


def go_json(value: object) -> bytes:
    """Encode ``value`` as Go's ``json.Marshal`` does: compact, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.translate(_GO_ESCAPES).encode()


def decode_args(codec: int, body: bytes) -> Any:
    """Decode the argument of a call; proto and raw stay bytes for the handler to parse.

    An empty body is the zero value: ``None`` for JSON and msgpack, ``b""`` otherwise.

    :raises RPCError: undecodable JSON/msgpack, or a codec the server does not speak (gob).
    """
    if codec in (Flags.CODEC_PROTO, Flags.CODEC_RAW):
        return body
    if codec == Flags.CODEC_GOB:
        raise RPCError("gob codec is not supported by txrr: use the JSON, msgpack or proto codec")
    if not body:
        return None
    if codec == Flags.CODEC_JSON:
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RPCError(f"invalid JSON argument: {exc}") from None
    try:
        return msgpack.unpackb(body, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise RPCError(f"invalid msgpack argument: {exc}") from None


def _encode_result(codec: int, method: str, result: object) -> bytes:
    if codec in (Flags.CODEC_PROTO, Flags.CODEC_RAW):
        if isinstance(result, bytes | bytearray | memoryview):
            return bytes(result)
        name = "proto" if codec == Flags.CODEC_PROTO else "raw"
        raise RPCError(f"method {method} does not support the {name} codec")
    if codec == Flags.CODEC_JSON:
        try:
            return go_json(result)
        except (TypeError, ValueError) as exc:
            raise RPCError(f"cannot encode the reply of {method} as JSON: {exc}") from None
    try:
        return bytes(msgpack.packb(result, use_bin_type=True))
    except (TypeError, ValueError) as exc:
        raise RPCError(f"cannot encode the reply of {method} as msgpack: {exc}") from None


def encode_reply(call: Call, result: object) -> bytes:
    """Return the whole reply frame for a successful call.

    :raises RPCError: the result cannot be sent with the call's codec (answer with an error).
    """
    name = call.method.encode("ascii")
    body = _encode_result(call.codec, call.method, result)
    return encode(name + body, (call.seq, len(name)), call.codec)


def encode_error(call: Call, message: str) -> bytes:
    """Return the error reply frame: codec bit | ERROR, method name, plain UTF-8 text."""
    name = call.method.encode("ascii")
    return encode(
        name + message.encode("utf-8", "replace"), (call.seq, len(name)), call.codec | Flags.ERROR
    )


def encode_request(seq: int, method: str, body: bytes, codec: int = Flags.CODEC_JSON) -> bytes:
    """Return a request frame, as the PHP SDK and the ``rr`` CLI client send it."""
    name = method.encode("ascii")
    return encode(name + body, (seq, len(name)), codec)
