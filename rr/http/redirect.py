# -*- test-case-name: tests.http.test_redirect -*-
"""``http.ssl.redirect``: the plain listener answers every request with a redirect to HTTPS.

RoadRunner replaces the whole handler chain on the plain port (no PHP, no middleware) and
answers ``308 Permanent Redirect`` to ``https://<host>[:<ssl port>]<path>[?<query>]`` with an
HSTS header (spec http.md §10.1). A tiny protocol on httptools does that here, with the same
header deadline, idle timeout and header size cap as the real HTTP/1.1 server, so the plain
port cannot be used to hold connections open forever. Bodies are read and discarded.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser
from twisted.internet.protocol import Factory, Protocol, connectionDone
from typing_extensions import override

from rr.http._response import DateCache

if TYPE_CHECKING:
    from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
    from twisted.python.failure import Failure

    from rr.config._schema import HTTPLimitsConfig

HSTS = b"Strict-Transport-Security: max-age=31536000; includeSubDomains; preload\r\n"
_HOSTNAME = re.compile(r"[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\]")
_PORT = re.compile(r":[0-9]*")


def _host_only(host: str) -> str:
    """``Host`` without its port; IPv6 literals stay bracketed; "" when it is not a host."""
    if host.startswith("["):
        end = host.find("]") + 1
        name, rest = host[:end], host[end:]
    elif host.count(":") > 1:  # an unbracketed IPv6 literal
        name, rest = f"[{host}]", ""
    else:
        name, _, port = host.partition(":")
        rest = ":" + port if ":" in host else ""
    if not _HOSTNAME.fullmatch(name) or (rest and not _PORT.fullmatch(rest)):
        return ""
    return name


def location(host: str, target: str, ssl_port: int, fallback_host: str) -> str:
    """The ``Location`` of the redirect for one request.

    :param host: the request's ``Host`` header ("" when missing).
    :param target: the request-target as received (origin or absolute form).
    :param ssl_port: the port of ``http.ssl.address``; omitted from the URL when 443.
    :param fallback_host: the address the client connected to, used without a usable Host.
    """
    name = _host_only(host) or _host_only(fallback_host) or "localhost"
    if target.startswith("/"):
        path, _, query = target.partition("?")
    else:  # absolute-form ("http://h/p?q"), or "*" / authority-form: no path
        parts = urlsplit(target)
        path, query = (parts.path, parts.query) if parts.scheme else ("/", "")
    port = "" if ssl_port == 443 else f":{ssl_port}"  # noqa: PLR2004 - the https default
    url = f"https://{name}{port}{path or '/'}"
    if query:
        url += "?" + query
    return url


class RedirectProtocol(Protocol):
    """One plain-HTTP connection that only ever gets redirects to HTTPS."""

    def __init__(self, factory: RedirectFactory) -> None:
        self._factory = factory
        self._parser = HttpRequestParser(self)
        self._url = b""
        self._host = ""
        self._head_bytes = 0
        self._in_head = True
        self._closed = False
        self._timer: IDelayedCall | None = None

    # -- Twisted ----------------------------------------------------------------------------

    @override
    def connectionMade(self) -> None:
        self._arm(self._factory.limits.read_header_timeout)

    @override
    def dataReceived(self, data: bytes) -> None:
        if self._closed:
            return
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self._factory.limits.max_header_size:
                self._fail(b"431 Request Header Fields Too Large")
                return
        try:
            self._parser.feed_data(data)
        except HttpParserUpgrade:
            self._respond(keep_alive=False)  # no protocol switch on a redirect-only port
        except HttpParserError:
            self._fail(b"400 Bad Request")

    @override
    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._closed = True
        self._cancel()

    # -- httptools callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        """A new request starts: its head must arrive within the header deadline."""
        self._url = b""
        self._host = ""
        self._in_head = True
        self._head_bytes = 0
        self._arm(self._factory.limits.read_header_timeout)

    def on_url(self, url: bytes) -> None:
        """Collect the request-target."""
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        """Keep the first ``Host``."""
        if name.lower() == b"host" and not self._host:
            self._host = value.decode("latin-1").strip()

    def on_headers_complete(self) -> None:
        """The body (if any) is discarded but must arrive in time."""
        self._in_head = False
        self._arm(self._factory.limits.read_body_timeout)

    def on_message_complete(self) -> None:
        """Answer the redirect."""
        self._respond(keep_alive=self._parser.should_keep_alive())

    # -- internals --------------------------------------------------------------------------

    def _respond(self, *, keep_alive: bool) -> None:
        if self._closed or self.transport is None:
            return
        local = self.transport.getHost()
        fallback = str(getattr(local, "host", ""))
        url = location(self._host, self._url.decode("latin-1"), self._factory.ssl_port, fallback)
        lines = [
            b"HTTP/1.1 308 Permanent Redirect\r\n",
            b"Location: " + url.encode("latin-1") + b"\r\n",
            HSTS,
            self._factory.dates.line(),
            b"Content-Length: 0\r\n",
        ]
        if not keep_alive:
            lines.append(b"Connection: close\r\n")
        self.transport.write(b"".join([*lines, b"\r\n"]))
        if keep_alive:
            self._arm(self._factory.limits.idle_timeout)
        else:
            self._close()

    def _fail(self, status: bytes) -> None:
        if self.transport is not None:
            self.transport.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        self._close()

    def _close(self) -> None:
        self._closed = True
        self._cancel()
        if self.transport is not None:
            self.transport.loseConnection()

    def _arm(self, delay: float) -> None:
        self._cancel()
        if delay > 0:
            self._timer = self._factory.reactor.callLater(delay, self._timeout)

    def _cancel(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _timeout(self) -> None:
        self._timer = None
        self._close()


class RedirectFactory(Factory):
    """Builds :class:`RedirectProtocol` connections for the plain ``http.address``."""

    noisy = False

    def __init__(self, reactor: IReactorTime, ssl_port: int, limits: HTTPLimitsConfig) -> None:
        self.reactor = reactor
        self.ssl_port = ssl_port
        self.limits = limits
        self.dates = DateCache(reactor)

    @override
    def buildProtocol(self, addr: IAddress | None) -> RedirectProtocol:
        protocol = RedirectProtocol(self)
        protocol.factory = self
        return protocol
