# -*- test-case-name: tests.metrics.test_config -*-
"""The ``metrics`` section: the endpoint address and the collectors declared under ``collect``.

The same collector rules serve the config and the ``metrics.Declare`` RPC, so both report a
bad collector with the same words (RoadRunner's ``invalid metric type `x` for `name` ``).
Names are checked here, at load time, instead of failing later inside the registry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Literal, cast

from rr.config._endpoints import to_endpoint
from rr.config._schema import CollectorConfig, MetricsConfig
from rr.config._values import ConversionError, Section, go_type_name, to_str
from rr.errors import ConfigError

CollectorType = Literal["counter", "gauge", "histogram", "summary"]
COLLECTOR_TYPES: frozenset[str] = frozenset({"counter", "gauge", "histogram", "summary"})
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def full_name(name: str, collector: CollectorConfig) -> str:
    """``namespace_subsystem_name``, skipping empty parts (Prometheus' ``BuildFQName``)."""
    return "_".join(part for part in (collector.namespace, collector.subsystem, name) if part)


def _floats(value: object) -> tuple[float, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    out: list[float] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float | str):
            raise ConversionError(f"expected a number, got {go_type_name(item)}")
        try:
            number = float(item)
        except ValueError:
            raise ConversionError(f"invalid number {item!r}") from None
        if math.isnan(number):
            raise ConversionError("NaN is not a valid bucket or objective")
        out.append(number)
    return tuple(out)


def _flatten(value: Mapping[object, object], prefix: str = "") -> dict[str, object]:
    """Undo the loader's split of dotted keys: ``{"0": {"5": 0.05}}`` is ``{"0.5": 0.05}``."""
    flat: dict[str, object] = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, Mapping):
            flat.update(_flatten(item, name))
        else:
            flat[name] = item
    return flat


def _objectives(value: object) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, Mapping):
        raise ConversionError(f"expected a map of quantile: error, got {go_type_name(value)}")
    pairs: list[tuple[float, float]] = []
    for quantile, error in _flatten(value).items():
        (q,) = _floats(quantile)
        (e,) = _floats(error)
        if not 0.0 <= q <= 1.0:
            raise ConversionError(f"quantile {to_str(q)} is not between 0 and 1")
        pairs.append((q, e))
    return tuple(sorted(pairs))


def build_collector(name: str, section: Section) -> CollectorConfig | None:
    """Build one collector; None (with problems recorded on ``section``) when it is invalid."""
    kind = section.string("type")
    ok = True
    if kind not in COLLECTOR_TYPES:
        section.problem("type", f"invalid metric type `{kind}` for `{name}`")
        ok = False
    labels = section.strings("labels")
    for label in labels:
        if not _LABEL_NAME.fullmatch(label) or label.startswith("__"):
            section.problem("labels", f"invalid label name {label!r}")
            ok = False
    buckets: tuple[float, ...] = section.convert("buckets", _floats, ())
    if list(buckets) != sorted(set(buckets)):
        section.problem("buckets", "buckets must be in increasing order without duplicates")
        ok = False
    config = CollectorConfig(
        type=cast("CollectorType", kind) if ok else "gauge",
        help=section.string("help"),
        namespace=section.string("namespace"),
        subsystem=section.string("subsystem"),
        labels=labels,
        buckets=buckets,
        objectives=section.convert("objectives", _objectives, ()),
    )
    metric = full_name(name, config)
    if not _METRIC_NAME.fullmatch(metric):
        section.problems.append((section.path, f"invalid metric name {metric!r}"))
        ok = False
    section.log_unknown()
    return config if ok else None


def parse_collector(name: str, raw: object, path: str) -> CollectorConfig:
    """Build a collector from a raw map (the ``metrics.Declare`` RPC).

    :raises ConfigError: listing every problem of the collector.
    """
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, Mapping):
        raise ConfigError([(path, f"expected a map, got {go_type_name(raw)}")])
    lowered = {str(key).lower(): value for key, value in raw.items()}
    config = build_collector(name, Section(lowered, path, problems))
    if config is None or problems:
        raise ConfigError(problems)
    return config


def build_metrics(section: Section | None) -> MetricsConfig | None:
    """Build ``metrics``; None when absent. Every bad collector is reported by its path."""
    if section is None:
        return None
    address = section.string("address") or MetricsConfig().address
    try:
        to_endpoint(address, path=section.key_path("address"))
    except ConfigError as error:
        section.problems.extend(error.problems)
    collect: dict[str, CollectorConfig] = {}
    entries = section.section("collect")
    if entries is not None:
        for name in entries.node:
            sub = entries.section(str(name))
            if sub is None:
                entries.problem(str(name), "expected a map with a `type`")
                continue
            collector = build_collector(str(name), sub)
            if collector is not None:
                collect[str(name)] = collector
    section.log_unknown()
    return MetricsConfig(address=address, collect=collect)
