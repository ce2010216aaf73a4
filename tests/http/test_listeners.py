"""Which listeners the http section opens: plain, redirect-only, TLS, and ACME's startup error."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest
import trustme
from twisted.internet.protocol import Factory
from twisted.internet.testing import MemoryReactorClock

from rr.config._schema import ACMEConfig, HTTPConfig, SSLConfig
from rr.errors import ConfigError
from rr.http.listeners import ACME_UNAVAILABLE, http_listeners, ssl_port
from rr.http.redirect import RedirectFactory
from rr.http.tls import TLSServerEndpoint

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def ssl(tmp_path: Path) -> SSLConfig:
    leaf = trustme.CA().issue_cert("localhost")
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "c.pem"))
    leaf.private_key_pem.write_to_path(str(tmp_path / "k.pem"))
    return SSLConfig(
        address="127.0.0.1:8443", cert=str(tmp_path / "c.pem"), key=str(tmp_path / "k.pem")
    )


def test_plain_only() -> None:
    """Without ssl the factory listens on http.address."""
    factory = Factory()
    listeners = http_listeners(MemoryReactorClock(), HTTPConfig(address="127.0.0.1:8080"), factory)
    assert listeners == [("tcp:8080:interface=127.0.0.1", factory)]


def test_plain_and_tls(ssl: SSLConfig) -> None:
    """With ssl the same factory also listens through TLS on http.ssl.address."""
    factory = Factory()
    (plain, tls) = http_listeners(
        MemoryReactorClock(), HTTPConfig(address=":8080", ssl=ssl), factory
    )
    assert plain == ("tcp:8080:interface=0.0.0.0", factory)
    assert isinstance(tls[0], TLSServerEndpoint)
    assert tls[1] is factory


def test_tls_only(ssl: SSLConfig) -> None:
    """An empty http.address with ssl serves HTTPS alone."""
    ((endpoint, _),) = http_listeners(MemoryReactorClock(), HTTPConfig(ssl=ssl), Factory())
    assert isinstance(endpoint, TLSServerEndpoint)


def test_tls_listen_wraps_factory(ssl: SSLConfig) -> None:
    """Listening through the TLS endpoint binds the inner TCP endpoint with a TLS wrapper."""
    reactor = MemoryReactorClock()
    ((endpoint, factory),) = http_listeners(reactor, HTTPConfig(ssl=ssl), Factory())
    assert isinstance(endpoint, TLSServerEndpoint)
    endpoint.listen(factory)
    (port, wrapper, _, interface) = reactor.tcpServers[0]
    assert (port, interface) == (8443, "127.0.0.1")
    assert wrapper.wrappedFactory is factory


def test_redirect(ssl: SSLConfig) -> None:
    """redirect: true puts the redirect-only factory on the plain port, aimed at the SSL port."""
    config = HTTPConfig(address=":8080", ssl=dataclasses.replace(ssl, redirect=True))
    (plain, _) = http_listeners(MemoryReactorClock(), config, Factory())
    assert isinstance(plain[1], RedirectFactory)
    assert plain[1].ssl_port == 8443


def test_ssl_port() -> None:
    """The redirect port comes from http.ssl.address; 443 for a non-TCP address."""
    assert ssl_port(SSLConfig(address=":9443")) == 9443
    assert ssl_port(SSLConfig(address="unix:///tmp/x.sock")) == 443


def test_acme_is_a_startup_error() -> None:
    """ACME is refused with a message pointing at certbot."""
    config = HTTPConfig(
        address=":8080", ssl=SSLConfig(acme=ACMEConfig(email="a@b", domains=("x",)))
    )
    with pytest.raises(ConfigError) as info:
        http_listeners(MemoryReactorClock(), config, Factory())
    assert info.value.problems == [("http.ssl.acme", ACME_UNAVAILABLE)]
    assert "certbot" in ACME_UNAVAILABLE


def test_bad_files_fail_before_listening(tmp_path: Path) -> None:
    """Unusable TLS files raise ConfigError while building the listeners."""
    config = HTTPConfig(ssl=SSLConfig(cert=str(tmp_path / "x"), key=str(tmp_path / "y")))
    with pytest.raises(ConfigError, match=r"http\.ssl\.cert"):
        http_listeners(MemoryReactorClock(), config, Factory())
