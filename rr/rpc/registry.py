# -*- test-case-name: tests.rpc.test_registry -*-
"""The table of RPC methods: services add theirs at build time, the RPC server looks them up.

A method name is ``service.Method`` as RoadRunner spells it (``informer.Workers``,
``resetter.Reset``, ``metrics.Add``...). A handler gets the decoded parameters and the
codec flag of the request: for JSON and msgpack the decoded value, for proto and raw the
frame bytes (the handler parses its own protobuf message). It returns the reply value (bytes
for proto/raw), or a Deferred of it, and refuses a call by raising :class:`~rr.errors.RPCError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from rr.errors import RPCError

#: ``handler(params, codec_flag) -> reply | Deferred[reply]``
RPCHandler: TypeAlias = Callable[[Any, int], Any]


class RPCRegistry:
    """Method name -> handler; one per server, filled before the RPC port opens."""

    def __init__(self) -> None:
        self._methods: dict[str, RPCHandler] = {}

    def register(self, method: str, handler: RPCHandler) -> None:
        """Add ``method``; registering a name twice is a programming error."""
        if method in self._methods:
            raise ValueError(f"RPC method {method} is already registered")
        self._methods[method] = handler

    def lookup(self, method: str) -> RPCHandler:
        """Return the handler of ``method``, or raise RPCError as RoadRunner words it."""
        handler = self._methods.get(method)
        if handler is None:
            # Go's net/rpc wording, which the PHP SDK shows in its exceptions
            service = method.split(".", 1)[0] + "."
            known = any(m.startswith(service) for m in self._methods)
            raise RPCError(f"rpc: can't find {'method' if known else 'service'} {method}")
        return handler

    def methods(self) -> list[str]:
        """Every registered name, sorted (``rr`` lists plugins from these)."""
        return sorted(self._methods)
