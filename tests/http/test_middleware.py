"""The middleware seam: chain order, answers from the chain, building from config."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

import rr.http.middleware as mw
from rr.config._schema import HTTPConfig
from rr.errors import ConfigError
from rr.http.middleware import Pipeline, Response, build_pipeline
from rr.http.middleware.gzip import GzipMiddleware
from rr.http.middleware.headers import HeadersMiddleware
from rr.http.middleware.proxy_ip import ProxyIPMiddleware
from rr.http.middleware.sendfile import SendfileMiddleware
from rr.http.middleware.static import StaticMiddleware
from tests.http.mw_helpers import make_head, temp_dir

if TYPE_CHECKING:
    from rr.http.codec import RequestHead


class Recorder:
    """A middleware that records the order it is called in."""

    def __init__(self, name: str, log: list[str], answer: bool = False) -> None:
        self.name = name
        self.log = log
        self.answer = answer

    def before(self, head: RequestHead) -> RequestHead | Response:
        self.log.append("in:" + self.name)
        if self.answer:
            return Response(204, [], b"")
        return replace(head, headers=[*head.headers, ("X-Seen", self.name)])

    def after(self, head: RequestHead, response: Response) -> None:
        self.log.append("out:" + self.name)
        response.headers.append((b"X-Out", self.name.encode()))


class PipelineTests(SynchronousTestCase):
    """RoadRunner's order: the request enters at the right-most entry."""

    def test_order(self) -> None:
        """[a, b, c]: requests pass c, b, a; responses pass a, b, c."""
        log: list[str] = []
        pipeline = Pipeline([Recorder(n, log) for n in "abc"])
        head, answer = pipeline.before(make_head())
        self.assertIsNone(answer)
        self.assertEqual([v for k, v in head.headers if k == "X-Seen"], ["c", "b", "a"])
        response = pipeline.after(head, Response(200))
        self.assertEqual(log, ["in:c", "in:b", "in:a", "out:a", "out:b", "out:c"])
        self.assertEqual([v for k, v in response.headers], [b"a", b"b", b"c"])

    def test_answer_passes_outer_entries_only(self) -> None:
        """An entry that answers skips the inner entries; the outer ones see the answer."""
        log: list[str] = []
        pipeline = Pipeline([Recorder("a", log), Recorder("b", log, answer=True),
                             Recorder("c", log)])
        _, answer = pipeline.before(make_head())
        assert answer is not None
        self.assertEqual(answer.status, 204)
        self.assertEqual(log, ["in:c", "in:b", "out:c"])

    def test_empty_is_false(self) -> None:
        """An empty chain is falsy, so front ends skip it entirely."""
        self.assertFalse(Pipeline([]))

    def test_exports(self) -> None:
        """The package lists its public names."""
        for name in mw.__all__:
            self.assertTrue(hasattr(mw, name), name)


class BuildTests(SynchronousTestCase):
    """build_pipeline reads http.middleware and the sections of each entry."""

    def test_all_known(self) -> None:
        """Every middleware is built in list order; unconfigured ones are skipped."""
        config = HTTPConfig(
            middleware=("sendfile", "static", "headers", "gzip", "proxy_ip_parser"),
            trusted_subnets=("10.0.0.0/8",),
        )
        raw = {"http": {"static": {"dir": "."}, "headers": {"response": {"x-a": "1"}}}}
        pipeline = build_pipeline(config, raw, cwd="/srv")
        self.assertEqual(
            [type(m) for m in pipeline.chain],
            [SendfileMiddleware, StaticMiddleware, HeadersMiddleware, GzipMiddleware,
             ProxyIPMiddleware],
        )

    def test_unknown_and_unconfigured_skipped(self) -> None:
        """Unknown names, headers without a section and proxy_ip_parser without subnets
        are skipped with a warning, not an error."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        config = HTTPConfig(middleware=("nope", "headers", "proxy_ip_parser", "otel"))
        self.assertFalse(build_pipeline(config, {"http": {}}))
        self.assertEqual(len([e for e in events if "skipped" in e["log_format"]]), 4)

    def test_static_dir_missing(self) -> None:
        """A static dir that does not exist is a config error naming the key."""
        config = HTTPConfig(middleware=("static",))
        with self.assertRaises(ConfigError) as caught:
            build_pipeline(config, {"http": {"static": {"dir": "/no/such/dir"}}})
        self.assertIn("http.static.dir", str(caught.exception))

    def test_sendfile_roots(self) -> None:
        """sendfile is confined to the working directory plus the static dir."""
        root = temp_dir(self)
        config = HTTPConfig(middleware=("sendfile", "static"))
        pipeline = build_pipeline(config, {"http": {"static": {"dir": str(root)}}}, cwd="/srv")
        sendfile = pipeline.chain[0]
        assert isinstance(sendfile, SendfileMiddleware)
        self.assertEqual(sendfile.roots, ("/srv", str(root.resolve())))

    def test_bad_cors_regex(self) -> None:
        """An invalid allowed_origin_regex is a config error."""
        config = HTTPConfig(middleware=("headers",))
        raw = {"http": {"headers": {"cors": {"allowed_origin_regex": "("}}}}
        with self.assertRaises(ConfigError):
            build_pipeline(config, raw)
