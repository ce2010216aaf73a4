"""``gzip`` middleware (spec http.md §12.3)."""

from __future__ import annotations

import gzip as gz
import zlib

from twisted.trial.unittest import SynchronousTestCase

from rr.http.middleware import FileBody, Response
from rr.http.middleware.gzip import GzipMiddleware, accepts_gzip, compressible
from tests.http.mw_helpers import make_head

BIG = b"hello world " * 200
ACCEPT = [("Accept-Encoding", "gzip, deflate")]


def run(response: Response, method: str = "GET",
        headers: list[tuple[str, str]] | None = None) -> Response:
    GzipMiddleware().after(make_head(method=method, headers=ACCEPT if headers is None
                                     else headers), response)
    return response


class GzipTests(SynchronousTestCase):
    """When a response is compressed, and how."""

    def test_compresses(self) -> None:
        """A large text body is gzipped; Content-Length and Accept-Ranges are dropped."""
        response = run(Response(200, [(b"Content-Type", b"text/plain"),
                                      (b"Content-Length", b"2400"), (b"Accept-Ranges", b"b")],
                                BIG))
        assert response.body is not None
        self.assertEqual(gz.decompress(response.body), BIG)
        self.assertEqual(response.get(b"Content-Encoding"), b"gzip")
        self.assertIsNone(response.get(b"Content-Length"))
        self.assertIsNone(response.get(b"Accept-Ranges"))
        self.assertEqual(response.get(b"Vary"), b"Accept-Encoding")

    def test_not_compressed(self) -> None:
        """Small, HEAD, 204/206/304, already encoded, media types, not accepted: untouched."""
        cases = [
            (Response(200, [], b"small"), "GET", ACCEPT),
            (Response(200, [], BIG), "HEAD", ACCEPT),
            (Response(206, [], BIG), "GET", ACCEPT),
            (Response(304, [], b""), "GET", ACCEPT),
            (Response(200, [(b"Content-Encoding", b"br")], BIG), "GET", ACCEPT),
            (Response(200, [(b"Content-Type", b"image/jpeg")], BIG), "GET", ACCEPT),
            (Response(200, [(b"Content-Type", b"application/zip")], BIG), "GET", ACCEPT),
            (Response(200, [], BIG), "GET", [("Accept-Encoding", "gzip;q=0, br")]),
            (Response(200, [], BIG), "GET", []),
        ]
        for response, method, headers in cases:
            before = response.body
            run(response, method, headers)
            self.assertEqual(response.body, before)
            self.assertNotEqual(response.get(b"Content-Encoding"), b"gzip")
            self.assertIn((b"Vary", b"Accept-Encoding"), response.headers)

    def test_marker_header(self) -> None:
        """No-Gzip-Compression disables compression and is removed."""
        response = run(Response(200, [(b"No-Gzip-Compression", b"1")], BIG))
        self.assertEqual(response.body, BIG)
        self.assertIsNone(response.get(b"No-Gzip-Compression"))

    def test_sniffs_type(self) -> None:
        """Without Content-Type one is sniffed and set."""
        response = run(Response(200, [], BIG))
        self.assertEqual(response.get(b"Content-Type"), b"text/plain; charset=utf-8")

    def test_stream_gets_encoder(self) -> None:
        """A streamed body gets an encoder whose pieces decode as they arrive."""
        response = run(Response(200, [(b"Content-Type", b"text/event-stream")], None))
        encoder = response.encoder
        assert encoder is not None
        d = zlib.decompressobj(31)
        self.assertEqual(d.decompress(encoder.encode(b"data: 1\n\n")), b"data: 1\n\n")
        d.decompress(encoder.finish())
        self.assertTrue(d.eof)

    def test_file_gets_encoder(self) -> None:
        """A file body (static, sendfile) is compressed through an encoder."""
        response = run(Response(200, [], None, FileBody("/x", 0, 5000)))
        self.assertIsNotNone(response.encoder)

    def test_accept_encoding(self) -> None:
        """q-values, x-gzip and * are understood."""
        self.assertTrue(accepts_gzip(["br;q=1.0, gzip;q=0.5"]))
        self.assertTrue(accepts_gzip(["*"]))
        self.assertTrue(accepts_gzip(["x-gzip"]))
        self.assertFalse(accepts_gzip(["*, gzip;q=0"]))
        self.assertFalse(accepts_gzip(["deflate"]))
        self.assertFalse(accepts_gzip(["gzip;q=bad"]))

    def test_compressible(self) -> None:
        """Already-compressed media types are skipped."""
        self.assertTrue(compressible(b"application/json"))
        self.assertFalse(compressible(b"video/mp4"))
        self.assertFalse(compressible(b"application/x-7z-compressed"))
