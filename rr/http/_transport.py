# -*- test-case-name: tests.http.test_tls -*-
"""Facts about a connection's transport that front ends need, without importing pyOpenSSL."""

from __future__ import annotations

from twisted.internet.interfaces import INegotiated


def is_tls(transport: object) -> bool:
    """Whether a protocol's transport is a TLS connection (its requests get ``https`` URIs)."""
    return INegotiated.providedBy(transport)
