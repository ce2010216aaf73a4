"""The status resource (paths, query, shutdown) and the ``status.*`` RPC methods."""

from __future__ import annotations

import json

import pytest
from twisted.internet.testing import MemoryReactorClock
from twisted.web.test.requesthelper import DummyRequest

from rr.config._schema import StatusConfig
from rr.errors import RPCError
from rr.goridge.frame import Flags
from rr.http._proto import iter_fields
from rr.rpc.registry import RPCRegistry
from rr.status import Checker, StatusPlugin, StatusResource


def fixed(health: int, ready: int) -> Checker:
    return Checker(health=lambda: health, ready=lambda: ready)


def make_plugin(**checkers: Checker) -> StatusPlugin:
    config = StatusConfig(address="127.0.0.1:0", unavailable_status_code=599)
    return StatusPlugin(MemoryReactorClock(), config, lambda: checkers)


def get(status: StatusPlugin, path: bytes, **args: list[bytes]) -> tuple[int, bytes]:
    request = DummyRequest(path.strip(b"/").split(b"/"))
    request.path = path  # type: ignore[attr-defined]
    request.args = {key.encode(): value for key, value in args.items()}
    body = StatusResource(status).render(request)  # type: ignore[arg-type]
    return request.responseCode or 200, body


def test_health_and_ready_json() -> None:
    """``/health`` and ``/ready`` answer RoadRunner's JSON array; ``plugin`` repeats."""
    plugin = make_plugin(http=fixed(200, 503), grpc=fixed(200, 200))
    code, body = get(plugin, b"/health")
    assert code == 200
    assert [e["plugin_name"] for e in json.loads(body)] == ["http", "grpc"]
    code, body = get(plugin, b"/ready", plugin=[b"http", b"grpc"])
    assert code == 599
    assert json.loads(body)[0] == {
        "plugin_name": "http",
        "error_message": "internal server error, see logs",
        "status_code": 599,
    }
    assert get(plugin, b"/ready", plugin=[b"grpc"]) == (
        200,
        b'[{"plugin_name":"grpc","error_message":"","status_code":200}]',
    )


def test_unknown_paths_and_jobs() -> None:
    """Other paths are 404; ``/jobs`` without a jobs plugin is unavailable."""
    plugin = make_plugin(http=fixed(200, 200))
    assert get(plugin, b"/metrics")[0] == 404
    assert get(plugin, b"/jobs") == (599, b"jobs plugin not found")


def test_shutdown_keeps_health_and_drops_ready() -> None:
    """Once shutdown starts ``/ready`` is unavailable while ``/health`` stays 200."""
    plugin = make_plugin(http=fixed(200, 200))
    plugin.shutdown_started()
    assert get(plugin, b"/health") == (200, b"service is shutting down")
    assert get(plugin, b"/ready") == (599, b"service is shutting down")
    assert get(plugin, b"/jobs")[0] == 599


def call(plugin: StatusPlugin, method: str, params: object, codec: int) -> object:
    registry = RPCRegistry()
    plugin.register_rpc(registry)
    return registry.lookup(f"status.{method}")(params, codec)


def test_rpc_proto() -> None:
    """``status.Status``/``status.Ready`` take ``status.v1.Request`` and answer ``Response``."""
    plugin = make_plugin(http=fixed(200, 503))
    request = b"\x0a\x04http"
    reply = call(plugin, "Status", request, int(Flags.CODEC_PROTO))
    assert isinstance(reply, bytes)
    assert list(iter_fields(reply)) == [(1, 0, 200)]
    reply = call(plugin, "Ready", request, int(Flags.CODEC_PROTO))
    assert isinstance(reply, bytes)
    assert list(iter_fields(reply)) == [(1, 0, 503)]


def test_rpc_json_and_errors() -> None:
    """JSON works too; an unknown plugin or bad input is an RPC error."""
    plugin = make_plugin(http=fixed(200, 200))
    json_codec = int(Flags.CODEC_JSON)
    assert call(plugin, "Ready", {"plugin": "http"}, json_codec) == {"code": 200, "message": ""}
    with pytest.raises(RPCError, match="no such plugin: jobs"):
        call(plugin, "Status", b"\x0a\x04jobs", int(Flags.CODEC_PROTO))
    with pytest.raises(RPCError, match=r"invalid status\.v1\.Request"):
        call(plugin, "Status", b"\x0a\x09ht", int(Flags.CODEC_PROTO))
    with pytest.raises(RPCError, match="expected"):
        call(plugin, "Status", ["http"], json_codec)
