"""The RPC method table."""

from __future__ import annotations

import pytest

from rr.errors import RPCError
from rr.rpc import RPCRegistry


def test_lookup_returns_registered_handler() -> None:
    """A registered method is found by its exact name."""
    registry = RPCRegistry()

    def handler(params: object, codec: int) -> object:
        return params

    registry.register("informer.List", handler)
    assert registry.lookup("informer.List") is handler
    assert registry.methods() == ["informer.List"]


def test_unknown_service_and_method_are_rpc_errors() -> None:
    """Unknown services and unknown methods of a known service get distinct messages."""
    registry = RPCRegistry()
    registry.register("informer.List", lambda p, c: p)
    with pytest.raises(RPCError, match=r"can't find service nope\.Call"):
        registry.lookup("nope.Call")
    with pytest.raises(RPCError, match=r"can't find method informer\.Nope"):
        registry.lookup("informer.Nope")


def test_registering_twice_is_refused() -> None:
    """Two plugins cannot claim the same method name."""
    registry = RPCRegistry()
    registry.register("a.B", lambda p, c: p)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a.B", lambda p, c: p)
