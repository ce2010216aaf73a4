# -*- test-case-name: tests.http.test_listeners -*-
"""Which sockets the ``http`` plugin listens on, and what each one serves.

Plain ``http.address`` serves the HTTP factory, or only redirects when ``http.ssl.redirect``
is set; ``http.ssl.address`` serves the same factory (same pool, same settings) through
TLS. Building the TLS context here, before any worker starts, turns a missing or mismatched
key into a startup error that names the config key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.endpoints import serverFromString

from rr.config._endpoints import parse_host_port, to_endpoint
from rr.errors import ConfigError
from rr.http.redirect import RedirectFactory

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime, IStreamServerEndpoint
    from twisted.internet.protocol import Factory

    from rr.config._schema import HTTPConfig, SSLConfig

ACME_UNAVAILABLE = (
    "ACME is not available in txrr yet (it needs outbound internet access to the ACME "
    "server); obtain a certificate with certbot (certbot certonly --standalone -d DOMAIN) "
    "and set http.ssl.cert and http.ssl.key to its fullchain.pem and privkey.pem"
)


def ssl_port(ssl: SSLConfig) -> int:
    """The TCP port of ``http.ssl.address`` (443 when it is not a TCP address)."""
    try:
        return parse_host_port(ssl.address, path="http.ssl.address")[1]
    except ConfigError:
        return 443


def http_listeners(
    reactor: IReactorTime, http: HTTPConfig, factory: Factory
) -> list[tuple[str | IStreamServerEndpoint, Factory]]:
    """Return ``(endpoint, factory)`` for every listener of the ``http`` section.

    An endpoint is a description string (for ``serverFromString``) or a built endpoint.

    :raises ConfigError: for ``http.ssl.acme`` and unusable TLS files.
    """
    listeners: list[tuple[str | IStreamServerEndpoint, Factory]] = []
    ssl = http.ssl
    if http.address:
        plain = to_endpoint(http.address, path="http.address")
        if ssl is not None and ssl.redirect:
            listeners.append((plain, RedirectFactory(reactor, ssl_port(ssl), http.limits)))
        else:
            listeners.append((plain, factory))
    if ssl is not None:
        if ssl.acme is not None:
            raise ConfigError([("http.ssl.acme", ACME_UNAVAILABLE)])
        # pyOpenSSL and cryptography cost ~15 MB of RSS: load them only when TLS is on
        from rr.http.tls import ServerTLS, TLSServerEndpoint, build_context  # noqa: PLC0415

        context = build_context(ssl, reactor.seconds())
        inner = serverFromString(reactor, to_endpoint(ssl.address, path="http.ssl.address"))
        listeners.append((TLSServerEndpoint(inner, ServerTLS(context), reactor), factory))
    return listeners
