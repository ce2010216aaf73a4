# -*- test-case-name: tests.http.test_mw_proxy_ip -*-
"""``proxy_ip_parser``: the client address from forwarding headers of trusted proxies.

Spec http.md §7 with the project's decision: ``X-Forwarded-For`` and the ``for=`` list of
``Forwarded`` are walked from the right, skipping addresses inside ``trusted_subnets``, and
the first untrusted valid IP wins (a client cannot spoof itself by writing the left-most
entry). Single-value headers (``X-Real-IP``, ``True-Client-IP``, ``CF-Connecting-IP``,
custom ones) are used when they hold a valid IP. Headers from an untrusted peer, or from
a peer that is not an IP (unix socket), are ignored.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rr.http.codec import RequestHead

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IP = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_HEADERS: Final = (
    "forwarded", "x-forwarded-for", "x-real-ip", "true-client-ip", "cf-connecting-ip",
)
_LISTS: Final = frozenset(("forwarded", "x-forwarded-for"))


def parse_ip(text: str) -> IP | None:
    """An IP from ``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``, ``"[::1]"`` or ``::1``."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _forwarded_for(value: str) -> list[str]:
    """Every ``for=`` value of a ``Forwarded`` header, left to right."""
    found = []
    for element in value.split(","):
        for pair in element.split(";"):
            key, eq, val = pair.partition("=")
            if eq and key.strip().lower() == "for":
                found.append(val.strip())
    return found


class ProxyIPMiddleware:
    """Rewrites ``remote_addr`` for requests that came through trusted proxies."""

    name = "proxy_ip_parser"

    def __init__(self, subnets: Sequence[str], headers: Sequence[str] = ()) -> None:
        self.subnets: tuple[Network, ...] = tuple(
            ipaddress.ip_network(cidr, strict=False) for cidr in subnets
        )
        names: list[str] = []
        for name in headers or DEFAULT_HEADERS:
            low = name.strip().lower()
            if low and low not in names:
                names.append(low)
        self.headers = tuple(names)

    def trusted(self, ip: IP) -> bool:
        """Whether ``ip`` is inside a trusted subnet."""
        return any(ip in net for net in self.subnets)

    def before(self, head: RequestHead) -> RequestHead:
        """Replace the peer address with the client's when the peer is a trusted proxy."""
        peer = parse_ip(head.remote_addr)
        if peer is None or not self.trusted(peer):
            return head
        for name in self.headers:
            values = [v for k, v in head.headers if k.lower() == name]
            if not values:
                continue
            client = self._client(name, values)
            if client is not None:
                return replace(head, remote_addr=str(client))
        return head

    def after(self, head: RequestHead, response: object) -> None:
        """Responses pass unchanged."""

    def _client(self, name: str, values: list[str]) -> IP | None:
        if name not in _LISTS:
            return parse_ip(values[-1])
        if name == "forwarded":
            entries = [e for v in values for e in _forwarded_for(v)]
        else:
            entries = [e for v in values for e in v.split(",")]
        candidates = [ip for ip in map(parse_ip, entries) if ip is not None]
        for ip in reversed(candidates):
            if not self.trusted(ip):
                return ip
        return candidates[0] if candidates else None
