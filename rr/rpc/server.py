# -*- test-case-name: tests.rpc.test_server -*-
"""The RPC listener: goridge frames in, registry calls, replies out.

Each connection runs its calls concurrently and answers each with the sequence number
it came with, in completion order (RoadRunner's ``net/rpc`` does the same); a reply is
one ``write`` so frames never interleave. A call that fails (unknown method, bad
argument, a handler error) gets an error reply and the connection stays open. Bytes that
are not a well-formed RPC frame cannot be answered, so that connection alone is closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from typing_extensions import override

from rr.errors import FrameError, RPCError
from rr.goridge.frame import FrameDecoder
from rr.rpc.codec import Call, decode_args, encode_error, encode_reply, parse_request

if TYPE_CHECKING:
    from twisted.internet.interfaces import IAddress
    from twisted.python.failure import Failure

    from rr.rpc.registry import RPCRegistry

__all__ = ["DEFAULT_MAX_PAYLOAD", "RPCFactory", "RPCProtocol"]

#: A request claiming a bigger payload closes its connection before anything is buffered.
DEFAULT_MAX_PAYLOAD = 64 * 1024 * 1024


class RPCProtocol(Protocol):
    """One client connection (the PHP SDK's ``RPC``, ``rr reset``...)."""

    _log = Logger(namespace="rr.rpc")

    def __init__(
        self,
        registry: RPCRegistry,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        disabled: frozenset[str] = frozenset(),
    ) -> None:
        self._registry = registry
        self._max_payload = max_payload
        self._disabled = disabled
        self._decoder: FrameDecoder | None = None
        self._pending: set[Deferred[Any]] = set()
        self._closed = False

    @override
    def connectionMade(self) -> None:
        self._decoder = FrameDecoder(self._max_payload)

    @override
    def dataReceived(self, data: bytes) -> None:
        if self._closed or self._decoder is None:
            return
        try:
            frames = self._decoder.feed(data)
            calls = [parse_request(frame) for frame in frames]
        except FrameError as exc:
            self._log.warn(
                "RPC connection from {peer} sent an invalid frame ({error}); closing it",
                peer=_peer(self.transport.getPeer()) if self.transport else "?",
                error=str(exc),
                rr_channel="rpc",
            )
            self._closed = True
            if self.transport is not None:
                self.transport.loseConnection()
            return
        for call in calls:
            self._dispatch(call)

    def _dispatch(self, call: Call) -> None:
        d: Deferred[Any] = maybeDeferred(self._invoke, call)
        self._pending.add(d)
        d.addCallbacks(self._reply, self._fail, callbackArgs=(call,), errbackArgs=(call,))
        d.addBoth(self._forget, d)

    def _invoke(self, call: Call) -> Any:
        if "." not in call.method:
            raise RPCError(f"rpc: service/method request ill-formed: {call.method}")
        handler = self._registry.lookup(call.method)
        if self._disabled and (
            call.method in self._disabled or call.method.rsplit(".", 1)[0] + ".*" in self._disabled
        ):
            raise RPCError(f"rpc: method {call.method} is disabled by rpc.disabled_methods")
        return handler(decode_args(call.codec, call.body), call.codec)

    def _reply(self, result: object, call: Call) -> None:
        try:
            frame = encode_reply(call, result)
        except RPCError as exc:
            frame = encode_error(call, str(exc))
        self._write(frame)

    def _fail(self, failure: Failure, call: Call) -> None:
        error = failure.value
        if not isinstance(error, RPCError):
            self._log.failure(
                "RPC method {method} failed", failure, method=call.method, rr_channel="rpc"
            )
        self._write(encode_error(call, str(error) or type(error).__name__))

    def _write(self, frame: bytes) -> None:
        if not self._closed and self.transport is not None:
            self.transport.write(frame)

    def _forget(self, _: object, d: Deferred[Any]) -> None:
        self._pending.discard(d)

    @override
    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self._closed = True
        # calls still running (a reset) finish; their replies are dropped


def _peer(address: IAddress) -> str:
    host = getattr(address, "host", None)
    if host is not None:
        return f"{host}:{getattr(address, 'port', '')}"
    return str(getattr(address, "name", "") or "unix socket")


class RPCFactory(Factory):
    """Serves ``registry`` on every accepted connection."""

    noisy = False

    def __init__(
        self,
        registry: RPCRegistry,
        *,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        disabled: tuple[str, ...] = (),
    ) -> None:
        self.registry = registry
        self.max_payload = max_payload
        self.disabled = frozenset(disabled)

    @override
    def buildProtocol(self, addr: IAddress | None) -> RPCProtocol:
        proto = RPCProtocol(self.registry, self.max_payload, self.disabled)
        proto.factory = self
        return proto
