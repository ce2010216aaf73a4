"""The ``metrics.*`` RPC methods, called through the registry as the RPC server does."""

from __future__ import annotations

import math
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.testing import MemoryReactorClock

from rr.config._schema import CollectorConfig, MetricsConfig
from rr.errors import RPCError
from rr.goridge.frame import Flags
from rr.metrics import MetricsPlugin, render
from rr.rpc.registry import RPCRegistry

JSON = int(Flags.CODEC_JSON)


class Harness:
    """A metrics plugin with its RPC methods registered, on a fake clock."""

    def __init__(self, **collect: CollectorConfig) -> None:
        self.clock = MemoryReactorClock()
        self.plugin = MetricsPlugin(self.clock, MetricsConfig(collect=collect), list)
        self.plugin.app.declare_all(collect.items())
        self.rpc = RPCRegistry()
        self.plugin.register_rpc(self.rpc)

    def call(self, method: str, params: Any) -> Any:
        return self.rpc.lookup(f"metrics.{method}")(params, JSON)

    def scrape(self) -> dict[str, Any]:
        """Parse the exposition with prometheus_client's parser: name -> family."""
        text = render(self.plugin.registry).decode()
        return {family.name: family for family in text_string_to_metric_families(text)}

    def samples(self, name: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = render(self.plugin.registry).decode()
        out = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name.startswith(name):
                    out[s.name, tuple(sorted(s.labels.items()))] = s.value
        return out


def test_methods_are_registered() -> None:
    """The six methods of the PHP SDK are in the registry."""
    names = Harness().rpc.methods()
    for method in ("Add", "Sub", "Set", "Observe", "Declare", "Unregister"):
        assert f"metrics.{method}" in names


def test_declare_add_and_scrape_counter_keeps_go_name() -> None:
    """A counter declared as ``earned`` is exposed as ``earned`` (no ``_total``, no ``_created``)."""
    h = Harness()
    collector = {
        "namespace": "",
        "subsystem": "",
        "type": "counter",
        "help": "Money",
        "labels": ["currency"],
        "buckets": [],
    }
    assert h.call("Declare", {"name": "earned", "collector": collector}) is True
    assert h.call("Add", {"name": "earned", "value": 2, "labels": ["usd"]}) is True
    assert h.call("Add", {"Name": "earned", "Value": 0.5, "Labels": ["usd"]}) is True
    text = render(h.plugin.registry).decode()
    assert "# TYPE earned counter\n" in text
    assert 'earned{currency="usd"} 2.5\n' in text
    assert "_created" not in text
    # prometheus_client's parser accepts it (and renames the sample to its own convention)
    family = h.scrape()["earned"]
    assert family.type == "counter"
    assert [(s.labels, s.value) for s in family.samples] == [({"currency": "usd"}, 2.5)]


def test_gauge_add_sub_set() -> None:
    """Gauges take Add, Sub and Set."""
    h = Harness(temp=CollectorConfig(type="gauge"))
    h.call("Set", {"name": "temp", "value": 10})
    h.call("Sub", {"name": "temp", "value": 3})
    h.call("Add", {"name": "temp", "value": 1.5, "labels": []})
    assert h.samples("temp") == {("temp", ()): 8.5}


def test_histogram_observe_buckets() -> None:
    """Histogram observations land in cumulative buckets with Go's ``le`` values."""
    h = Harness(lat=CollectorConfig(type="histogram", namespace="app", buckets=(0.1, 1.0)))
    for value in (0.05, 0.5, 5):
        h.call("Observe", {"name": "lat", "value": value})
    family = h.scrape()["app_lat"]
    assert family.type == "histogram"
    values = {(s.name, s.labels.get("le")): s.value for s in family.samples}
    assert values[("app_lat_bucket", "0.1")] == 1
    assert values[("app_lat_bucket", "1")] == 2
    assert values[("app_lat_bucket", "+Inf")] == 3
    assert values[("app_lat_count", None)] == 3
    assert values[("app_lat_sum", None)] == pytest.approx(5.55)


def test_summary_quantiles_and_window() -> None:
    """A summary with objectives reports quantiles over the last 10 minutes; NaN when empty."""
    h = Harness(size=CollectorConfig(type="summary", objectives=((0.5, 0.05), (0.9, 0.01))))
    for value in range(1, 11):
        h.call("Observe", {"name": "size", "value": value})
    samples = h.samples("size")
    assert samples["size", (("quantile", "0.5"),)] == 5
    assert samples["size", (("quantile", "0.9"),)] == 9
    assert samples["size_count", ()] == 10
    h.clock.advance(601)
    samples = h.samples("size")
    assert math.isnan(samples["size", (("quantile", "0.5"),)])
    assert samples["size_sum", ()] == 55


def test_summary_without_objectives_declared_over_rpc() -> None:
    """The PHP SDK's ``Collector::summary()`` gives count and sum only."""
    h = Harness()
    h.call("Declare", {"name": "s", "collector": {"type": "summary", "labels": ["a"]}})
    h.call("Observe", {"name": "s", "value": 2, "labels": ["x"]})
    assert h.samples("s") == {("s_count", (("a", "x"),)): 1, ("s_sum", (("a", "x"),)): 2}


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("Add", {"name": "nope", "value": 1}, "undefined collector: nope"),
        ("Add", {"name": "c", "value": -1, "labels": ["a"]}, "counter cannot decrease in value: c"),
        ("Add", {"name": "c", "value": 1}, "required labels for collector: c"),
        ("Add", {"name": "c", "value": 1, "labels": ["a", "b"]}, "inconsistent label cardinality"),
        (
            "Set",
            {"name": "c", "value": 1, "labels": ["a"]},
            "collector does not support the requested operation: c does not support Set",
        ),
        ("Sub", {"name": "h", "value": 1}, "h does not support Sub"),
        ("Add", {"name": "h", "value": 1}, "h does not support Add"),
        ("Observe", {"name": "g", "value": 1}, "g does not support Observe"),
        ("Add", {"name": "g", "value": "1"}, "`value` must be a number"),
        ("Add", {"name": "g", "value": 1, "labels": {"a": "b"}}, "`labels` must be a list"),
        ("Add", ["g", 1], "expected a JSON object"),
        ("Declare", {"name": "x", "collector": {"type": "meter"}}, "unknown collector type: meter"),
        (
            "Declare",
            {"name": "x", "collector": {"type": "gauge", "labels": ["1a"]}},
            "invalid label name",
        ),
        (
            "Declare",
            {"name": "g2", "collector": {"type": "gauge", "namespace": "my"}},
            "duplicate metrics collector registration attempted",
        ),
        ("Unregister", "nope", "undefined collector: nope"),
        ("Unregister", {"name": "g"}, "expected the collector name as a JSON string"),
    ],
)
def test_errors(method: str, params: Any, message: str) -> None:
    """Refused calls raise RPCError with RoadRunner's words."""
    h = Harness(
        c=CollectorConfig(type="counter", labels=("l",)),
        h=CollectorConfig(type="histogram"),
        g=CollectorConfig(type="gauge"),
        my_g2=CollectorConfig(type="gauge"),
    )
    with pytest.raises(RPCError, match=message):
        h.call(method, params)


def test_declare_twice_keeps_the_first() -> None:
    """Declaring an existing name answers true and changes nothing."""
    h = Harness(g=CollectorConfig(type="gauge"))
    h.call("Set", {"name": "g", "value": 4})
    assert h.call("Declare", {"name": "g", "collector": {"type": "counter"}}) is True
    assert h.scrape()["g"].type == "gauge"
    assert h.samples("g") == {("g", ()): 4}


def test_unregister_removes_from_the_scrape() -> None:
    """After Unregister the collector is gone and the name can be declared again."""
    h = Harness(g=CollectorConfig(type="gauge"))
    h.call("Set", {"name": "g", "value": 1})
    assert h.call("Unregister", "g") is True
    assert "g" not in h.scrape()
    with pytest.raises(RPCError, match="undefined collector: g"):
        h.call("Set", {"name": "g", "value": 1})
    assert h.call("Declare", {"name": "g", "collector": {"type": "counter"}}) is True
