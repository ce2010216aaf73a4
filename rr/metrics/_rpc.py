# -*- test-case-name: tests.metrics.test_rpc -*-
r"""``metrics.*``: the RPC methods ``Spiral\\RoadRunner\\Metrics\\Metrics`` calls from PHP.

The SDK speaks JSON: ``{"name", "value", "labels"}`` for Add/Sub/Set/Observe, ``{"name",
"collector"}`` for Declare, a bare string for Unregister; every reply is a JSON boolean.
Keys are matched case-insensitively and numbers may be integers or floats, as Go's decoder
allows. Errors read as RoadRunner's, since PHP code shows them in its exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rr.config._metrics import COLLECTOR_TYPES, parse_collector
from rr.errors import ConfigError, RPCError

if TYPE_CHECKING:
    from rr.metrics._app import AppCollector, AppMetrics
    from rr.rpc.registry import RPCRegistry


def _object(method: str, params: object) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise RPCError(f"metrics.{method}: expected a JSON object, got {type(params).__name__}")
    return {str(key).lower(): value for key, value in params.items()}


def _name(method: str, args: Mapping[str, Any]) -> str:
    name = args.get("name")
    if not isinstance(name, str) or not name:
        raise RPCError(f"metrics.{method}: `name` must be a non-empty string")
    return name


def _value(method: str, args: Mapping[str, Any]) -> float:
    value = args.get("value", 0)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RPCError(f"metrics.{method}: `value` must be a number")
    return float(value)


def _labels(method: str, args: Mapping[str, Any]) -> Sequence[str]:
    labels = args.get("labels")
    if labels is None:
        return ()
    if not isinstance(labels, list) or not all(isinstance(v, str) for v in labels):
        raise RPCError(f"metrics.{method}: `labels` must be a list of strings (label values)")
    return labels


Operation = Callable[["AppCollector", float, Sequence[str]], None]


def _operation(metrics: AppMetrics, method: str, operation: Operation) -> Callable[..., bool]:
    def handler(params: object, _codec: int) -> bool:
        args = _object(method, params)
        collector = metrics.get(_name(method, args))
        operation(collector, _value(method, args), _labels(method, args))
        return True

    return handler


def _declare(metrics: AppMetrics) -> Callable[..., bool]:
    def handler(params: object, _codec: int) -> bool:
        args = _object("Declare", params)
        name = _name("Declare", args)
        raw = args.get("collector")
        if isinstance(raw, Mapping):
            kind = {str(k).lower(): v for k, v in raw.items()}.get("type")
            if kind not in COLLECTOR_TYPES:
                raise RPCError(f"metrics.Declare: unknown collector type: {kind}")
        try:
            config = parse_collector(name, raw, "collector")
        except ConfigError as error:
            problems = "; ".join(f"{path}: {text}" for path, text in error.problems)
            raise RPCError(f"metrics.Declare {name}: {problems}") from None
        metrics.declare(name, config)
        return True

    return handler


def _unregister(metrics: AppMetrics) -> Callable[..., bool]:
    def handler(params: object, _codec: int) -> bool:
        if not isinstance(params, str) or not params:
            raise RPCError("metrics.Unregister: expected the collector name as a JSON string")
        return metrics.unregister(params)

    return handler


def register_metrics_rpc(registry: RPCRegistry, metrics: AppMetrics) -> None:
    """Add ``metrics.Add``, ``Sub``, ``Set``, ``Observe``, ``Declare`` and ``Unregister``."""
    operations: dict[str, Operation] = {
        "Add": lambda c, v, labels: c.add(v, labels),
        "Sub": lambda c, v, labels: c.sub(v, labels),
        "Set": lambda c, v, labels: c.set(v, labels),
        "Observe": lambda c, v, labels: c.observe(v, labels),
    }
    for method, operation in operations.items():
        registry.register(f"metrics.{method}", _operation(metrics, method, operation))
    registry.register("metrics.Declare", _declare(metrics))
    registry.register("metrics.Unregister", _unregister(metrics))
