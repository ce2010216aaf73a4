"""The goridge RPC codec: request parsing, codec choice, replies and error replies."""

from __future__ import annotations

import json

import msgpack
import pytest

from rr.errors import FrameError, RPCError
from rr.goridge.frame import Flags, Frame, FrameDecoder, encode
from rr.rpc.codec import (
    decode_args,
    encode_error,
    encode_reply,
    encode_request,
    go_json,
    parse_request,
    pick_codec,
)


def one_frame(data: bytes) -> Frame:
    frames = FrameDecoder().feed(data)
    assert len(frames) == 1
    return frames[0]


def test_request_as_php_sends_it() -> None:
    """A PHP JsonCodec request: options [seq, len(method)], method then JSON argument."""
    wire = encode(b'informer.Workers"http"', (7, 16), Flags.CODEC_JSON)
    call = parse_request(one_frame(wire))
    assert (call.seq, call.method, call.codec, call.body) == (7, "informer.Workers", 0x08, b'"http"')
    assert decode_args(call.codec, call.body) == "http"


def test_codec_priority_follows_go() -> None:
    """PROTO beats JSON beats RAW beats MSGPACK; no known bit means gob."""
    assert pick_codec(0x80 | 0x20) == 0x80
    assert pick_codec(0x08 | 0x04) == 0x08
    assert pick_codec(0x04 | 0x10) == 0x04
    assert pick_codec(0x10) == 0x10
    assert pick_codec(0) == 0x20
    assert pick_codec(0x01) == 0x20


def test_reply_frame_echoes_seq_and_method_with_single_codec_bit() -> None:
    """The reply carries the same seq, the method name and only the chosen codec bit (byte 0 0x15)."""
    call = parse_request(one_frame(encode(b"rpc.Versiontrue", (3, 11), Flags.CODEC_JSON | 0x04)))
    wire = encode_reply(call, "2025.1.0")
    assert wire[0] == 0x15
    frame = one_frame(wire)
    assert frame.flags == Flags.CODEC_JSON
    assert frame.options == (3, 11)
    assert frame.payload == b'rpc.Version"2025.1.0"'


def test_error_reply_is_plain_text_with_error_bit() -> None:
    """An error reply is codec|0x40 and the unencoded text after the method name."""
    call = parse_request(one_frame(encode_request(9, "x.Y", b"null")))
    frame = one_frame(encode_error(call, "rpc: can't find service x.Y"))
    assert frame.flags == 0x48
    assert frame.options == (9, 3)
    assert frame.payload == b"x.Yrpc: can't find service x.Y"


@pytest.mark.parametrize(
    ("options", "payload"),
    [((1,), b"a.B"), ((1, 2, 3), b"a.B"), ((1, 10), b"a.B")],
)
def test_unanswerable_frames_raise(options: tuple[int, ...], payload: bytes) -> None:
    """Wrong option count or a method length beyond the payload cannot be answered."""
    with pytest.raises(FrameError):
        parse_request(Frame(Flags.CODEC_JSON, payload, options))


def test_empty_body_is_zero_value_and_bad_json_is_rpc_error() -> None:
    """No argument decodes to None; malformed JSON is a recoverable RPCError."""
    assert decode_args(Flags.CODEC_JSON, b"") is None
    with pytest.raises(RPCError, match="invalid JSON"):
        decode_args(Flags.CODEC_JSON, b"{nope")


def test_gob_is_refused_and_raw_proto_stay_bytes() -> None:
    """gob gets an error; proto and raw arguments reach the handler as bytes."""
    with pytest.raises(RPCError, match="gob"):
        decode_args(Flags.CODEC_GOB, b"\x01")
    assert decode_args(Flags.CODEC_PROTO, b"\x0a\x01x") == b"\x0a\x01x"
    assert decode_args(Flags.CODEC_RAW, b"") == b""


def test_msgpack_round_trip() -> None:
    """msgpack arguments decode, and replies encode with msgpack."""
    call = parse_request(one_frame(encode_request(1, "a.B", msgpack.packb(["x", 1]), 0x10)))
    assert decode_args(call.codec, call.body) == ["x", 1]
    frame = one_frame(encode_reply(call, {"ok": True}))
    assert msgpack.unpackb(frame.payload[3:]) == {"ok": True}


def test_raw_or_proto_reply_must_be_bytes() -> None:
    """A JSON-only method called with the raw codec is an error, not a crash."""
    call = parse_request(one_frame(encode_request(1, "a.B", b"", Flags.CODEC_RAW)))
    with pytest.raises(RPCError, match="raw codec"):
        encode_reply(call, {"x": 1})
    assert one_frame(encode_reply(call, b"{}")).payload == b"a.B{}"


def test_go_json_is_compact_and_html_escaped() -> None:
    """Like Go's json.Marshal: no spaces, <>& escaped, still valid JSON."""
    out = go_json({"a": "<b>&", "n": [1, 2]})
    assert out == b'{"a":"\\u003cb\\u003e\\u0026","n":[1,2]}'
    assert json.loads(out) == {"a": "<b>&", "n": [1, 2]}
