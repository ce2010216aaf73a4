# -*- test-case-name: tests.http.test_tls -*-
"""``http.ssl`` becomes an OpenSSL server context and a TLS-wrapping listen endpoint.

Twisted's ``CertificateOptions`` cannot express three things this listener needs: the
"request but do not verify" client-certificate modes of RoadRunner's ``client_auth_type``,
``OP_NO_RENEGOTIATION``, and a CA file added to the system trust store; and a pyOpenSSL
context cannot be changed once it served a connection. So the context is built here, in one
place, and ALPN is wired the way Twisted does it: the protocols come from the wrapped factory
when it provides ``IProtocolNegotiationFactory`` (HTTP/2 offers ``h2`` that way).

Every file problem is a :class:`~rr.errors.ConfigError` naming ``http.ssl.cert``,
``http.ssl.key`` or ``http.ssl.root_ca``, raised at startup before any worker is spawned.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from OpenSSL import SSL
from twisted.internet.interfaces import (
    IOpenSSLServerConnectionCreator,
    IProtocolNegotiationFactory,
    IStreamServerEndpoint,
)
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory
from zope.interface import implementer

from rr.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IListeningPort, IProtocolFactory, IReactorTime
    from twisted.protocols.tls import TLSMemoryBIOProtocol

    from rr.config._schema import SSLConfig

_log = Logger()

#: Mozilla "intermediate" TLS 1.2 suites, limited to ECDHE with AEAD ciphers (spec http.md
#: §10.1); TLS 1.3 suites are OpenSSL's defaults, all of them AEAD.
CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)
_OPTIONS = (
    SSL.OP_NO_COMPRESSION
    | SSL.OP_NO_RENEGOTIATION
    | SSL.OP_SINGLE_ECDH_USE
    | SSL.OP_NO_SSLv2
    | SSL.OP_NO_SSLv3
    | SSL.OP_NO_TLSv1
    | SSL.OP_NO_TLSv1_1
)
# client_auth_type -> (OpenSSL verify mode, whether the chain must verify)
_CLIENT_AUTH: dict[str, tuple[int, bool]] = {
    "no_client_certs": (SSL.VERIFY_NONE, False),
    "request_client_cert": (SSL.VERIFY_PEER, False),
    "require_any_client_cert": (SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, False),
    "verify_client_cert_if_given": (SSL.VERIFY_PEER, True),
    "require_and_verify_client_cert": (SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, True),
}


def _read(path: str, key: str) -> bytes:
    if not path:
        raise ConfigError([(key, "a file path is required")])
    try:
        with open(path, "rb") as file:  # noqa: PTH123 - a plain read
            return file.read()
    except OSError as error:
        raise ConfigError([(key, f"cannot read {path!r}: {error.strerror or error}")]) from None


def _certificates(path: str, key: str) -> list[x509.Certificate]:
    data = _read(path, key)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise ConfigError([(key, f"{path!r} holds no valid PEM certificate ({error})")]) from None
    return certs


def _private_key(path: str) -> object:
    data = _read(path, "http.ssl.key")
    try:
        return load_pem_private_key(data, password=None)
    except TypeError:
        message = "the key is encrypted; decrypt it (openssl pkey -in KEY -out KEY.plain)"
    except (ValueError, UnsupportedAlgorithm) as error:
        message = f"not a valid PEM private key ({error})"
    raise ConfigError([("http.ssl.key", f"{path!r}: {message}")])


def _warn_expiry(cert: x509.Certificate, path: str, now: dt.datetime) -> None:
    if cert.not_valid_after_utc < now:
        _log.warn(
            "http.ssl.cert {path!r} expired on {date}; clients will refuse it",
            path=path,
            date=cert.not_valid_after_utc.isoformat(),
        )


def _alpn_select(connection: SSL.Connection, offered: list[bytes]) -> bytes | object:
    """Pick the first protocol of the wrapped factory's list that the client offered."""
    tls_protocol: TLSMemoryBIOProtocol = connection.get_app_data()
    wrapped = tls_protocol.factory.wrappedFactory if tls_protocol.factory else None
    negotiation = IProtocolNegotiationFactory(wrapped, None)
    ours: Sequence[bytes] = negotiation.acceptableProtocols() if negotiation is not None else ()
    for name in ours:
        if name in offered:
            return name
    return SSL.NO_OVERLAPPING_PROTOCOLS


