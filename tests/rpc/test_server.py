"""The RPC protocol on an in-memory transport: replies, error replies, closing on garbage."""

from __future__ import annotations

import struct
import zlib

from twisted.internet.defer import Deferred
from twisted.internet.testing import StringTransport

from rr.errors import RPCError
from rr.goridge.frame import Flags, Frame, FrameDecoder, encode
from rr.rpc.codec import encode_request
from rr.rpc.registry import RPCRegistry
from rr.rpc.server import RPCFactory, RPCProtocol


def connect(registry: RPCRegistry, max_payload: int = 1024) -> tuple[RPCProtocol, StringTransport]:
    factory = RPCFactory(registry, max_payload=max_payload)
    proto = factory.buildProtocol(None)
    assert isinstance(proto, RPCProtocol)
    transport = StringTransport()
    proto.makeConnection(transport)
    return proto, transport


def replies(transport: StringTransport) -> list[Frame]:
    frames = FrameDecoder().feed(transport.value())
    transport.clear()
    return frames


def registry_with(**methods: object) -> RPCRegistry:
    registry = RPCRegistry()
    for name, handler in methods.items():
        registry.register(name.replace("_", "."), handler)  # type: ignore[arg-type]
    return registry


def test_json_call_gets_reply_with_same_seq() -> None:
    """A JSON call is decoded, handled and answered with its seq and method name."""
    proto, transport = connect(registry_with(echo_Call=lambda params, codec: {"got": params}))
    proto.dataReceived(encode_request(41, "echo.Call", b'"hi"'))
    [frame] = replies(transport)
    assert frame.options == (41, 9)
    assert frame.flags == Flags.CODEC_JSON
    assert frame.payload == b'echo.Call{"got":"hi"}'


def test_unknown_method_gets_error_reply_and_connection_stays_open() -> None:
    """Unknown service: error reply (0x48) with Go's wording; the next call still works."""
    proto, transport = connect(registry_with(echo_Call=lambda params, codec: 1))
    proto.dataReceived(encode_request(1, "nope.Call", b"null"))
    [frame] = replies(transport)
    assert frame.flags == 0x48
    assert frame.payload == b"nope.Callrpc: can't find service nope.Call"
    proto.dataReceived(encode_request(2, "noDot", b""))
    assert replies(transport)[0].payload.endswith(b"ill-formed: noDot")
    proto.dataReceived(encode_request(3, "echo.Call", b""))
    assert replies(transport)[0].payload == b"echo.Call1"
    assert not transport.disconnecting


def test_handler_errors_become_error_replies() -> None:
    """RPCError and unexpected exceptions both answer with their text."""

    def refuse(params: object, codec: int) -> object:
        raise RPCError("no such plugin: x")

    def crash(params: object, codec: int) -> object:
        raise ValueError("boom")

    proto, transport = connect(registry_with(a_Refuse=refuse, a_Crash=crash))
    proto.dataReceived(encode_request(1, "a.Refuse", b'"x"') + encode_request(2, "a.Crash", b""))
    first, second = replies(transport)
    assert first.payload == b"a.Refuseno such plugin: x"
    assert second.flags & Flags.ERROR
    assert second.payload == b"a.Crashboom"


def test_bad_json_and_gob_get_error_replies() -> None:
    """Undecodable arguments and the gob codec are recoverable errors."""
    proto, transport = connect(registry_with(a_B=lambda params, codec: 1))
    proto.dataReceived(encode_request(1, "a.B", b"{x"))
    proto.dataReceived(encode(b"a.B\x00", (2, 3), 0))
    first, second = replies(transport)
    assert first.flags == 0x48
    assert b"invalid JSON" in first.payload
    assert second.flags == Flags.CODEC_GOB | Flags.ERROR
    assert b"gob codec is not supported" in second.payload


def test_concurrent_calls_answer_in_completion_order() -> None:
    """Two pipelined calls: the slow one is answered after the fast one, each with its seq."""
    slow: Deferred[str] = Deferred()
    registry = registry_with(a_Slow=lambda params, codec: slow, a_Fast=lambda params, codec: "f")
    proto, transport = connect(registry)
    proto.dataReceived(encode_request(10, "a.Slow", b"") + encode_request(11, "a.Fast", b""))
    [fast] = replies(transport)
    assert fast.options[0] == 11
    slow.callback("s")
    [late] = replies(transport)
    assert (late.options[0], late.payload) == (10, b'a.Slow"s"')


def test_garbage_closes_the_connection_without_reply() -> None:
    """Bytes that are not a frame (bad CRC) close the connection; nothing is written."""
    proto, transport = connect(registry_with(a_B=lambda params, codec: 1))
    proto.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert transport.disconnecting
    assert transport.value() == b""


def test_wrong_option_count_closes_the_connection() -> None:
    """A valid frame with one option cannot be answered: the connection is closed."""
    proto, transport = connect(registry_with(a_B=lambda params, codec: 1))
    proto.dataReceived(encode(b"a.B", (1,), Flags.CODEC_JSON))
    assert transport.disconnecting


def test_oversized_payload_closes_before_buffering() -> None:
    """A header claiming more than max_payload closes the connection at once."""
    proto, transport = connect(registry_with(a_B=lambda params, codec: 1), max_payload=1024)
    head6 = struct.pack("<BBI", 0x15, Flags.CODEC_JSON, 100 * 1024 * 1024)
    proto.dataReceived(head6 + struct.pack("<IBB", zlib.crc32(head6), 0, 0))
    assert transport.disconnecting


def test_reply_after_disconnect_is_dropped() -> None:
    """A call still running when the client leaves finishes without writing."""
    slow: Deferred[str] = Deferred()
    proto, transport = connect(registry_with(a_Slow=lambda params, codec: slow))
    proto.dataReceived(encode_request(1, "a.Slow", b""))
    proto.connectionLost(None)  # type: ignore[arg-type]
    slow.callback("late")
    assert transport.value() == b""


def test_disabled_methods_get_an_error_reply() -> None:
    """rpc.disabled_methods refuses exact names and service.* wildcards; others still work."""
    registry = registry_with(
        informer_AddWorker=lambda p, c: False, resetter_Reset=lambda p, c: True,
        informer_List=lambda p, c: ["http"],
    )
    factory = RPCFactory(registry, disabled=("informer.AddWorker", "resetter.*"))
    proto = factory.buildProtocol(None)
    transport = StringTransport()
    proto.makeConnection(transport)
    proto.dataReceived(
        encode_request(1, "informer.AddWorker", b'"http"')
        + encode_request(2, "resetter.Reset", b'"http"')
        + encode_request(3, "informer.List", b"true")
    )
    add, reset, listing = replies(transport)
    assert add.payload.endswith(b"informer.AddWorker is disabled by rpc.disabled_methods")
    assert reset.flags & Flags.ERROR
    assert listing.payload == b'informer.List["http"]'
