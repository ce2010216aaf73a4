"""informer.*, resetter.* and rpc.* against a pool of scripted workers on a fake clock."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.python.failure import Failure

from rr.config._schema import PoolConfig
from rr.errors import RPCError
from rr.goridge.frame import Flags
from rr.payload import Payload
from rr.pool.pool import WorkerPool
from rr.rpc.core import CoreMethods, config_document
from rr.rpc.registry import RPCRegistry
from rr.testing import FakeProcessReactor

JSON = Flags.CODEC_JSON


class Plugin:
    def __init__(self, name: str, pool: WorkerPool) -> None:
        self.name = name
        self.pool = pool


def result_of(d: Any) -> Any:
    if not isinstance(d, Deferred):
        return d
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "Deferred has not fired"
    if isinstance(out[0], Failure):
        out[0].raiseException()
    return out[0]


def setup(num_workers: int = 2, ready: Deferred[None] | None = None) -> tuple[
    FakeProcessReactor, WorkerPool, RPCRegistry
]:
    reactor = FakeProcessReactor()
    pool = WorkerPool(reactor, PoolConfig(num_workers=num_workers), reactor.spawner())
    result_of(pool.start())
    registry = RPCRegistry()
    core = CoreMethods(
        reactor,
        lambda: [Plugin("http", pool)],
        (lambda: ready) if ready is not None else (lambda: succeed(None)),
        config_document({"version": "3", "rpc": {"listen": "tcp://127.0.0.1:6001"}}),
    )
    core.register(registry)
    return reactor, pool, registry


def rpc(registry: RPCRegistry, method: str, params: object, codec: int = JSON) -> Any:
    return result_of(registry.lookup(method)(params, codec))


def test_informer_workers_uses_roadrunner_keys() -> None:
    """informer.Workers answers {"workers": [...]} with the keys the PHP SDK reads."""
    reactor, pool, registry = setup()
    reactor.advance(5)
    result_of(pool.exec(Payload(b"{}", b"x")))
    reply = rpc(registry, "informer.Workers", "http")
    workers = reply["workers"]
    assert {w["pid"] for w in workers} == {w.pid for w in pool.workers}
    first = workers[0]
    assert set(first) == {
        "pid", "status", "numExecs", "created", "memoryUsage", "CPUPercent", "command", "statusStr"
    }
    assert first["status"] == 1
    assert first["statusStr"] == "ready"
    assert sum(w["numExecs"] for w in workers) == 1
    assert first["created"] == 0  # the fake clock started at 0: Unix nanoseconds
    assert json.dumps(reply)


def test_informer_workers_unknown_plugin_is_empty_list() -> None:
    """An unknown plugin gives {"workers": []}, never null (the PHP SDK maps over it)."""
    _, _, registry = setup()
    assert rpc(registry, "informer.Workers", "nope") == {"workers": []}
    assert rpc(registry, "informer.Jobs", "http") == []


def test_lists_name_plugins_with_pools() -> None:
    """informer.List and resetter.List name the plugins that own workers."""
    _, _, registry = setup()
    assert rpc(registry, "informer.List", True) == ["http"]  # noqa: FBT003
    assert rpc(registry, "resetter.List", None) == ["http"]


def test_reset_replaces_every_worker() -> None:
    """resetter.Reset answers true once every worker is a new process."""
    reactor, pool, registry = setup(num_workers=3)
    old = {w.pid for w in pool.workers}
    assert rpc(registry, "resetter.Reset", "http") is True
    new = {w.pid for w in pool.workers}
    assert len(new) == 3
    assert not old & new
    assert all(w.ended for w in reactor.spawned if w.pid in old)


def test_reset_unknown_plugin_is_error() -> None:
    """An unknown plugin: RoadRunner's 'no such plugin' error."""
    _, _, registry = setup()
    with pytest.raises(RPCError, match="no such plugin: jobs"):
        rpc(registry, "resetter.Reset", "jobs")
    with pytest.raises(RPCError, match="takes a plugin name"):
        rpc(registry, "resetter.Reset", 5)


def test_concurrent_resets_coalesce() -> None:
    """50 resets at once: one runs, the rest share one more; all answer true."""
    reactor, pool, registry = setup(num_workers=2)
    reactor.auto_handshake = False
    greeted = {w.pid for w in reactor.spawned}
    calls = [registry.lookup("resetter.Reset")("http", JSON) for _ in range(50)]
    for _ in range(20):
        for worker in list(reactor.spawned):
            if not worker.ended and worker.pid not in greeted:
                greeted.add(worker.pid)
                worker.handshake()
    assert all(result_of(d) is True for d in calls)
    assert len(reactor.spawned) == 2 + 2 * 2  # start + two resets, not fifty
    assert len(pool.workers) == 2


def test_calls_during_boot_wait_for_it() -> None:
    """A reset that arrives while the server boots is answered once the boot is over."""
    ready: Deferred[None] = Deferred()
    _, _, registry = setup(ready=ready)
    d = registry.lookup("resetter.Reset")("http", JSON)
    assert not d.called
    ready.callback(None)
    assert result_of(d) is True


def test_add_and_remove_worker() -> None:
    """AddWorker grows the pool by one; RemoveWorker shrinks it but never below one."""
    _, pool, registry = setup(num_workers=1)
    assert rpc(registry, "informer.AddWorker", "http") is False
    assert len(pool.workers) == 2
    rpc(registry, "informer.RemoveWorker", "http")
    assert len(pool.workers) == 1
    rpc(registry, "informer.RemoveWorker", "http")
    assert len(pool.workers) == 1
    with pytest.raises(RPCError, match="does not support workers management: kv"):
        rpc(registry, "informer.AddWorker", "kv")


def test_rpc_version_and_config() -> None:
    """rpc.Version is the emulated release; rpc.Config is base64 in JSON, the document in raw."""
    _, _, registry = setup()
    assert rpc(registry, "rpc.Version", True) == "2025.1.0"  # noqa: FBT003
    doc = json.loads(base64.b64decode(rpc(registry, "rpc.Config", None)))
    assert doc["rpc"]["listen"] == "tcp://127.0.0.1:6001"
    raw = rpc(registry, "rpc.Config", b"", Flags.CODEC_RAW)
    assert json.loads(raw)["version"] == "3"


def test_json_only_methods_refuse_proto() -> None:
    """informer methods called with the proto codec get a clear error."""
    _, _, registry = setup()
    with pytest.raises(RPCError, match="proto codec"):
        rpc(registry, "informer.Workers", b"http", Flags.CODEC_PROTO)


def test_reset_during_shutdown_is_refused() -> None:
    """A reset that arrives while the pool stops gets an error instead of spawning workers."""
    reactor, pool, registry = setup()
    pool.stop()
    spawned = len(reactor.spawned)
    with pytest.raises(RPCError, match="stopping"):
        rpc(registry, "resetter.Reset", "http")
    assert len(reactor.spawned) == spawned
