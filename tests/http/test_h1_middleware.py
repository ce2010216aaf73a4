"""The middleware hook in the HTTP/1.1 connection, and file bodies sent by a producer."""

from __future__ import annotations

import gzip
import zlib
from typing import TYPE_CHECKING

from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from rr.http._file import CHUNK_SIZE
from tests.http.mw_helpers import MiddlewareConnection, StallingTransport, temp_dir
from tests.http.test_h1 import parse_responses, response

if TYPE_CHECKING:
    from rr.http.access_log import RequestDone

GET = b"GET /page HTTP/1.1\r\nHost: x\r\n\r\n"
BIG = b"0123456789abcdef" * 10000  # 160000 bytes: three chunks


class StaticOnConnectionTests(SynchronousTestCase):
    """Files are answered by the chain, streamed in chunks, in pipeline order."""

    def setUp(self) -> None:
        self.root = temp_dir(self)
        (self.root / "big.bin").write_bytes(BIG)
        (self.root / "a.txt").write_bytes(b"hello")

    def connect(self, *middleware: str) -> MiddlewareConnection:
        return MiddlewareConnection(middleware, {"static": {"dir": str(self.root)}})

    def test_file_streamed_in_chunks(self) -> None:
        """A large file is read one chunk at a time, only while the client keeps up;
        no worker is used."""
        conn = MiddlewareConnection(("static",), {"static": {"dir": str(self.root)}},
                                    stall_after=CHUNK_SIZE)
        conn.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(conn.executor.calls, [])
        first = conn.transport.value()
        self.assertIn(b"Content-Length: 160000\r\n", first)
        self.assertEqual(len(first.partition(b"\r\n\r\n")[2]), CHUNK_SIZE)
        transport = conn.transport
        assert isinstance(transport, StallingTransport)
        transport.drained()
        self.assertEqual(len(transport.value().partition(b"\r\n\r\n")[2]), 2 * CHUNK_SIZE)
        transport.drained()
        (resp,) = parse_responses(conn.output())
        self.assertEqual((resp.status, resp.body), (200, BIG))
        self.assertFalse(conn.transport.disconnecting)

    def test_pipelined_behind_worker(self) -> None:
        """A file requested after a PHP request waits for the PHP answer, then follows it."""
        conn = self.connect("static")
        conn.send(GET + b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n" + GET)
        self.assertEqual(conn.output(), b"")
        conn.executor.calls[0].deferred.callback(response(200, {}, b"first"))
        conn.executor.calls[1].deferred.callback(response(200, {}, b"third"))
        bodies = [r.body for r in parse_responses(conn.output())]
        self.assertEqual(bodies, [b"first", b"hello", b"third"])

    def test_head_has_no_body(self) -> None:
        """HEAD on a file sends the head with its length and no body."""
        conn = self.connect("static")
        conn.send(b"HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        out = conn.output()
        self.assertTrue(out.endswith(b"Content-Length: 5\r\n\r\n"))

    def test_request_body_discarded(self) -> None:
        """The body of a request answered by the chain is read and dropped; the
        connection stays usable."""
        conn = self.connect("static")
        conn.send(b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + GET)
        self.assertEqual(len(conn.executor.calls), 1)
        conn.executor.calls[0].deferred.callback(response(200, {}, b"php"))
        self.assertEqual([r.body for r in parse_responses(conn.output())], [b"hello", b"php"])

    def test_gzip_file(self) -> None:
        """With gzip outside static, a file is compressed on the fly, chunked."""
        conn = self.connect("static", "gzip")
        conn.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.header("Transfer-Encoding"), "chunked")
        self.assertEqual(gzip.decompress(resp.body), BIG)

    def test_connection_lost_mid_file(self) -> None:
        """A client that goes away mid-file: the file is closed."""
        conn = MiddlewareConnection(("static",), {"static": {"dir": str(self.root)}},
                                    stall_after=CHUNK_SIZE)
        conn.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        sender = conn.protocol._queue[0].file
        assert sender is not None
        conn.protocol.connectionLost(Failure(ConnectionError("gone")))
        self.assertTrue(sender.file.closed)


class WorkerResponseTests(SynchronousTestCase):
    """The response side of the chain on worker answers."""

    def test_gzip_stream(self) -> None:
        """Each streamed piece is compressed and flushed; the stream ends the gzip member."""
        conn = MiddlewareConnection(("gzip",))
        conn.send(b"GET /sse HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
        call = conn.executor.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(200, {"Content-Type": ["text/event-stream"]}, b"a" * 10,
                               stream=True))
        call.on_frame(response(None, body=b"b" * 10, stream=True))
        partial = conn.output()
        self.assertIn(b"Content-Encoding: gzip\r\n", partial)
        decoder = zlib.decompressobj(31)
        body = partial.partition(b"\r\n\r\n")[2]
        chunks = b""
        while body:
            size, _, rest = body.partition(b"\r\n")
            chunks += rest[: int(size, 16)]
            body = rest[int(size, 16) + 2:]
        self.assertEqual(decoder.decompress(chunks), b"a" * 10 + b"b" * 10)
        call.deferred.callback(response(None, body=b"c"))
        (resp,) = parse_responses(partial + conn.output())
        self.assertEqual(gzip.decompress(resp.body), b"a" * 10 + b"b" * 10 + b"c")

    def test_sendfile_on_stream(self) -> None:
        """X-Sendfile on a streamed head sends the file and stops the worker's stream."""
        cwd = temp_dir(self)
        (cwd / "f.txt").write_bytes(b"file!")
        conn = MiddlewareConnection(("sendfile",))
        conn.factory.pipeline.chain[0].roots = (str(cwd),)
        conn.factory.pipeline.chain[0].cwd = str(cwd)
        conn.send(GET)
        call = conn.executor.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(200, {"X-Sendfile": ["f.txt"]}, b"ignored", stream=True))
        self.assertTrue(call.cancelled)
        (resp,) = parse_responses(conn.output())
        self.assertEqual((resp.status, resp.body), (200, b"file!"))
        self.assertFalse(conn.transport.disconnecting)

    def test_error_response_gets_headers(self) -> None:
        """Server-made worker errors pass through the chain too (CORS on a 500)."""
        conn = MiddlewareConnection(("headers",), {"headers": {"response": {"x-a": "1"}}})
        conn.send(GET)
        conn.executor.calls[0].deferred.errback(RuntimeError("boom"))
        (resp,) = parse_responses(conn.output())
        self.assertEqual((resp.status, resp.header("X-A")), (500, "1"))
        self.flushLoggedErrors(RuntimeError)


