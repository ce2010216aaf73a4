"""TLS context for ``http.ssl``: file errors name the key, TLS >= 1.2, ALPN from the factory, mTLS modes."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
import trustme
from OpenSSL import SSL
from twisted.internet.interfaces import IProtocolNegotiationFactory
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.internet.task import Clock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.test.iosim import connectedServerAndClient
from zope.interface import implementer

from rr.config._schema import SSLConfig
from rr.errors import ConfigError
from rr.http._transport import is_tls
from rr.http.tls import ServerTLS, build_context

if TYPE_CHECKING:
    from collections.abc import Sequence

NOW = 1_800_000_000.0  # 2027-01-15, inside trustme's validity window


@dataclasses.dataclass
class Files:
    ca: trustme.CA
    cert: str
    key: str
    ca_pem: str
    tmp: Path

    def config(self, **kw: Any) -> SSLConfig:
        return SSLConfig(cert=self.cert, key=self.key, **kw)


@pytest.fixture
def files(tmp_path: Path) -> Files:
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    cert, key, ca_pem = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    for extra in leaf.cert_chain_pems[1:]:
        extra.write_to_path(str(cert), append=True)
    ca.cert_pem.write_to_path(str(ca_pem))
    return Files(ca, str(cert), str(key), str(ca_pem), tmp_path)


def problems(config: SSLConfig) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        build_context(config, NOW)
    return dict(info.value.problems)


# --- file errors ---------------------------------------------------------------------------------


def test_missing_files_are_all_reported(tmp_path: Path) -> None:
    """Missing cert and key are reported together, each under its dotted key."""
    found = problems(SSLConfig(cert=str(tmp_path / "no.crt"), key=str(tmp_path / "no.key")))
    assert sorted(found) == ["http.ssl.cert", "http.ssl.key"]
    assert "No such file" in found["http.ssl.cert"]


def test_garbage_cert_and_key(files: Files) -> None:
    """Files that are not PEM are named as such."""
    junk = files.tmp / "junk.pem"
    junk.write_text("hello\n")
    bad_cert = problems(SSLConfig(cert=str(junk), key=files.key))
    assert "no valid PEM certificate" in bad_cert["http.ssl.cert"]
    bad_key = problems(SSLConfig(cert=files.cert, key=str(junk)))
    assert "not a valid PEM private key" in bad_key["http.ssl.key"]


def test_mismatched_key(files: Files) -> None:
    """A key of another certificate is refused with both paths in the message."""
    other = files.tmp / "other.key"
    files.ca.issue_cert("example.org").private_key_pem.write_to_path(str(other))
    found = problems(SSLConfig(cert=files.cert, key=str(other)))
    assert list(found) == ["http.ssl.key"]
    assert "does not match the certificate" in found["http.ssl.key"]


def test_encrypted_key(files: Files) -> None:
    """An encrypted key gets a hint instead of an OpenSSL passphrase prompt."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    key = serialization.load_pem_private_key(Path(files.key).read_bytes(), password=None)
    locked = files.tmp / "locked.key"
    locked.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    assert "encrypted" in problems(SSLConfig(cert=files.cert, key=str(locked)))["http.ssl.key"]


def test_bad_root_ca(files: Files) -> None:
    """An unreadable or non-PEM root_ca is a startup error naming http.ssl.root_ca."""
    junk = files.tmp / "junk.pem"
    junk.write_text("not a CA\n")
    assert list(problems(files.config(root_ca=str(junk)))) == ["http.ssl.root_ca"]
    assert list(problems(files.config(root_ca=str(files.tmp / "nope.pem")))) == ["http.ssl.root_ca"]


def test_expired_certificate_only_warns(files: Files) -> None:
    """An expired certificate still loads (clients decide); the operator gets a warning."""
    build_context(files.config(), 4_000_000_000.0)


# --- handshakes (pyOpenSSL memory BIOs, no sockets) ----------------------------------------------


@implementer(IProtocolNegotiationFactory)
class Negotiating(Factory):
    protocol = Protocol

    def acceptableProtocols(self) -> Sequence[bytes]:
        return [b"h2", b"http/1.1"]


def handshake(
    server_ctx: SSL.Context, client_ctx: SSL.Context
) -> tuple[SSL.Connection, SSL.Connection]:
    """Run a TLS handshake in memory; raises the SSL.Error of the side that failed."""
    server = SSL.Connection(server_ctx, None)
    server.set_app_data(SimpleNamespace(factory=SimpleNamespace(wrappedFactory=Factory())))
    server.set_accept_state()
    client = SSL.Connection(client_ctx, None)
    client.set_connect_state()
    done = {"server": False, "client": False}
    for _ in range(20):
        for name, conn, peer in (("client", client, server), ("server", server, client)):
            if not done[name]:
                try:
                    conn.do_handshake()
                    done[name] = True
                except SSL.WantReadError:
                    pass
            with contextlib.suppress(SSL.WantReadError):
                peer.bio_write(conn.bio_read(65536))
        if all(done.values()):
            # TLS 1.3: the server may still reject the client's certificate after the client is done
            client.send(b"x")
            server.bio_write(client.bio_read(65536))
            server.recv(1)
            return server, client
    raise AssertionError("handshake did not finish")


