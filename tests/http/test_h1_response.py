"""Response wire format helpers: status lines, Date, sniffing, framing (rr.http._response)."""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from rr.http import _response as wire

DATE = b"Date: X\r\n"


class StatusLineTests(SynchronousTestCase):
    """Status lines always say HTTP/1.1 and carry a reason phrase."""

    def test_known(self) -> None:
        """Known codes get their standard reason phrase."""
        self.assertEqual(wire.status_line(200), b"HTTP/1.1 200 OK\r\n")
        self.assertEqual(wire.status_line(103), b"HTTP/1.1 103 Early Hints\r\n")
        self.assertEqual(wire.status_line(404), b"HTTP/1.1 404 Not Found\r\n")

    def test_unknown(self) -> None:
        """Unregistered codes get Go's "status code <n>" text."""
        self.assertEqual(wire.status_line(299), b"HTTP/1.1 299 status code 299\r\n")


class DateCacheTests(SynchronousTestCase):
    """The Date line is an IMF-fixdate computed once per second."""

    def test_format_and_cache(self) -> None:
        """Same second: the same bytes object; next second: a new value."""
        clock = Clock()
        clock.advance(784111777.25)
        dates = wire.DateCache(clock)
        first = dates.line()
        self.assertEqual(first, b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n")
        clock.advance(0.5)
        self.assertIs(dates.line(), first)
        clock.advance(0.5)
        self.assertEqual(dates.line(), b"Date: Sun, 06 Nov 1994 08:49:38 GMT\r\n")


class SniffTests(SynchronousTestCase):
    """Content-Type sniffing for responses without one."""

    def test_html(self) -> None:
        """HTML tags (any case, after whitespace) followed by space or '>' mean HTML."""
        for body in (b"<!DOCTYPE html>", b"  \n<html lang=en>", b"<HEAD>", b"<body>x",
                     b"<p>hi", b"<!-- c -->"):
            self.assertEqual(wire.sniff_content_type(body), wire.HTML_UTF8, body)

    def test_not_html(self) -> None:
        """A tag-like prefix not followed by space or '>' is not HTML."""
        self.assertEqual(wire.sniff_content_type(b"<abc>"), wire.TEXT_UTF8)

    def test_xml(self) -> None:
        """An XML declaration means text/xml."""
        self.assertEqual(wire.sniff_content_type(b"<?xml version='1.0'?>"), wire.XML_UTF8)

    def test_text_and_binary(self) -> None:
        """UTF-8 without NUL is text; NUL or invalid UTF-8 is binary."""
        self.assertEqual(wire.sniff_content_type("héllo".encode()), wire.TEXT_UTF8)
        self.assertEqual(wire.sniff_content_type(b"a\x00b"), wire.OCTET_STREAM)
        self.assertEqual(wire.sniff_content_type(b"\xff\xfe"), wire.OCTET_STREAM)

    def test_character_cut_at_window(self) -> None:
        """A multi-byte character cut by the 512-byte window does not make it binary."""
        body = b"a" * 511 + "é".encode() + b"tail"
        self.assertEqual(wire.sniff_content_type(body), wire.TEXT_UTF8)


class RenderHeadTests(SynchronousTestCase):
    """Choosing the framing of a final response."""

    def render(self, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None,
               body: bytes = b"", **kw: bool) -> tuple[bytes, wire.BodyFraming]:
        options = {"final": True, "http11": True, "keep_alive": True, "head_request": False}
        options.update(kw)
        return wire.render_head(status, headers or [], [], body, DATE, **options)

    def test_regular(self) -> None:
        """A regular response gets Content-Length = body length."""
        data, framing = self.render(200, [(b"Content-Type", b"text/plain")], b"hi")
        self.assertEqual(
            data,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: X\r\n"
            b"Content-Length: 2\r\n\r\nhi",
        )
        self.assertFalse(framing.close)

    def test_streamed_chunked(self) -> None:
        """A streamed HTTP/1.1 response is chunked; chunk() and end() encode the rest."""
        data, framing = self.render(200, [(b"Content-Type", b"x/y")], b"ab", final=False)
        self.assertTrue(data.endswith(b"Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n"))
        self.assertEqual(framing.chunk(b""), b"")
        self.assertEqual(framing.chunk(b"x" * 17), b"11\r\n" + b"x" * 17 + b"\r\n")
        self.assertEqual(framing.end(b""), b"0\r\n\r\n")

    def test_streamed_http10(self) -> None:
        """A streamed HTTP/1.0 response is close-delimited."""
        data, framing = self.render(200, [(b"Content-Type", b"x/y")], b"ab", final=False,
                                    http11=False)
        self.assertNotIn(b"Transfer-Encoding", data)
        self.assertNotIn(b"Connection", data)
        self.assertTrue(framing.close)
        self.assertEqual(framing.end(b"cd"), b"cd")

    def test_length_truncates_excess(self) -> None:
        """Bytes past a declared Content-Length are not written."""
        data, framing = self.render(200, [(b"Content-Length", b"3"), (b"Content-Type", b"a/b")],
                                    b"abcdef")
        self.assertTrue(data.endswith(b"Content-Length: 3\r\n\r\nabc"))
        self.assertFalse(framing.close)

    def test_worker_framing_headers_replaced(self) -> None:
        """Worker Transfer-Encoding/Connection/Keep-Alive headers are not copied."""
        data, framing = self.render(
            200,
            [(b"Transfer-Encoding", b"chunked"), (b"Keep-Alive", b"timeout=5"),
             (b"Connection", b"keep-alive"), (b"Content-Type", b"a/b")],
            b"x",
        )
        self.assertNotIn(b"chunked", data)
        self.assertNotIn(b"Keep-Alive", data)
        self.assertNotIn(b"Connection", data)
        self.assertFalse(framing.close)

    def test_close_header(self) -> None:
        """A request that does not keep the connection alive gets Connection: close."""
        data, framing = self.render(204, keep_alive=False)
        self.assertEqual(data, b"HTTP/1.1 204 No Content\r\nDate: X\r\nConnection: close\r\n\r\n")
        self.assertTrue(framing.close)

    def test_204_drops_length(self) -> None:
        """204 never carries a Content-Length."""
        data, _ = self.render(204, [(b"Content-Length", b"5")], b"hello")
        self.assertEqual(data, b"HTTP/1.1 204 No Content\r\nDate: X\r\n\r\n")

    def test_trailers_force_chunked(self) -> None:
        """A regular response with trailers is chunked on HTTP/1.1."""
        data, _ = wire.render_head(200, [(b"Content-Type", b"a/b")], [(b"X-T", b"1")], b"ab",
                                   DATE, final=True, http11=True, keep_alive=True,
                                   head_request=False)
        self.assertTrue(data.endswith(b"\r\n\r\n2\r\nab\r\n0\r\nX-T: 1\r\n\r\n"))

    def test_trailers_dropped_for_http10(self) -> None:
        """HTTP/1.0 cannot carry trailers: a regular response keeps its Content-Length."""
        data, _ = wire.render_head(200, [(b"Content-Type", b"a/b")], [(b"X-T", b"1")], b"ab",
                                   DATE, final=True, http11=False, keep_alive=False,
                                   head_request=False)
        self.assertTrue(data.endswith(b"Content-Length: 2\r\n\r\nab"))
        self.assertNotIn(b"X-T", data)

    def test_abort(self) -> None:
        """abort() ends a chunked body, and closes a length- or EOF-delimited one."""
        _, chunked = self.render(200, [(b"Content-Type", b"a/b")], b"a", final=False)
        self.assertEqual(chunked.abort(), b"0\r\n\r\n")
        self.assertFalse(chunked.close)
        _, length = self.render(200, [(b"Content-Length", b"9")], b"a", final=False)
        self.assertEqual(length.abort(), b"")
        self.assertTrue(length.close)


class PlainTests(SynchronousTestCase):
    """The server's own plain-text responses."""

    def test_render_plain(self) -> None:
        """Plain responses carry text/plain, nosniff, a length and Connection: close."""
        self.assertEqual(
            wire.render_plain(413, "too big", DATE),
            b"HTTP/1.1 413 Request Entity Too Large\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n"
            b"Date: X\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big\n",
        )

    def test_interim(self) -> None:
        """Interim responses carry only their own headers."""
        self.assertEqual(wire.render_interim(103, [(b"Link", b"</a>")]),
                         b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")

    def test_last_chunk(self) -> None:
        """The terminating chunk carries trailers when there are some."""
        self.assertEqual(wire.last_chunk([]), b"0\r\n\r\n")
        self.assertEqual(wire.last_chunk([(b"A", b"1")]), b"0\r\nA: 1\r\n\r\n")
