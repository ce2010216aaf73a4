"""``proxy_ip_parser``: client address from trusted proxies (spec http.md §7, decision)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from rr.http.middleware.proxy_ip import ProxyIPMiddleware, parse_ip
from tests.http.mw_helpers import make_head

TRUSTED = ("10.0.0.0/8", "192.168.0.0/16", "::1/128")


def client(header: str, value: str, peer: str = "10.0.0.7", names: tuple[str, ...] = ()) -> str:
    mw = ProxyIPMiddleware(TRUSTED, names)
    return mw.before(make_head(headers=[(header, value)], remote_addr=peer)).remote_addr


class ProxyIPTests(SynchronousTestCase):
    """Which address the worker sees."""

    def test_xff_right_to_left(self) -> None:
        """X-Forwarded-For: the right-most untrusted entry wins (spoofed left part ignored)."""
        self.assertEqual(client("X-Forwarded-For", "6.6.6.6, 1.2.3.4, 192.168.1.1"), "1.2.3.4")

    def test_xff_all_trusted(self) -> None:
        """When every entry is trusted, the left-most one is used."""
        self.assertEqual(client("X-Forwarded-For", "10.1.1.1, 192.168.1.1"), "10.1.1.1")

    def test_xff_garbage_ignored(self) -> None:
        """Entries that are not IPs are skipped."""
        self.assertEqual(client("X-Forwarded-For", "1.2.3.4, unknown"), "1.2.3.4")
        self.assertEqual(client("X-Forwarded-For", "nope"), "10.0.0.7")

    def test_untrusted_peer(self) -> None:
        """Forwarding headers from an untrusted peer change nothing."""
        self.assertEqual(client("X-Forwarded-For", "1.2.3.4", peer="8.8.8.8"), "8.8.8.8")
        self.assertEqual(client("X-Real-IP", "1.2.3.4", peer="8.8.8.8"), "8.8.8.8")

    def test_forwarded(self) -> None:
        """Forwarded: for= values, quoted, bracketed, with ports."""
        self.assertEqual(
            client("Forwarded", 'for=6.6.6.6, for="[2001:db8::1]:4711";proto=https'),
            "2001:db8::1",
        )

    def test_single_value_headers(self) -> None:
        """X-Real-IP, True-Client-IP, CF-Connecting-IP are used when they are IPs."""
        for name in ("X-Real-IP", "True-Client-IP", "CF-Connecting-IP"):
            self.assertEqual(client(name, "5.6.7.8"), "5.6.7.8")
        self.assertEqual(client("X-Real-IP", "not-an-ip"), "10.0.0.7")

    def test_header_order(self) -> None:
        """Forwarded comes before X-Forwarded-For by default; trusted_headers reorders."""
        mw = ProxyIPMiddleware(TRUSTED)
        head = make_head(headers=[("X-Forwarded-For", "1.1.1.1"), ("Forwarded", "for=2.2.2.2")])
        self.assertEqual(mw.before(head).remote_addr, "2.2.2.2")
        custom = ProxyIPMiddleware(TRUSTED, [" X-Forwarded-For ", "", "forwarded"])
        self.assertEqual(custom.before(head).remote_addr, "1.1.1.1")

    def test_unix_peer(self) -> None:
        """A peer that is not an IP (unix socket) is left alone."""
        self.assertEqual(client("X-Real-IP", "1.2.3.4", peer="@"), "@")

    def test_parse_ip(self) -> None:
        """Ports, brackets and quotes are stripped."""
        self.assertEqual(str(parse_ip("1.2.3.4:80")), "1.2.3.4")
        self.assertEqual(str(parse_ip('"[::1]:80"')), "::1")
        self.assertEqual(str(parse_ip("::1")), "::1")
        self.assertIsNone(parse_ip("example.com"))
