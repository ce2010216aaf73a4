# -*- test-case-name: tests.metrics.test_plugin -*-
"""Prometheus metrics: RoadRunner's metric names, config-declared collectors, ``metrics.*`` RPC."""

from __future__ import annotations

from rr.metrics._app import AppCollector, AppMetrics, MetricsError
from rr.metrics._builtin import HTTPMetrics, PoolCollector
from rr.metrics._expose import render
from rr.metrics._plugin import MetricsPlugin, MetricsResource

__all__ = [
    "AppCollector",
    "AppMetrics",
    "HTTPMetrics",
    "MetricsError",
    "MetricsPlugin",
    "MetricsResource",
    "PoolCollector",
    "render",
]
