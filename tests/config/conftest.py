"""Shared fixtures for the config tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from twisted.logger import ILogObserver, LogEvent, LogLevel, formatEvent, globalLogPublisher
from zope.interface import implementer

if TYPE_CHECKING:
    from collections.abc import Iterator


@implementer(ILogObserver)
class CapturedLog:
    """Events logged through twisted.logger while a test runs."""

    def __init__(self) -> None:
        self.events: list[LogEvent] = []

    def __call__(self, event: LogEvent) -> None:
        self.events.append(event)

    def messages(self, level: LogLevel | None = None) -> list[str]:
        """Rendered messages, optionally only those at ``level``."""
        return [
            formatEvent(event)
            for event in self.events
            if level is None or event.get("log_level") == level
        ]


@pytest.fixture
def captured_log() -> Iterator[CapturedLog]:
    captured = CapturedLog()
    globalLogPublisher.addObserver(captured)
    try:
        yield captured
    finally:
        globalLogPublisher.removeObserver(captured)
