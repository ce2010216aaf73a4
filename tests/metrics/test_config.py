"""The ``metrics`` config section and the collector rules shared with ``metrics.Declare``."""

from __future__ import annotations

import pytest

from rr.config import load_dict
from rr.config._metrics import full_name, parse_collector
from rr.config._schema import CollectorConfig
from rr.errors import ConfigError


def test_absent_section_disables_metrics() -> None:
    """Without a ``metrics`` section the plugin is off."""
    assert load_dict({"version": "3"}).metrics is None


def test_defaults_and_collectors() -> None:
    """An empty section listens on 127.0.0.1:2112; every ``collect`` key becomes a collector."""
    config = load_dict(
        {
            "version": "3",
            "metrics": {
                "collect": {
                    "app_requests": {"type": "counter", "help": "Handled", "labels": ["type"]},
                    "app_latency": {
                        "type": "histogram",
                        "namespace": "app",
                        "subsystem": "http",
                        "buckets": [0.1, 0.2, 0.5, 1],
                    },
                    "app_sizes": {"type": "summary", "objectives": {0.5: 0.05, "0.9": 0.01}},
                }
            },
        }
    )
    assert config.metrics is not None
    assert config.metrics.address == "127.0.0.1:2112"
    collect = config.metrics.collect
    assert collect["app_requests"] == CollectorConfig(
        type="counter", help="Handled", labels=("type",)
    )
    assert collect["app_latency"].buckets == (0.1, 0.2, 0.5, 1.0)
    assert full_name("app_latency", collect["app_latency"]) == "app_http_app_latency"
    assert collect["app_sizes"].objectives == ((0.5, 0.05), (0.9, 0.01))


def test_dotted_objective_keys_from_yaml(tmp_path: object) -> None:
    """YAML ``{0.5: 0.05}`` keys survive the loader's dotted-key handling."""
    from rr.config import load  # noqa: PLC0415

    path = tmp_path / ".rr.yaml"  # type: ignore[operator]
    path.write_text(
        "version: '3'\nmetrics:\n  collect:\n    s:\n      type: summary\n"
        "      objectives: {0.5: 0.05, 0.99: 0.001}\n"
    )
    config = load(str(path))
    assert config.metrics is not None
    assert config.metrics.collect["s"].objectives == ((0.5, 0.05), (0.99, 0.001))


def test_every_bad_collector_is_reported() -> None:
    """A bad type, label, bucket order or name each give a problem with its path."""
    with pytest.raises(ConfigError) as caught:
        load_dict(
            {
                "version": "3",
                "metrics": {
                    "address": "nowhere",
                    "collect": {
                        "a": {"type": "meter"},
                        "b": {"type": "gauge", "labels": ["ok", "__bad"]},
                        "c": {"type": "histogram", "buckets": [1, 0.5]},
                        "d-e": {"type": "gauge"},
                    },
                },
            }
        )
    text = str(caught.value)
    assert "metrics.collect.a.type: invalid metric type `meter` for `a`" in text
    assert "metrics.collect.b.labels: invalid label name '__bad'" in text
    assert "metrics.collect.c.buckets: buckets must be in increasing order" in text
    assert "invalid metric name 'd-e'" in text
    assert "metrics.address" in text


def test_parse_collector_is_case_insensitive() -> None:
    """Declare's collector map is read case-insensitively, like Go's JSON decoder."""
    config = parse_collector("x", {"Type": "gauge", "HELP": "h", "Labels": ["a"]}, "collector")
    assert config == CollectorConfig(type="gauge", help="h", labels=("a",))
    with pytest.raises(ConfigError):
        parse_collector("x", ["not", "a", "map"], "collector")
