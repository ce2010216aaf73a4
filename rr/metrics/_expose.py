# -*- test-case-name: tests.metrics.test_expose -*-
"""The Prometheus text format (0.0.4) as RoadRunner's Go exporter writes it.

prometheus_client's ``generate_latest`` always names a counter family ``<name>_total`` and
adds ``_created`` series; Go does neither, and RoadRunner has counters without the suffix
(``rr_http_uptime_seconds``, counters PHP declares as ``app_requests``). This writer takes
the type line's name from the samples, drops ``_created``, and is otherwise the same format.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import Metric
    from prometheus_client.samples import Sample

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_SPECIAL = {"inf": "+Inf", "-inf": "-Inf", "0.0": "0", "-0.0": "-0"}
_TYPES = {"unknown": "untyped", "info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram"}
_GO_EXP_LIMIT = 6  # Go's 'g' format with shortest digits switches to an exponent at 1e+06


def go_float(value: float) -> str:
    """Format as Go's ``FormatFloat(v, 'g', -1, 64)``: ``2``, ``0.5``, ``1e+06``, ``+Inf``."""
    if not math.isfinite(value) or value == 0:
        return _SPECIAL.get(repr(float(value)), "NaN")
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    if not isinstance(exponent, int):  # pragma: no cover - finite by the check above
        return "NaN"
    text = "".join(map(str, digits))
    exp = len(digits) + exponent - 1
    minus = "-" if sign else ""
    if exp < -4 or exp >= _GO_EXP_LIMIT:  # noqa: PLR2004
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    point = len(text) + exponent
    if exponent >= 0:
        body = text + "0" * exponent
    elif point > 0:
        body = f"{text[:point]}.{text[point:]}"
    else:
        body = f"0.{'0' * -point}{text}"
    return minus + body


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _escape_value(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _family_name(metric: Metric) -> str:
    """The name on the HELP/TYPE lines: the one the samples carry."""
    if metric.type == "counter" and any(s.name == metric.name + "_total" for s in metric.samples):
        return metric.name + "_total"
    if metric.type == "info":
        return metric.name + "_info"
    return metric.name


def _label_value(key: str, value: str) -> str:
    """``le`` and ``quantile`` as Go prints them (prometheus_client writes ``60.0``)."""
    if key in ("le", "quantile"):
        try:
            return go_float(float(value))
        except ValueError:
            return value
    return value


def _sample_line(sample: Sample) -> str:
    labels = ""
    if sample.labels:
        labels = ",".join(
            f'{k}="{_escape_value(_label_value(k, v))}"' for k, v in sorted(sample.labels.items())
        )
        labels = "{" + labels + "}"
    return f"{sample.name}{labels} {go_float(sample.value)}\n"


def render(registry: CollectorRegistry) -> bytes:
    """Every family of ``registry`` with samples, in the text format, without ``_created``."""
    out: list[str] = []
    for metric in registry.collect():
        created = metric.name + "_created"
        samples = [s for s in metric.samples if s.name != created]
        if not samples:
            continue  # Go writes nothing for a vector without children
        name = _family_name(metric)
        out.append(f"# HELP {name} {_escape_help(metric.documentation)}\n")
        out.append(f"# TYPE {name} {_TYPES.get(metric.type, metric.type)}\n")
        out.extend(_sample_line(s) for s in samples)
    return "".join(out).encode("utf-8")
