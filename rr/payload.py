# -*- test-case-name: tests.goridge.test_frame -*-
"""The unit of work exchanged with a worker: a context, a body and the frame's codec byte."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Payload:
    """One request to, or one response frame from, a worker.

    :ivar context: the context ("header") part, e.g. the HTTP request context.
    :ivar body: the body part.
    :ivar codec: the frame's flags byte (``0x80`` proto, ``0x08`` JSON, ``0x04`` raw, 0 none).
    :ivar stream: on a response, True when more frames of the same streamed response follow.
    """

    context: bytes
    body: bytes
    codec: int = 0
    stream: bool = False
