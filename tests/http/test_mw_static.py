"""``static`` middleware (spec http.md §12.4, plus the project's safety rules)."""

from __future__ import annotations

import os
from email.utils import formatdate
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from rr.http.middleware import FileBody, Response
from rr.http.middleware.static import ETAG_MAX_SIZE, StaticMiddleware, crc32_koopman, parse_range
from tests.http.mw_helpers import make_head, temp_dir

MTIME = 784111777


class StaticTests(SynchronousTestCase):
    """Which requests are served from disk, and with which headers."""

    def setUp(self) -> None:
        self.root = temp_dir(self)
        (self.root / "css").mkdir(parents=True)
        for name, data in {"css/style.css": b"body{}", "index.php": b"<?php", ".env": b"x",
                           "big.bin": b"0123456789", "empty.txt": b""}.items():
            path = self.root / name
            path.write_bytes(data)
            os.utime(path, (MTIME, MTIME))
        outside = temp_dir(self)
        (outside / "secret.txt").write_bytes(b"secret")
        (self.root / "link.txt").symlink_to((outside / "secret.txt").resolve())

    def serve(self, target: str, method: str = "GET", headers: list[tuple[str, str]] | None = None,
              **options: Any) -> Any:
        return StaticMiddleware(str(self.root), **options).before(
            make_head(target, method, headers))

    def test_serves_file(self) -> None:
        """An existing file is answered with type, length, Last-Modified, Accept-Ranges."""
        answer = self.serve("/css/style.css?v=1")
        assert isinstance(answer, Response)
        self.assertEqual(answer.status, 200)
        headers = dict(answer.headers)
        self.assertEqual(headers[b"Content-Type"], b"text/css; charset=utf-8")
        self.assertEqual(headers[b"Content-Length"], b"6")
        self.assertEqual(headers[b"Accept-Ranges"], b"bytes")
        self.assertEqual(headers[b"Last-Modified"], b"Sun, 06 Nov 1994 08:49:37 GMT")
        self.assertEqual(answer.file, FileBody(str((self.root / "css/style.css").resolve()), 0, 6))

    def test_never_served(self) -> None:
        """PHP files, dotfiles, missing files, dirs and extensionless paths go to PHP."""
        for target in ("/index.php", "/INDEX.PHP", "/.env", "/missing.css", "/css", "/"):
            self.assertNotIsInstance(self.serve(target, allow=frozenset({".php"})), Response)

    def test_forbid_allow(self) -> None:
        """forbid wins; a non-empty allow list limits the served extensions."""
        self.assertNotIsInstance(self.serve("/css/style.css", forbid=frozenset({".css"})),
                                 Response)
        self.assertNotIsInstance(self.serve("/css/style.css", allow=frozenset({".js"})),
                                 Response)

    def test_traversal_refused(self) -> None:
        """Any .. (also encoded) gives 403, as does a symlink leaving the dir."""
        for target in ("/../etc/passwd", "/css/%2e%2e/x.css", "/a..b.css", "/link.txt"):
            answer = self.serve(target)
            assert isinstance(answer, Response), target
            self.assertEqual(answer.status, 403)

    def test_etag_vectors(self) -> None:
        """Strong ETag = size-CRC of the content, weak = CRC of the name (spec vectors)."""
        self.assertEqual(crc32_koopman(b"body{}"), 4112014896)
        strong = self.serve("/css/style.css", calculate_etag=True)
        self.assertIn((b"ETag", b'"6-4112014896"'), strong.headers)
        weak = self.serve("/css/style.css", calculate_etag=True, weak=True)
        self.assertIn((b"ETag", b'W/"3301492019"'), weak.headers)
        empty = self.serve("/empty.txt", calculate_etag=True)
        self.assertNotIn(b"ETag", dict(empty.headers))

    def test_large_file_etag(self) -> None:
        """Files above ETAG_MAX_SIZE get a size-mtime tag, so they are not read to tag them."""
        path = self.root / "huge.bin"
        path.write_bytes(b"x" * (ETAG_MAX_SIZE + 1))
        answer = self.serve("/huge.bin", calculate_etag=True)
        tag = b'"%d-%d"' % (ETAG_MAX_SIZE + 1, path.stat().st_mtime_ns)
        self.assertIn((b"ETag", tag), answer.headers)

    def test_conditional(self) -> None:
        """If-None-Match / If-Modified-Since give 304; If-Match failure gives 412."""
        etag = '"6-4112014896"'
        cases = [
            ([("If-None-Match", etag)], "GET", 304),
            ([("If-None-Match", "W/" + etag)], "GET", 304),
            ([("If-None-Match", '"other"')], "GET", 200),
            ([("If-None-Match", etag)], "POST", 412),
            ([("If-Modified-Since", formatdate(MTIME, usegmt=True))], "GET", 304),
            ([("If-Modified-Since", formatdate(MTIME - 10, usegmt=True))], "GET", 200),
            ([("If-Match", '"other"')], "GET", 412),
            ([("If-Unmodified-Since", formatdate(MTIME - 10, usegmt=True))], "GET", 412),
        ]
        for headers, method, status in cases:
            answer = self.serve("/css/style.css", method, headers, calculate_etag=True)
            self.assertEqual(answer.status, status, headers)

    def test_range(self) -> None:
        """One range gives 206 with Content-Range; unsatisfiable gives 416."""
        answer = self.serve("/big.bin", headers=[("Range", "bytes=2-4")])
        self.assertEqual(answer.status, 206)
        self.assertIn((b"Content-Range", b"bytes 2-4/10"), answer.headers)
        self.assertEqual((answer.file.offset, answer.file.length), (2, 3))
        self.assertEqual(self.serve("/big.bin", headers=[("Range", "bytes=20-")]).status, 416)
        self.assertEqual(self.serve("/big.bin", headers=[("Range", "bytes=1-2,4-5")]).status, 200)

    def test_if_range(self) -> None:
        """A stale If-Range turns the range request into a full 200."""
        stale = [("Range", "bytes=0-1"), ("If-Range", '"old"')]
        self.assertEqual(self.serve("/big.bin", headers=stale, calculate_etag=True).status, 200)
        fresh = [("Range", "bytes=0-1"), ("If-Range", formatdate(MTIME, usegmt=True))]
        self.assertEqual(self.serve("/big.bin", headers=fresh).status, 206)

    def test_parse_range(self) -> None:
        """bytes=a-b, a-, -n; bad syntax is ignored."""
        self.assertEqual(parse_range("bytes=0-", 10), (0, 10))
        self.assertEqual(parse_range("bytes=-3", 10), (7, 3))
        self.assertEqual(parse_range("bytes=5-100", 10), (5, 5))
        self.assertEqual(parse_range("bytes=-0", 10), (-1, 0))
        self.assertIsNone(parse_range("items=0-1", 10))
        self.assertIsNone(parse_range("bytes=x-1", 10))
        self.assertIsNone(parse_range("bytes=5-1", 10))

    def test_configured_headers(self) -> None:
        """static.response headers are set on files; static.request feeds conditionals."""
        answer = self.serve("/big.bin", response=[(b"Cache-Control", b"max-age=60")],
                            request=[(b"Range", b"bytes=0-0")])
        self.assertIn((b"Cache-Control", b"max-age=60"), answer.headers)
        self.assertEqual(answer.status, 206)
