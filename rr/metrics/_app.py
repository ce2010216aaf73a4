# -*- test-case-name: tests.metrics.test_app -*-
"""Application collectors: declared in config or over RPC, fed by PHP through ``metrics.*``.

They keep their own values instead of wrapping prometheus_client's metric classes because
RoadRunner's names must come out unchanged: Go exposes a counter declared as ``app_requests``
as ``app_requests`` (prometheus_client would add ``_total`` and ``_created``), and a summary
with ``objectives`` has quantiles (prometheus_client's Summary has none). Each collector is
registered on the plugin's CollectorRegistry, so name clashes are refused the usual way.

Errors carry RoadRunner's words; they subclass RPCError so the RPC layer returns them as is.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from typing import TYPE_CHECKING

from prometheus_client.core import Metric
from twisted.logger import Logger

from rr.config._metrics import full_name
from rr.errors import RPCError
from rr.metrics._expose import go_float

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from prometheus_client import CollectorRegistry

    from rr.config._schema import CollectorConfig

#: Prometheus' default histogram buckets (used when ``buckets`` is empty).
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Go's summary keeps observations for 10 minutes; we also cap how many are kept.
SUMMARY_MAX_AGE = 600.0
SUMMARY_MAX_SAMPLES = 10_000


class MetricsError(RPCError):
    """A metrics operation was refused; the message is RoadRunner's."""


class _Child:
    """The values of one label combination."""

    __slots__ = ("count", "counts", "total", "value", "window")

    def __init__(self, buckets: int) -> None:
        self.value = 0.0
        self.total = 0.0
        self.count = 0
        self.counts = [0] * buckets
        self.window: deque[tuple[float, float]] = deque()


class AppCollector:
    """One application collector, scalar or vector (``labels``), exposed under its full name.

    :param clock: seconds, for the summary window (``reactor.seconds``).
    """

    def __init__(self, name: str, config: CollectorConfig, clock: Callable[[], float]) -> None:
        self.name = name
        self.config = config
        self.full_name = full_name(name, config)
        self.buckets: tuple[float, ...] = ()
        if config.type == "histogram":
            self.buckets = tuple(b for b in config.buckets or DEFAULT_BUCKETS if b != math.inf)
        self._clock = clock
        self._children: dict[tuple[str, ...], _Child] = {}
        if not config.labels:  # Go exposes a scalar collector (at zero) from the start
            self._children[()] = _Child(len(self.buckets))

    # -- operations (RPC semantics) -----------------------------------------------------

    def add(self, value: float, labels: Sequence[str]) -> None:
        """Add to a counter or gauge; a counter refuses a negative value."""
        self._require("Add", "counter", "gauge")
        if self.config.type == "counter" and value < 0:
            raise MetricsError(f"counter cannot decrease in value: {self.name}")
        self._child(labels).value += value

    def sub(self, value: float, labels: Sequence[str]) -> None:
        """Subtract from a gauge."""
        self._require("Sub", "gauge")
        self._child(labels).value -= value

    def set(self, value: float, labels: Sequence[str]) -> None:
        """Set a gauge."""
        self._require("Set", "gauge")
        self._child(labels).value = value

    def observe(self, value: float, labels: Sequence[str]) -> None:
        """Record an observation in a histogram or summary."""
        self._require("Observe", "histogram", "summary")
        child = self._child(labels)
        child.total += value
        child.count += 1
        if self.config.type == "histogram":
            index = bisect_left(self.buckets, value)
            if index < len(self.buckets):
                child.counts[index] += 1
        elif self.config.objectives:
            now = self._clock()
            child.window.append((now, value))
            if len(child.window) > SUMMARY_MAX_SAMPLES:
                child.window.popleft()

    def _require(self, operation: str, *types: str) -> None:
        if self.config.type not in types:
            raise MetricsError(
                "collector does not support the requested operation: "
                f"{self.name} does not support {operation}"
            )

    def _child(self, labels: Sequence[str]) -> _Child:
        expected = len(self.config.labels)
        if expected and not labels:
            raise MetricsError(f"required labels for collector: {self.name}")
        key = tuple(labels) if expected else ()
        if len(key) != expected:
            raise MetricsError(
                f"inconsistent label cardinality: expected {expected} label values "
                f"but got {len(key)} in {list(key)!r}"
            )
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = _Child(len(self.buckets))
        return child

    # -- prometheus_client Collector ----------------------------------------------------

    def describe(self) -> list[Metric]:
        """One empty family: lets the registry refuse clashing names at registration."""
        return [Metric(self.full_name, self.config.help or self.name, self.config.type)]

    def collect(self) -> list[Metric]:
        """The current values, with RoadRunner's (Go's) sample names."""
        metric = self.describe()[0]
        now = self._clock()
        for key, child in sorted(self._children.items()):
            labels = dict(zip(self.config.labels, key, strict=True))
            if self.config.type in ("counter", "gauge"):
                metric.add_sample(self.full_name, labels, child.value)
            elif self.config.type == "histogram":
                self._histogram_samples(metric, labels, child)
            else:
                self._summary_samples(metric, labels, child, now)
        return [metric]

    def _histogram_samples(self, metric: Metric, labels: dict[str, str], child: _Child) -> None:
        cumulative = 0
        for bound, count in zip(self.buckets, child.counts, strict=True):
            cumulative += count
            metric.add_sample(
                self.full_name + "_bucket", {**labels, "le": go_float(bound)}, float(cumulative)
            )
        metric.add_sample(self.full_name + "_bucket", {**labels, "le": "+Inf"}, child.count)
        metric.add_sample(self.full_name + "_sum", labels, child.total)
        metric.add_sample(self.full_name + "_count", labels, child.count)

    def _summary_samples(
        self, metric: Metric, labels: dict[str, str], child: _Child, now: float
    ) -> None:
        while child.window and child.window[0][0] < now - SUMMARY_MAX_AGE:
            child.window.popleft()
        values = sorted(v for _, v in child.window)
        for quantile, _ in self.config.objectives:
            metric.add_sample(
                self.full_name, {**labels, "quantile": go_float(quantile)}, _rank(values, quantile)
            )
        metric.add_sample(self.full_name + "_sum", labels, child.total)
        metric.add_sample(self.full_name + "_count", labels, child.count)


