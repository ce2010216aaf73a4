# -*- test-case-name: tests.config.test_exports -*-
"""RoadRunner ``.rr.yaml`` configuration: loading, validation and typed sections.

``load`` is the entry point; it returns a frozen ``RRConfig`` (see ``rr.config._schema``) or
raises one ``ConfigError`` listing every problem by dotted path.
"""

from __future__ import annotations

from rr.config._endpoints import parse_host_port, to_endpoint
from rr.config._loader import load, load_dict
from rr.config._values import parse_duration

__all__ = ["load", "load_dict", "parse_duration", "parse_host_port", "to_endpoint"]
