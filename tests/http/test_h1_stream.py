"""HTTP/1.1 streamed responses, interim responses and executor failures (rr.http.h1)."""

from __future__ import annotations

from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from rr.errors import (
    ExecTimeout,
    NoFreeWorker,
    PoolStopped,
    QueueFull,
    WorkerCrashed,
    WorkerError,
)
from rr.payload import Payload
from tests.http.test_h1 import GET, Connection, make_config, parse_responses, response


class StreamTests(SynchronousTestCase):
    """Frames with the STREAM bit are written as they arrive."""

    def test_three_frames_chunked(self) -> None:
        """Each frame is written at once as a chunk; the final frame ends the body."""
        conn = Connection()
        conn.send(GET)
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(200, {"Content-Type": ["text/plain"]}, b"one", stream=True))
        first = conn.output()
        self.assertTrue(first.startswith(b"HTTP/1.1 200 OK\r\n"))
        self.assertIn(b"Transfer-Encoding: chunked\r\n", first)
        self.assertTrue(first.endswith(b"\r\n\r\n3\r\none\r\n"))
        # The current SDK repeats the context on every chunk: ignored once committed.
        call.on_frame(response(500, {"X-Late": ["1"]}, b"two", stream=True))
        self.assertEqual(conn.output(), b"3\r\ntwo\r\n")
        call.deferred.callback(response(200, {}, b"three"))
        self.assertEqual(conn.output(), b"5\r\nthree\r\n0\r\n\r\n")
        self.assertFalse(conn.closed)

    def test_body_only_first_frame(self) -> None:
        """A first frame without context commits an implicit 200."""
        conn = Connection()
        conn.send(GET)
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(None, body=b"<html><body>", stream=True))
        call.deferred.callback(response(None))
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header("Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(resp.body, b"<html><body>")

    def test_stream_with_content_length(self) -> None:
        """A streamed response with a worker Content-Length is written unchunked."""
        conn = Connection()
        conn.send(GET)
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(200, {"Content-Length": ["6"]}, b"abc", stream=True))
        call.deferred.callback(response(None, body=b"def"))
        out = conn.output()
        self.assertNotIn(b"chunked", out)
        self.assertTrue(out.endswith(b"Content-Length: 6\r\n\r\nabcdef"))
        self.assertFalse(conn.closed)

    def test_stream_trailers(self) -> None:
        """Trailers of a streamed response follow the last chunk."""
        conn = Connection()
        conn.send(GET)
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(200, {"Trailer": ["X-Sum"], "X-Sum": ["9"]}, b"a", stream=True))
        call.deferred.callback(response(None, body=b"b"))
        (resp,) = parse_responses(conn.output())
        self.assertEqual((resp.body, resp.trailers), (b"ab", [("X-Sum", "9")]))

    def test_early_hints(self) -> None:
        """A 103 frame becomes an interim response; its headers do not leak into the 200."""
        conn = Connection()
        conn.send(GET)
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(103, {"Link": ["</a.css>; rel=preload"]}, b"drop", stream=True))
        self.assertEqual(
            conn.output(), b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
        )
        call.deferred.callback(response(200, {}, b"page"))
        (resp,) = parse_responses(conn.output())
        self.assertEqual((resp.status, resp.body), (200, b"page"))
        self.assertIsNone(resp.header("Link"))

    def test_interim_only_final(self) -> None:
        """A final frame with a 1xx status is sent as interim, followed by an empty 200."""
        conn = Connection()
        conn.send(GET)
        conn.calls[0].deferred.callback(response(103, {"Link": ["</x>"]}))
        interim, final = parse_responses(conn.output())
        self.assertEqual((interim.status, final.status, final.body), (103, 200, b""))

    def test_interim_not_for_http10(self) -> None:
        """HTTP/1.0 clients never see interim responses."""
        conn = Connection()
        conn.send(b"GET / HTTP/1.0\r\n\r\n")
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(103, {"Link": ["</x>"]}, stream=True))
        self.assertEqual(conn.output(), b"")

    def test_101_ignored(self) -> None:
        """Status 101 is logged as an error and the frame ignored."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        conn = Connection()
        conn.send(GET)
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(101, {"Upgrade": ["websocket"]}, stream=True))
        self.assertEqual(conn.output(), b"")
        call.deferred.callback(response(200, {}, b"ok"))
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.status, 200)
        errors = [e for e in events if e["log_format"] != "http log"]
        self.assertEqual([e["log_level"] for e in errors], [LogLevel.error])

    def test_unknown_status(self) -> None:
        """A status outside 100-599 gets the fixed 500 with a plain-text body."""
        conn = Connection(make_config(internal_error_code=502))
        conn.send(GET)
        conn.calls[0].deferred.callback(response(999, {}, b"x"))
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.status, 500)
        self.assertEqual(resp.body, b"unknown status code from worker: 999\n")
        self.assertFalse(conn.closed)

    def test_unknown_status_in_stream_stops_it(self) -> None:
        """An unknown status on the first stream frame answers 500 and cancels the stream."""
        conn = Connection()
        conn.send(GET + GET)
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(42, {}, b"x", stream=True))
        self.assertTrue(call.cancelled)
        conn.calls[1].deferred.callback(response(200, {}, b"next"))
        first, second = parse_responses(conn.output())
        self.assertEqual((first.status, second.body), (500, b"next"))

    def test_bad_response_context(self) -> None:
        """An undecodable response context answers internal_error_code."""
        conn = Connection(make_config(internal_error_code=502))
        conn.send(GET)
        conn.calls[0].deferred.callback(Payload(b"{not json", b"", 0x08))
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.status, 502)


class FailureTests(SynchronousTestCase):
    """Executor errors become internal_error_code responses."""

    def test_no_free_worker(self) -> None:
        """NoFreeWorker answers internal_error_code with No-Workers: true and no body."""
        conn = Connection()
        conn.send(GET)
        conn.calls[0].deferred.errback(NoFreeWorker())
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.status, 500)
        self.assertEqual(resp.header("No-Workers"), "true")
        self.assertEqual((resp.body, resp.header("Content-Length")), (b"", "0"))
        self.assertFalse(conn.closed)

    def test_worker_error_uses_internal_error_code(self) -> None:
        """Worker failures answer the configured internal_error_code, one log line each."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        errors = [
            WorkerError(12, "boom"), WorkerCrashed(13, "died"), ExecTimeout(14, "ttl"),
            QueueFull(), PoolStopped(),
        ]
        conn = Connection(make_config(internal_error_code=502))
        conn.send(GET * len(errors))
        for call, error in zip(conn.calls, errors, strict=True):
            call.deferred.errback(error)
        responses = parse_responses(conn.output())
        self.assertEqual([r.status for r in responses], [502] * len(errors))
        self.assertEqual([r.body for r in responses], [b""] * len(errors))
        self.assertEqual(len([e for e in events if e["log_level"] == LogLevel.error]),
                         len(errors))

    def test_debug_shows_error_text(self) -> None:
        """With pool.debug the (HTML-escaped) error text is the body."""
        conn = Connection(make_config(debug=True))
        conn.send(GET)
        conn.calls[0].deferred.errback(WorkerError(7, "<bad>"))
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.body, b"worker 7: &lt;bad&gt;")
        self.assertEqual(resp.header("Content-Type"), "text/plain; charset=utf-8")

    def test_failure_mid_stream_ends_body(self) -> None:
        """A failure after a streamed head ends the chunked body; no second status line."""
        conn = Connection()
        conn.send(GET)
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(200, {}, b"part", stream=True))
        call.deferred.errback(WorkerCrashed(9, "gone"))
        out = conn.output()
        self.assertEqual(out.count(b"HTTP/1.1"), 1)
        self.assertTrue(out.endswith(b"4\r\npart\r\n0\r\n\r\n"))
        self.assertFalse(conn.closed)

    def test_failure_mid_length_stream_closes(self) -> None:
        """A failure in a Content-Length stream closes the connection (short body)."""
        conn = Connection()
        conn.send(GET)
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(200, {"Content-Length": ["10"]}, b"part", stream=True))
        call.deferred.errback(WorkerCrashed(9, "gone"))
        self.assertEqual(conn.output().count(b"HTTP/1.1"), 1)
        self.assertTrue(conn.closed)

    def test_cancel_not_logged(self) -> None:
        """Execs cancelled because the client left are not logged as errors."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        conn = Connection()
        conn.send(GET)
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(200, {}, b"part", stream=True))
        conn.lose()
        self.assertTrue(call.cancelled)
        self.assertEqual([e for e in events if e["log_level"] >= LogLevel.warn], [])

    def test_executor_raising(self) -> None:
        """An executor that raises instead of failing its Deferred still gets an answer."""

        class Raising:
            def exec(self, payload: Payload, on_frame: object = None) -> None:
                raise RuntimeError("bug")

        conn = Connection(executor=Raising())
        conn.send(GET)
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.status, 500)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
