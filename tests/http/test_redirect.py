"""``http.ssl.redirect``: every plain request gets a 308 to HTTPS with HSTS, under the same deadlines."""

from __future__ import annotations

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from rr.config._schema import HTTPLimitsConfig
from rr.http.redirect import RedirectFactory, location


@pytest.mark.parametrize(
    ("host", "target", "port", "expected"),
    [
        ("example.com", "/a/b?x=1&y=2", 443, "https://example.com/a/b?x=1&y=2"),
        ("example.com:8080", "/", 8443, "https://example.com:8443/"),
        ("[::1]:8080", "/p", 8443, "https://[::1]:8443/p"),
        ("::1", "/p", 443, "https://[::1]/p"),
        ("example.com", "http://other.org/abs?q", 443, "https://example.com/abs?q"),
        ("example.com", "*", 443, "https://example.com/"),
        ("", "/x", 443, "https://10.0.0.5/x"),
        ("evil.com/@x", "/x", 443, "https://10.0.0.5/x"),
        ("a.b:notaport", "/x", 443, "https://10.0.0.5/x"),
    ],
)
def test_location(host: str, target: str, port: int, expected: str) -> None:
    """Host without its port, the SSL port unless 443, path and query kept; a bad Host falls back."""
    assert location(host, target, port, "10.0.0.5") == expected


class Conn:
    def __init__(self, **limits: float) -> None:
        self.clock = Clock()
        values = {"read_header_timeout": 10.0, "read_body_timeout": 20.0, "idle_timeout": 30.0}
        values.update(limits)
        factory = RedirectFactory(self.clock, 8443, HTTPLimitsConfig(**values))  # type: ignore[arg-type]
        self.proto = factory.buildProtocol(None)
        self.transport = StringTransport(hostAddress=IPv4Address("TCP", "127.0.0.1", 8080))
        self.proto.makeConnection(self.transport)

    def send(self, data: bytes) -> bytes:
        self.transport.clear()
        self.proto.dataReceived(data)
        return self.transport.value()

    @property
    def closed(self) -> bool:
        return bool(self.transport.disconnecting)


class RedirectProtocolTests(SynchronousTestCase):
    """The protocol on the plain port."""

    def test_redirect_keeps_alive(self) -> None:
        """A GET gets 308, Location, HSTS and an empty body; the connection stays open."""
        conn = Conn()
        out = conn.send(b"GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n")
        head = out.decode()
        self.assertTrue(head.startswith("HTTP/1.1 308 Permanent Redirect\r\n"))
        self.assertIn("\r\nLocation: https://example.com:8443/a?b=1\r\n", head)
        self.assertIn(
            "\r\nStrict-Transport-Security: max-age=31536000; includeSubDomains; preload\r\n", head
        )
        self.assertIn("\r\nContent-Length: 0\r\n", head)
        self.assertTrue(head.endswith("\r\n\r\n"))
        self.assertFalse(conn.closed)
        second = conn.send(b"POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc")
        self.assertIn(b"Location: https://h:8443/form\r\n", second)

    def test_http10_closes(self) -> None:
        """Without keep-alive the answer says Connection: close and the socket closes."""
        conn = Conn()
        out = conn.send(b"GET / HTTP/1.0\r\n\r\n")
        self.assertIn(b"Location: https://127.0.0.1:8443/\r\n", out)
        self.assertIn(b"Connection: close\r\n", out)
        self.assertTrue(conn.closed)

    def test_upgrade_gets_redirect(self) -> None:
        """An Upgrade request (h2c, websocket) is redirected too, then the connection closes."""
        conn = Conn()
        out = conn.send(
            b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        )
        self.assertIn(b"308 Permanent Redirect", out)
        self.assertTrue(conn.closed)

    def test_garbage_is_400(self) -> None:
        """A malformed request gets 400 and is closed."""
        conn = Conn()
        out = conn.send(b"\x00\x01 nonsense\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 Bad Request"))
        self.assertTrue(conn.closed)

    def test_header_size_cap(self) -> None:
        """A head larger than max_header_size gets 431."""
        conn = Conn(max_header_size=100)
        out = conn.send(b"GET / HTTP/1.1\r\nX: " + b"a" * 200)
        self.assertTrue(out.startswith(b"HTTP/1.1 431"))
        self.assertTrue(conn.closed)

    def test_header_deadline_is_absolute(self) -> None:
        """Trickled head bytes do not extend read_header_timeout."""
        conn = Conn()
        for byte in b"GET / HTTP/1.1\r\n":
            conn.send(bytes([byte]))
            conn.clock.advance(1)
            if conn.closed:
                break
        self.assertTrue(conn.closed)

    def test_idle_timeout(self) -> None:
        """A kept-alive connection that stays silent is closed after idle_timeout."""
        conn = Conn()
        conn.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        conn.clock.advance(29)
        self.assertFalse(conn.closed)
        conn.clock.advance(2)
        self.assertTrue(conn.closed)

    def test_connection_lost_cancels_timer(self) -> None:
        """No timer is left behind once the client leaves."""
        conn = Conn()
        conn.proto.connectionLost()
        self.assertEqual(conn.clock.getDelayedCalls(), [])
