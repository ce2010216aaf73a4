"""``headers`` middleware: request/response headers and CORS (spec http.md §12.2)."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from rr.config._values import Section
from rr.http.middleware import Response
from rr.http.middleware.headers import HeadersMiddleware
from tests.http.mw_helpers import make_head


def build(**node: Any) -> HeadersMiddleware:
    problems: list[tuple[str, str]] = []
    middleware = HeadersMiddleware.from_section(Section(node, "http.headers", problems))
    assert not problems, problems
    return middleware


def preflight(origin: str | None, method: str = "POST", wanted: str = "") -> Any:
    headers = [("Access-Control-Request-Method", method)]
    if origin is not None:
        headers.append(("Origin", origin))
    if wanted:
        headers.append(("Access-Control-Request-Headers", wanted))
    return make_head(method="OPTIONS", headers=headers)


class PlainHeadersTests(SynchronousTestCase):
    """request and response maps."""

    def test_request_headers_appended(self) -> None:
        """Configured request headers are added, existing values kept."""
        mw = build(request={"x-a": "1"})
        head = mw.before(make_head(headers=[("X-A", "0")]))
        assert not isinstance(head, Response)
        self.assertEqual([v for k, v in head.headers if k.lower() == "x-a"], ["0", "1"])

    def test_response_headers_first(self) -> None:
        """Configured response headers come first; worker headers of the same name stay."""
        mw = build(response={"x-frame-options": "DENY"})
        response = Response(200, [(b"X-Frame-Options", b"SAMEORIGIN")])
        mw.after(make_head(), response)
        self.assertEqual(response.headers,
                         [(b"X-Frame-Options", b"DENY"), (b"X-Frame-Options", b"SAMEORIGIN")])


class CORSTests(SynchronousTestCase):
    """Preflights answered without a worker; actual requests get the CORS headers."""

    def test_preflight_allowed(self) -> None:
        """An allowed preflight echoes origin, method and headers, with max age."""
        mw = build(cors={"allowed_origin": "https://*.example.com", "max_age": 600,
                         "allow_credentials": True, "allowed_headers": "content-type, x-a"},
                   response={"x-r": "1"})
        answer = mw.before(preflight("https://app.example.com", "POST", "Content-Type, X-A"))
        assert isinstance(answer, Response)
        self.assertEqual(answer.status, 200)
        self.assertEqual(answer.body, b"")
        headers = dict(answer.headers)
        self.assertEqual(headers[b"X-R"], b"1")
        self.assertEqual(headers[b"Access-Control-Allow-Origin"], b"https://app.example.com")
        self.assertEqual(headers[b"Access-Control-Allow-Methods"], b"POST")
        self.assertEqual(headers[b"Access-Control-Allow-Headers"], b"Content-Type, X-A")
        self.assertEqual(headers[b"Access-Control-Allow-Credentials"], b"true")
        self.assertEqual(headers[b"Access-Control-Max-Age"], b"600")
        self.assertEqual(
            headers[b"Vary"],
            b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        )

    def test_preflight_refused(self) -> None:
        """Bad origin, method or header: answered with only Vary."""
        mw = build(cors={"allowed_origin": "https://ok.test"})
        for head in (preflight("https://evil.test"), preflight("https://ok.test", "PUT"),
                     preflight("https://ok.test", "GET", "X-Secret"), preflight(None)):
            answer = mw.before(head)
            assert isinstance(answer, Response)
            self.assertEqual([k for k, _ in answer.headers], [b"Vary"])

    def test_any_origin_star(self) -> None:
        """With no allowed_origin, every origin is allowed and answered with *."""
        mw = build(cors={"options_success_status": 204})
        answer = mw.before(preflight("https://x.test", "GET"))
        assert isinstance(answer, Response)
        self.assertEqual(answer.status, 204)
        self.assertIn((b"Access-Control-Allow-Origin", b"*"), answer.headers)

    def test_regex(self) -> None:
        """allowed_origin_regex replaces the list."""
        mw = build(cors={"allowed_origin": "https://a.test",
                         "allowed_origin_regex": r"^https://\w+\.b\.test$"})
        cors = mw.cors
        assert cors is not None
        self.assertTrue(cors.origin_allowed("https://x.b.test"))
        self.assertFalse(cors.origin_allowed("https://a.test"))

    def test_options_without_request_method_reaches_php(self) -> None:
        """OPTIONS without Access-Control-Request-Method is an ordinary request."""
        mw = build(cors={})
        self.assertNotIsInstance(mw.before(make_head(method="OPTIONS")), Response)

    def test_actual_request(self) -> None:
        """Actual requests get Vary: Origin, and the allow/expose headers when allowed."""
        mw = build(cors={"allowed_origin": "https://ok.test", "exposed_headers": "x-total"})
        response = Response(200, [(b"Content-Type", b"text/plain")])
        mw.after(make_head(headers=[("Origin", "https://ok.test")]), response)
        self.assertEqual(response.headers, [
            (b"Vary", b"Origin"),
            (b"Access-Control-Allow-Origin", b"https://ok.test"),
            (b"Access-Control-Expose-Headers", b"X-Total"),
            (b"Content-Type", b"text/plain"),
        ])
        refused = Response(200)
        mw.after(make_head(headers=[("Origin", "https://evil.test")]), refused)
        self.assertEqual(refused.headers, [(b"Vary", b"Origin")])
