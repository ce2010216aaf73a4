# -*- test-case-name: tests.rpc.test_registry -*-
"""goridge RPC: the control port that ``rr reset``/``rr workers`` and PHP's RPC client use."""

from __future__ import annotations

from rr.rpc.registry import RPCHandler, RPCRegistry

__all__ = ["RPCHandler", "RPCRegistry"]
