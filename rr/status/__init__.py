# -*- test-case-name: tests.status.test_plugin -*-
"""Health and readiness: ``/health`` and ``/ready`` on ``status.address`` and ``status.*`` RPC."""

from __future__ import annotations

from rr.status._plugin import StatusPlugin, StatusResource
from rr.status._report import Checker, pool_checker, report

__all__ = ["Checker", "StatusPlugin", "StatusResource", "pool_checker", "report"]