def client_context(
    files: Files, *, cert: trustme.LeafCert | None = None, **versions: int
) -> SSL.Context:
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.load_verify_locations(files.ca_pem)
    ctx.set_verify(SSL.VERIFY_PEER)
    if "max" in versions:
        ctx.set_min_proto_version(versions["min"])
        ctx.set_max_proto_version(versions["max"])
        ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
    if cert is not None:
        ctx.use_certificate_chain_file(_write(files, "client.pem", cert.cert_chain_pems[0].bytes()))
        ctx.use_privatekey_file(_write(files, "client.key", cert.private_key_pem.bytes()))
    return ctx


def _write(files: Files, name: str, data: bytes) -> str:
    path = files.tmp / name
    path.write_bytes(data)
    return str(path)


def test_tls12_and_13_accepted_tls11_refused(files: Files) -> None:
    """The server speaks TLS 1.2 and 1.3 only."""
    ctx = build_context(files.config(), NOW)
    _, client = handshake(ctx, client_context(files))
    assert client.get_protocol_version_name() == "TLSv1.3"
    _, client = handshake(
        ctx, client_context(files, min=SSL.TLS1_2_VERSION, max=SSL.TLS1_2_VERSION)
    )
    assert client.get_protocol_version_name() == "TLSv1.2"
    assert client.get_cipher_name().startswith("ECDHE-")
    with pytest.raises(SSL.Error, match="protocol"):
        handshake(ctx, client_context(files, min=SSL.TLS1_VERSION, max=SSL.TLS1_1_VERSION))


def test_no_compression_and_no_renegotiation(files: Files) -> None:
    """Compression and renegotiation are off."""
    ctx = build_context(files.config(), NOW)
    options = ctx.set_options(0)
    assert options & SSL.OP_NO_COMPRESSION
    assert options & SSL.OP_NO_RENEGOTIATION


def mtls(files: Files, auth: str, cert: trustme.LeafCert | None) -> None:
    ctx = build_context(files.config(root_ca=files.ca_pem, client_auth_type=auth), NOW)  # type: ignore[arg-type]
    handshake(ctx, client_context(files, cert=cert))


@pytest.mark.parametrize(
    ("auth", "none_ok", "foreign_ok"),
    [
        ("no_client_certs", True, True),
        ("request_client_cert", True, True),
        ("require_any_client_cert", False, True),
        ("verify_client_cert_if_given", True, False),
        ("require_and_verify_client_cert", False, False),
    ],
)
def test_client_auth_types(files: Files, auth: str, none_ok: bool, foreign_ok: bool) -> None:
    """Each client_auth_type accepts or refuses no certificate and a certificate of another CA."""
    good = files.ca.issue_cert("client@example.com")
    foreign = trustme.CA().issue_cert("intruder@example.com")
    mtls(files, auth, good)  # a certificate of root_ca always passes
    for cert, ok in ((None, none_ok), (foreign, foreign_ok)):
        if ok:
            mtls(files, auth, cert)
        else:
            with pytest.raises(SSL.Error):
                mtls(files, auth, cert)


# --- through Twisted's TLS wrapper ---------------------------------------------------------------


def _alpn(files: Files, server_factory: Factory) -> tuple[object, object]:
    ctx = build_context(files.config(), NOW)
    clock = Clock()
    server = TLSMemoryBIOFactory(ServerTLS(ctx), False, server_factory, clock=clock)  # noqa: FBT003
    options = optionsForClientTLS(
        "localhost",
        trustRoot=Certificate.loadPEM(Path(files.ca_pem).read_bytes()),
        acceptableProtocols=[b"h2", b"http/1.1"],
    )
    client = TLSMemoryBIOFactory(options, True, Factory.forProtocol(Protocol), clock=clock)  # noqa: FBT003
    client_proto, server_proto, pump = connectedServerAndClient(
        lambda: server.buildProtocol(None), lambda: client.buildProtocol(None), clock=clock
    )
    pump.flush()
    assert is_tls(server_proto)
    return server_proto.negotiatedProtocol, client_proto.negotiatedProtocol


def test_alpn_comes_from_the_factory(files: Files) -> None:
    """A factory providing IProtocolNegotiationFactory gets its first choice (h2)."""
    assert _alpn(files, Negotiating()) == (b"h2", b"h2")


def test_no_alpn_without_negotiation_factory(files: Files) -> None:
    """A plain factory negotiates nothing; the connection still works (HTTP/1.1)."""
    assert _alpn(files, Factory.forProtocol(Protocol)) == (None, None)


def test_is_tls_false_for_plain_transports() -> None:
    """A plain TCP-like transport is not TLS."""
    from twisted.internet.testing import StringTransport  # noqa: PLC0415

    assert not is_tls(StringTransport())
