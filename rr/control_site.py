# -*- test-case-name: tests.status.test_site -*-
"""Small twisted.web listeners for the control endpoints (``status.address``, ``metrics.address``).

They answer a probe or a scrape every few seconds, so twisted.web's Site is plenty (the
request path of the application never goes through here). The site writes no access log:
one line per Kubernetes probe would drown the real log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.logger import Logger
from twisted.web.server import Site
from typing_extensions import override

from rr.config._endpoints import to_endpoint
from rr.errors import BootError

if TYPE_CHECKING:
    from twisted.internet.interfaces import IListeningPort
    from twisted.web.http import Request as HTTPRequest
    from twisted.web.resource import IResource


class QuietSite(Site):
    """A Site without access log lines."""

    noisy = False

    @override
    def log(self, request: HTTPRequest) -> None:
        """Write nothing."""


_log = Logger(namespace="rr.control")


class ControlListener:
    """One control endpoint: opened with a resource, closed once.

    :param path: the config key of ``address`` (``status.address``), for errors and logs.
    :param timeout: seconds a connection may stay silent before it is closed.
    """

    def __init__(self, reactor: object, address: str, path: str, timeout: float) -> None:
        self._reactor = reactor
        self.address = address
        self.path = path
        self.timeout = timeout
        self.port: IListeningPort | None = None

    async def listen(self, resource: IResource) -> None:
        """Open the address serving ``resource``.

        :raises BootError: the address is taken or cannot be bound (names the config key).
        """
        site = QuietSite(resource, timeout=self.timeout, reactor=self._reactor)  # type: ignore[no-untyped-call]
        endpoint = serverFromString(self._reactor, to_endpoint(self.address, path=self.path))
        try:
            self.port = await endpoint.listen(site)
        except CannotListenError as error:
            raise BootError(f"{self.path} {self.address}: {error.socketError}") from None
        host = self.port.getHost()
        plugin = self.path.split(".", 1)[0]
        _log.info(
            "{plugin} server is listening on {address}",
            plugin=plugin,
            address=f"{getattr(host, 'host', '')}:{getattr(host, 'port', '')}",
            rr_channel=plugin,
        )

    def stop(self) -> Deferred[None]:
        """Close the listener (does nothing when it is not open)."""
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        port, self.port = self.port, None
        if port is not None:
            stopped = port.stopListening()
            if stopped is not None:
                await stopped
