# -*- test-case-name: tests.status.test_plugin -*-
"""The status plugin: ``/health``, ``/ready``, ``/jobs`` on ``status.address``; ``status.*`` RPC.

The listener opens as soon as the plugins exist, before their workers boot, so a readiness
probe sees 503 until a worker is ready. Once shutdown starts ``/ready`` answers
``unavailable_status_code`` (the load balancer stops sending) while ``/health`` stays 200
(the orchestrator does not kill a draining server); both say ``service is shutting down``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from twisted.web.resource import Resource
from typing_extensions import override

from rr.control_site import ControlListener
from rr.errors import RPCError
from rr.http._proto import ProtoError, iter_fields, varint
from rr.status._report import OK, Checker, Kind, check, report

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.web.server import Request

    from rr.config._schema import StatusConfig
    from rr.rpc.registry import RPCRegistry

#: The plugins that report health and readiness, by name, read at each request.
CheckerSource = Callable[[], Mapping[str, Checker]]
SHUTTING_DOWN = b"service is shutting down"
_WIRE_BYTES = 2


class StatusResource(Resource):
    """Answers ``/health``, ``/ready`` and ``/jobs``; 404 elsewhere."""

    isLeaf = True

    def __init__(self, plugin: StatusPlugin) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._plugin = plugin

    @override
    def render(self, request: Request) -> bytes:
        path = (request.path or b"/").rstrip(b"/")
        unavailable = self._plugin.config.unavailable_status_code
        if path not in (b"/health", b"/ready", b"/jobs"):
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"404 page not found\n"
        if self._plugin.shutting_down:
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            request.setResponseCode(OK if path == b"/health" else unavailable)
            return SHUTTING_DOWN
        if path == b"/jobs":
            # no jobs plugin in this build: upstream's answer when it is missing
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            request.setResponseCode(unavailable)
            return b"jobs plugin not found"
        args = request.args or {}
        names = [value.decode("utf-8", "replace") for value in args.get(b"plugin", [])]
        kind: Kind = "health" if path == b"/health" else "ready"
        code, body = report(self._plugin.checkers(), names, kind, unavailable)
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        return body


class StatusPlugin:
    """Everything behind ``status``: call :meth:`register_rpc`, then :meth:`listen`."""

    def __init__(
        self,
        reactor: Any,
        config: StatusConfig,
        checkers: CheckerSource,
    ) -> None:
        self._reactor = reactor
        self.config = config
        self.checkers = checkers
        self.shutting_down = False
        self.listener = ControlListener(
            reactor, config.address, "status.address", float(config.check_timeout)
        )

    def register_rpc(self, registry: RPCRegistry) -> None:
        """Add ``status.Status`` and ``status.Ready``."""
        registry.register("status.Status", lambda params, _codec: self._rpc(params, "health"))
        registry.register("status.Ready", lambda params, _codec: self._rpc(params, "ready"))

    def _rpc(self, params: object, kind: Kind) -> object:
        """``status.v1.Request`` in, ``status.v1.Response`` out (proto, or JSON/msgpack)."""
        proto = isinstance(params, bytes)
        plugin = _decode_request(params) if isinstance(params, bytes) else _json_request(params)
        checker = self.checkers().get(plugin)
        if checker is None:
            raise RPCError(f"no such plugin: {plugin}")
        try:
            code = check(checker, kind)
        except Exception as error:  # noqa: BLE001 - becomes the RPC error text
            raise RPCError(f"{plugin}: {error}") from None
        if code is None:
            raise RPCError(f"plugin is not available: {plugin}")
        if proto:
            return _encode_response(code, "")
        return {"code": code, "message": ""}

    async def listen(self) -> None:
        """Open ``status.address``."""
        await self.listener.listen(StatusResource(self))

    def shutdown_started(self) -> None:
        """From now on ``/ready`` is unavailable and ``/health`` says the server is draining."""
        self.shutting_down = True

    def stop(self) -> Deferred[None]:
        """Close the listener (the very last thing at shutdown)."""
        return self.listener.stop()


def _decode_request(body: bytes) -> str:
    plugin = b""
    try:
        for number, wire, value in iter_fields(body):
            if number == 1 and wire == _WIRE_BYTES and isinstance(value, bytes):
                plugin = value
    except ProtoError as error:
        raise RPCError(f"status: invalid status.v1.Request: {error}") from None
    return plugin.decode("utf-8", "replace")


def _json_request(params: object) -> str:
    if isinstance(params, Mapping):
        for key, value in params.items():
            if str(key).lower() == "plugin" and isinstance(value, str):
                return value
    raise RPCError('status: expected {"plugin": "<name>"}')


def _encode_response(code: int, message: str) -> bytes:
    """``status.v1.Response {int64 code = 1; string message = 2;}``."""
    out = b"\x08" + varint(code) if code else b""
    text = message.encode()
    if text:
        out += b"\x12" + varint(len(text)) + text
    return out