def _accept_any(
    _connection: SSL.Connection, _cert: object, _errno: int, _depth: int, _ok: int
) -> bool:
    return True


def build_context(config: SSLConfig, now: float) -> SSL.Context:
    """Load and check the certificate, key and client CA of ``config``.

    :param now: ``reactor.seconds()``, to warn about an expired certificate.

    :raises ConfigError: naming every problem with ``http.ssl.cert``/``key``/``root_ca``.
    """
    problems: list[tuple[str, str]] = []
    chain: list[x509.Certificate] = []
    key: object = None
    try:
        chain = _certificates(config.cert, "http.ssl.cert")
    except ConfigError as error:
        problems.extend(error.problems)
    try:
        key = _private_key(config.key)
    except ConfigError as error:
        problems.extend(error.problems)
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.set_options(_OPTIONS)
    context.set_cipher_list(CIPHERS.encode("ascii"))
    context.set_session_id(b"txrr-http")
    if chain and key is not None:
        context.use_certificate(chain[0])
        for extra in chain[1:]:
            context.add_extra_chain_cert(extra)
        try:
            context.use_privatekey(key)  # type: ignore[arg-type]
            context.check_privatekey()
        except SSL.Error:
            problems.append(
                ("http.ssl.key", f"{config.key!r} does not match the certificate {config.cert!r}")
            )
        _warn_expiry(chain[0], config.cert, dt.datetime.fromtimestamp(now, dt.UTC))
    if config.root_ca:
        try:
            _client_verification(context, config)
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    context.set_alpn_select_callback(_alpn_select)  # type: ignore[arg-type]
    return context


def _client_verification(context: SSL.Context, config: SSLConfig) -> None:
    """Trust ``root_ca`` (on top of the system store) for client certificates (mTLS)."""
    authorities = _certificates(config.root_ca, "http.ssl.root_ca")
    context.set_default_verify_paths()
    try:
        context.load_verify_locations(os.fsencode(config.root_ca))
    except SSL.Error as error:
        raise ConfigError([("http.ssl.root_ca", f"{config.root_ca!r}: {error}")]) from None
    for authority in authorities:
        context.add_client_ca(authority)
    mode, verify = _CLIENT_AUTH[config.client_auth_type]
    context.set_verify(mode, None if verify else _accept_any)


@implementer(IOpenSSLServerConnectionCreator)
class ServerTLS:
    """Makes one server connection per accepted socket from a built context."""

    def __init__(self, context: SSL.Context) -> None:
        self.context = context

    def serverConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> SSL.Connection:  # noqa: N803
        """Twisted's hook: a fresh ``SSL.Connection`` on the shared context."""
        del tlsProtocol
        return SSL.Connection(self.context, None)


@implementer(IStreamServerEndpoint)
class TLSServerEndpoint:
    """Any stream server endpoint (tcp, tcp6, unix, systemd) with TLS on top."""

    def __init__(
        self, inner: IStreamServerEndpoint, creator: ServerTLS, reactor: IReactorTime
    ) -> None:
        self.inner = inner
        self.creator = creator
        self._reactor = reactor

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:  # noqa: N803
        """Listen on the inner endpoint, wrapping each connection in TLS."""
        wrapper = TLSMemoryBIOFactory(self.creator, False, protocolFactory, clock=self._reactor)  # noqa: FBT003
        return self.inner.listen(wrapper)