class AccessLogTests(SynchronousTestCase):
    """One record per worker-answered request: log line and observers."""

    def test_http_log_fields(self) -> None:
        """The 'http log' line carries Octane's fields; elapsed is integer ms."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        conn = MiddlewareConnection(())
        seen: list[RequestDone] = []
        conn.factory.request_log.observers.append(seen.append)
        conn.send(b"POST /p?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")
        conn.clock.advance(0.25)
        conn.executor.calls[0].deferred.callback(response(201, {}, b"created"))
        (event,) = [e for e in events if e["log_format"] == "http log"]
        self.assertEqual(event["rr_channel"], "http")
        self.assertEqual(
            {k: event[k] for k in ("status", "method", "URI", "remote_address", "read_bytes",
                                   "write_bytes", "elapsed")},
            {"status": 201, "method": "POST", "URI": "/p?q=1",
             "remote_address": "10.0.0.7:51234", "read_bytes": 4, "write_bytes": 7,
             "elapsed": 250},
        )
        self.assertEqual(len(seen), 1)
        self.assertEqual(seen[0].elapsed, 0.25)

    def test_access_log_mode(self) -> None:
        """access_logs: true logs 'http access log' with the extra fields."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        conn = MiddlewareConnection((), access_logs=True)
        conn.send(b"GET /p?q=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: curl\r\n\r\n")
        conn.executor.calls[0].deferred.callback(response(200))
        (event,) = [e for e in events if e["log_format"] == "http access log"]
        self.assertEqual((event["query"], event["user_agent"], event["host"],
                          event["content_len"], event["protocol"]),
                         ("q=1", "curl", "x", -1, "HTTP/1.1"))

    def test_not_for_chain_answers(self) -> None:
        """Requests answered by the chain (a preflight) are not logged."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        conn = MiddlewareConnection(("headers",), {"headers": {"cors": {}}})
        conn.send(b"OPTIONS / HTTP/1.1\r\nHost: x\r\nOrigin: https://a\r\n"
                  b"Access-Control-Request-Method: GET\r\n\r\n")
        (resp,) = parse_responses(conn.output())
        self.assertEqual((resp.status, resp.header("Access-Control-Allow-Origin")), (200, "*"))
        self.assertEqual([e for e in events if e["log_format"] == "http log"], [])

    def test_rewritten_address_logged(self) -> None:
        """With proxy_ip_parser the logged address is the client's, without a port."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        conn = MiddlewareConnection(("proxy_ip_parser",), trusted_subnets=("10.0.0.0/8",))
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n")
        self.assertEqual(conn.executor.calls[0].context()["remoteAddr"], "1.2.3.4")
        conn.executor.calls[0].deferred.callback(response(200))
        (event,) = [e for e in events if e["log_format"] == "http log"]
        self.assertEqual(event["remote_address"], "1.2.3.4")

    def test_observer_error_logged(self) -> None:
        """A failing observer is logged and the connection keeps serving."""
        conn = MiddlewareConnection(())

        def broken(_: RequestDone) -> None:
            raise ValueError("bug")

        conn.factory.request_log.observers.append(broken)
        conn.send(GET)
        conn.executor.calls[0].deferred.callback(response(200))
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        conn.send(GET)
        self.assertEqual(len(conn.executor.calls), 2)


class ExpectContinueTests(SynchronousTestCase):
    """A chain answer to a request whose client waits for 100 Continue."""

    def test_answered_before_body(self) -> None:
        """The answer goes out at once (no 100 Continue), then the connection closes."""
        root = temp_dir(self)
        (root / "a.txt").write_bytes(b"hello")
        conn = MiddlewareConnection(("static",), {"static": {"dir": str(root)}})
        conn.send(b"PUT /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        out = conn.output()
        self.assertNotIn(b"100 Continue", out)
        (resp,) = parse_responses(out)
        self.assertEqual((resp.status, resp.body, resp.header("Connection")),
                         (200, b"hello", "close"))
        self.assertEqual(conn.executor.calls, [])
