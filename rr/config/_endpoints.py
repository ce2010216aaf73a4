# -*- test-case-name: tests.config.test_endpoints -*-
"""RoadRunner listen addresses become Twisted endpoint description strings.

RoadRunner configs say ``0.0.0.0:8080``, ``tcp://127.0.0.1:6001`` or ``unix:///run/rr.sock``;
Twisted listens through ``strports``/``serverFromString`` descriptions such as
``tcp:8080:interface=0.0.0.0``. Converting in one place keeps every listener consistent and
lets a config use a raw Twisted description (``systemd:domain=INET:index=0``) directly.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import TYPE_CHECKING

from twisted.internet.endpoints import quoteStringArgument

from rr.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

# Escape ":" and "\\" for endpoint descriptions (Twisted leaves it unannotated).
_quote: Callable[[str], str] = quoteStringArgument
_RAW_PREFIXES = ("tcp:", "tcp6:", "unix:", "ssl:", "systemd:")
_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?")


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6  # noqa: PLR2004
    except ValueError:
        return False


def _split_host_port(hostport: str, address: str) -> tuple[str, int]:
    """Split ``host:port`` / ``[v6]:port`` / ``:port`` as Go's ``net.SplitHostPort`` does."""
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise ValueError(f"missing ']' in address {address!r}")
        host, rest = hostport[1:close], hostport[close + 1 :]
        if not rest.startswith(":"):
            raise ValueError(f"missing port in address {address!r}")
        port_text = rest[1:]
        if not _is_ipv6(host):
            raise ValueError(f"invalid IPv6 address {host!r} in {address!r}")
    else:
        host, colon, port_text = hostport.rpartition(":")
        if not colon:
            raise ValueError(f"missing port in address {address!r} (expected host:port)")
        if ":" in host:
            raise ValueError(f"too many colons in address {address!r}; write IPv6 as [::1]:port")
        if host and not _is_ipv6(host) and not _HOSTNAME.fullmatch(host):
            raise ValueError(f"invalid host {host!r} in address {address!r}")
    if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:  # noqa: PLR2004
        raise ValueError(f"invalid port {port_text!r} in address {address!r}")
    return host, int(port_text)


def _tcp_endpoint(host: str, port: int) -> str:
    if _is_ipv6(host):
        return f"tcp6:{port}:interface={_quote(host)}"
    return f"tcp:{port}:interface={_quote(host or '0.0.0.0')}"  # noqa: S104


def _convert(address: str) -> str:
    if not address:
        raise ValueError("address should not be empty")
    if "://" in address:
        scheme, _, rest = address.partition("://")
        scheme = scheme.lower()
        if scheme == "tcp":
            return _tcp_endpoint(*_split_host_port(rest, address))
        if scheme == "unix":
            if not rest:
                raise ValueError(f"missing socket path in address {address!r}")
            path = os.path.abspath(os.path.join(os.getcwd(), rest))  # noqa: PTH100, PTH109, PTH118
            return "unix:" + _quote(path)
        raise ValueError(
            f"unsupported scheme {scheme!r} in address {address!r}: use tcp:// or unix://"
        )
    if address.startswith(_RAW_PREFIXES):
        return address
    return _tcp_endpoint(*_split_host_port(address, address))


def to_endpoint(address: str, *, path: str) -> str:
    r"""Convert a RoadRunner address to a Twisted server endpoint description.

    - ``0.0.0.0:8080``, ``tcp://127.0.0.1:6001``, ``:8080`` (all IPv4 interfaces) give
      ``tcp:PORT:interface=HOST``; ``[::1]:8080`` gives ``tcp6:8080:interface=\:\:1``.
    - ``unix:///run/rr.sock`` gives ``unix:/run/rr.sock``; a relative ``unix://rr.sock`` is
      resolved against the current working directory.
    - Raw Twisted descriptions (``tcp:``, ``tcp6:``, ``unix:``, ``ssl:``, ``systemd:``) pass
      through unchanged.

    :param path: the dotted config path of the address, named in errors.
    :raises ConfigError: when the address cannot be used.
    """
    try:
        return _convert(address)
    except ValueError as error:
        raise ConfigError([(path, str(error))]) from None


def parse_host_port(address: str, *, path: str = "") -> tuple[str, int]:
    """Return the host and port a client should dial for ``host:port`` or ``tcp://host:port``.

    An empty or unspecified host (``:6001``, ``0.0.0.0``, ``[::]``) means the local host, so it
    becomes ``127.0.0.1`` (``::1`` for IPv6), as the RoadRunner client dials it.

    :raises ConfigError: when the address is not a TCP ``host:port``.
    """
    rest = address
    if "://" in address:
        scheme, _, rest = address.partition("://")
        if scheme.lower() != "tcp":
            raise ConfigError([(path, f"expected a tcp:// address, got {address!r}")])
    try:
        host, port = _split_host_port(rest, address)
    except ValueError as error:
        raise ConfigError([(path, str(error))]) from None
    if host in ("", "0.0.0.0"):  # noqa: S104
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, port
