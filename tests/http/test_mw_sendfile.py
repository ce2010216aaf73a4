"""``sendfile`` middleware: X-Sendfile from the worker, confined to the allowed roots."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from rr.http.middleware import FileBody, Response
from rr.http.middleware.sendfile import SendfileMiddleware
from tests.http.mw_helpers import make_head, temp_dir


class SendfileTests(SynchronousTestCase):
    """The worker's response is replaced by the file it names."""

    def setUp(self) -> None:
        self.cwd = temp_dir(self)
        (self.cwd / "storage").mkdir(parents=True)
        (self.cwd / "storage" / "report.pdf").write_bytes(b"%PDF-1.4 data")
        (self.cwd / "empty").write_bytes(b"")
        self.mw = SendfileMiddleware(str(self.cwd), [str(self.cwd)])

    def run_with(self, path: str, status: int = 201) -> Response:
        response = Response(status, [(b"X-Sendfile", path.encode()), (b"X-Kept", b"1"),
                                     (b"Content-Type", b"text/html"),
                                     (b"Content-Length", b"11")], b"worker body")
        self.mw.after(make_head(), response)
        return response

    def test_relative_path(self) -> None:
        """A relative path is resolved against the working directory; other headers kept."""
        response = self.run_with("storage/report.pdf")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.file,
                         FileBody(str(self.cwd / "storage" / "report.pdf"), 0, 13))
        self.assertEqual(response.headers, [(b"X-Kept", b"1"),
                                            (b"Content-Type", b"application/octet-stream"),
                                            (b"Content-Length", b"13")])

    def test_absolute_inside(self) -> None:
        """An absolute path inside the root is served."""
        response = self.run_with(str(self.cwd / "storage" / "report.pdf"))
        self.assertIsNotNone(response.file)

    def test_refused(self) -> None:
        """.. and paths outside the roots give 403; missing files 404 'not found'."""
        self.assertEqual(self.run_with("../x").status, 403)
        self.assertEqual(self.run_with("/etc/passwd").status, 403)
        missing = self.run_with("storage/nope.pdf")
        self.assertEqual((missing.status, missing.body), (404, b"not found"))
        self.assertEqual(self.run_with("storage").status, 404)
        self.assertIsNone(self.run_with("/etc/passwd").file)
        self.flushLoggedErrors()

    def test_empty_file(self) -> None:
        """An empty file is a 200 without body."""
        response = self.run_with("empty")
        self.assertEqual((response.status, response.file, response.body), (200, None, b""))

    def test_no_header(self) -> None:
        """Responses without X-Sendfile pass unchanged."""
        response = Response(200, [(b"X-A", b"1")], b"body")
        self.mw.after(make_head(), response)
        self.assertEqual(response, Response(200, [(b"X-A", b"1")], b"body"))