def _rank(values: Sequence[float], quantile: float) -> float:
    """Nearest-rank quantile of sorted ``values``; NaN when there are none (as Go reports)."""
    if not values:
        return math.nan
    index = max(0, math.ceil(quantile * len(values)) - 1)
    return values[min(index, len(values) - 1)]


class AppMetrics:
    """The application collectors by the name PHP uses (not the full exposed name)."""

    _log = Logger(namespace="rr.metrics")

    def __init__(self, registry: CollectorRegistry, clock: Callable[[], float]) -> None:
        self._registry = registry
        self._clock = clock
        self.collectors: dict[str, AppCollector] = {}

    def declare(self, name: str, config: CollectorConfig) -> bool:
        """Register a collector; False (and a warning) when ``name`` already exists.

        :raises MetricsError: the registry refused it (a clashing full name).
        """
        if name in self.collectors:
            self._log.warn(
                "metrics: collector {name} is already declared; keeping the existing one",
                name=name,
            )
            return False
        collector = AppCollector(name, config, self._clock)
        try:
            self._registry.register(collector)
        except ValueError as error:
            raise MetricsError(
                f"duplicate metrics collector registration attempted: {name} ({error})"
            ) from None
        self.collectors[name] = collector
        return True

    def declare_all(self, collectors: Iterable[tuple[str, CollectorConfig]]) -> None:
        """Declare the collectors of the ``collect`` config section."""
        for name, config in collectors:
            self.declare(name, config)

    def unregister(self, name: str) -> bool:
        """Remove a collector; False when the registry did not know it (legacy contract).

        :raises MetricsError: ``name`` is not a declared collector.
        """
        collector = self.get(name)
        del self.collectors[name]
        try:
            self._registry.unregister(collector)
        except KeyError:
            return False
        return True

    def get(self, name: str) -> AppCollector:
        """The collector called ``name``.

        :raises MetricsError: ``undefined collector: <name>``.
        """
        collector = self.collectors.get(name)
        if collector is None:
            raise MetricsError(f"undefined collector: {name}")
        return collector
