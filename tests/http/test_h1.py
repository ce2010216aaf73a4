"""HTTP/1.1 connection: requests in, payloads to the executor, responses out (rr.http.h1).

Also holds the fakes the other ``test_h1_*`` modules import: a recording executor whose
Deferreds the test fires by hand, and a connection on a StringTransport and a Clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IProtocolFactory
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from rr.config._schema import HTTPConfig, HTTPLimitsConfig, PoolConfig, UploadsConfig
from rr.http.codec import CodecOptions
from rr.http.h1 import H1Protocol
from rr.http.server import HTTPFactory
from rr.payload import Payload

if TYPE_CHECKING:
    from collections.abc import Callable

#: Clock time used by every test: Sun, 06 Nov 1994 08:49:37 GMT.
NOW = 784111777.0
DATE = b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
JSON = 0x08


@dataclass
class Call:
    """One exec() seen by the fake executor."""

    payload: Payload
    on_frame: Callable[[Payload], None] | None
    deferred: Deferred[Payload] = field(init=False)
    cancelled: bool = False

    def context(self) -> dict[str, Any]:
        decoded: dict[str, Any] = orjson.loads(self.payload.context)
        return decoded


class FakeExecutor:
    """Records payloads and returns Deferreds the test fires by hand."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def exec(
        self, payload: Payload, on_frame: Callable[[Payload], None] | None = None
    ) -> Deferred[Payload]:
        call = Call(payload, on_frame)

        def cancel(_: Deferred[Payload]) -> None:
            call.cancelled = True

        call.deferred = Deferred(cancel)
        self.calls.append(call)
        return call.deferred


class SyncExecutor:
    """Answers every request at once with the same response."""

    def __init__(self, response: Payload) -> None:
        self.response = response
        self.payloads: list[Payload] = []

    def exec(
        self, payload: Payload, on_frame: Callable[[Payload], None] | None = None
    ) -> Deferred[Payload]:
        self.payloads.append(payload)
        d: Deferred[Payload] = Deferred()
        d.callback(self.response)
        return d


def response(
    status: int | None = 200,
    headers: dict[str, list[str]] | None = None,
    body: bytes = b"",
    *,
    stream: bool = False,
) -> Payload:
    """A worker response frame with a JSON context (``status=None``: empty context)."""
    if status is None:
        return Payload(b"", body, 0, stream)
    context = orjson.dumps({"status": status, "headers": headers or {}})
    return Payload(context, body, JSON, stream)


def make_config(
    *,
    internal_error_code: int = 500,
    max_request_size: int = 1 << 20,
    debug: bool = False,
    uploads_dir: str = "",
    **limits: Any,
) -> HTTPConfig:
    return HTTPConfig(
        internal_error_code=internal_error_code,
        max_request_size=max_request_size,
        uploads=UploadsConfig(dir=uploads_dir),
        limits=HTTPLimitsConfig(**limits),
        pool=PoolConfig(num_workers=1, debug=debug),
    )


class Connection:
    """An H1Protocol on a StringTransport, a Clock and a fake executor."""

    def __init__(
        self,
        config: HTTPConfig | None = None,
        executor: Any = None,
        peer: Any = None,
    ) -> None:
        self.clock = Clock()
        self.clock.advance(NOW)
        self.executor = executor if executor is not None else FakeExecutor()
        self.config = config if config is not None else make_config()
        self.factory = HTTPFactory(
            self.clock, self.executor, self.config, CodecOptions.from_config(self.config)
        )
        peer = peer if peer is not None else IPv4Address("TCP", "10.0.0.7", 51234)
        self.protocol = self.factory.buildProtocol(peer)
        self.transport = StringTransport(
            hostAddress=IPv4Address("TCP", "127.0.0.1", 8080), peerAddress=peer
        )
        self.protocol.makeConnection(self.transport)

    @property
    def calls(self) -> list[Call]:
        calls: list[Call] = self.executor.calls
        return calls

    def send(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def output(self) -> bytes:
        """Bytes written since the last call."""
        data = self.transport.value()
        self.transport.clear()
        return data

    @property
    def closed(self) -> bool:
        return bool(self.transport.disconnecting)

    def lose(self) -> None:
        self.protocol.connectionLost(Failure(ConnectionError("gone")))


@dataclass
class Response:
    """One response parsed back from the wire."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    trailers: list[tuple[str, str]]
    raw: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def parse_responses(data: bytes, *, no_body: bool = False) -> list[Response]:
    """Split ``data`` into responses (Content-Length, chunked, or the rest of the data)."""
    out: list[Response] = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"incomplete head: {data!r}"
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
        resp = Response(status, [(k, v) for k, v in headers], b"", [], b"")
        length = resp.header("Content-Length")
        if no_body or status < 200 or status in (204, 304):
            body = b""
        elif resp.header("Transfer-Encoding") == "chunked":
            body = b""
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line, 16)
                if size == 0:
                    trailer_block, _, rest = rest.partition(b"\r\n\r\n") if not rest.startswith(
                        b"\r\n") else (b"", b"", rest[2:])
                    for line in trailer_block.decode("latin-1").split("\r\n"):
                        if line:
                            name, value = line.split(": ", 1)
                            resp.trailers.append((name, value))
                    break
                body += rest[:size]
                assert rest[size:size + 2] == b"\r\n"
                rest = rest[size + 2:]
        elif length is not None:
            body, rest = rest[: int(length)], rest[int(length):]
        else:
            body, rest = rest, b""
        resp.body = body
        resp.raw = data[: len(data) - len(rest)]
        out.append(resp)
        data = rest
    return out


GET = b"GET /hello?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"


class SimpleRequestTests(SynchronousTestCase):
    """One request, one regular response."""

    def test_get(self) -> None:
        """A GET reaches the executor with method and absolute URI; the response is exact."""
        conn = Connection()
        conn.send(GET)
        self.assertEqual(len(conn.calls), 1)
        context = conn.calls[0].context()
        self.assertEqual(context["method"], "GET")
        self.assertEqual(context["uri"], "http://example.com/hello?x=1")
        self.assertEqual(context["rawQuery"], "x=1")
        self.assertEqual(context["remoteAddr"], "10.0.0.7")
        self.assertEqual(context["protocol"], "HTTP/1.1")
        self.assertEqual(conn.output(), b"")
        conn.calls[0].deferred.callback(
            response(200, {"Content-Type": ["text/plain"]}, b"hello")
        )
        self.assertEqual(
            conn.output(),
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" + DATE
            + b"Content-Length: 5\r\n\r\nhello",
        )
        self.assertFalse(conn.closed)

    def test_worker_date_kept(self) -> None:
        """A Date header from the worker replaces ours (no second Date)."""
        conn = Connection()
        conn.send(GET)
        conn.calls[0].deferred.callback(response(200, {"Date": ["yesterday"]}))
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.all("Date"), ["yesterday"])

    def test_date_follows_clock(self) -> None:
        """The Date header follows the reactor clock."""
        conn = Connection()
        conn.clock.advance(31)
        conn.send(GET)
        conn.calls[0].deferred.callback(response(204))
        self.assertIn(b"Date: Sun, 06 Nov 1994 08:50:08 GMT\r\n", conn.output())

    def test_sniffed_content_type(self) -> None:
        """Without a worker Content-Type, HTML and text bodies are sniffed."""
        conn = Connection()
        conn.send(GET + GET)
        conn.calls[0].deferred.callback(response(200, {}, b"\n <!DOCTYPE html><p>x"))
        conn.calls[1].deferred.callback(response(200, {}, b"\x00\x01binary"))
        html, binary = parse_responses(conn.output())
        self.assertEqual(html.header("Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(binary.header("Content-Type"), "application/octet-stream")

    def test_implicit_200(self) -> None:
        """A final frame with an empty context answers 200 with its body."""
        conn = Connection()
        conn.send(GET)
        conn.calls[0].deferred.callback(response(None, body=b"plain"))
        (resp,) = parse_responses(conn.output())
        self.assertEqual((resp.status, resp.body), (200, b"plain"))

    def test_worker_content_length_honoured(self) -> None:
        """An explicit Content-Length from the worker is sent as is (short body: close)."""
        conn = Connection()
        conn.send(GET)
        conn.calls[0].deferred.callback(response(200, {"Content-Length": ["10"]}, b"abc"))
        out = conn.output()
        self.assertIn(b"Content-Length: 10\r\n", out)
        self.assertEqual(out.count(b"Content-Length"), 1)
        self.assertTrue(out.endswith(b"\r\n\r\nabc"))
        self.assertTrue(conn.closed)

    def test_crlf_never_reaches_the_wire(self) -> None:
        """CR/LF in worker header values cannot split headers (end to end through the codec)."""
        conn = Connection()
        conn.send(GET)
        conn.calls[0].deferred.callback(
            response(200, {"X-Evil": ["a\r\nSet-Cookie: pwned=1"], "Bad\r\nName": ["x"]}, b"k")
        )
        out = conn.output()
        head = out.split(b"\r\n\r\n")[0]
        self.assertNotIn(b"\nSet-Cookie", head)
        self.assertNotIn(b"Bad", head)
        self.assertEqual(len(head.split(b"\r\n")), 5)  # status, X-Evil, Date, CT, CL

    def test_remote_addr_ipv6_and_unix(self) -> None:
        """remote_addr is the bare IPv6 host, and "@" for a unix socket peer."""
        conn6 = Connection(peer=IPv6Address("TCP", "::1", 5555))
        conn6.send(GET)
        self.assertEqual(conn6.calls[0].context()["remoteAddr"], "::1")
        connu = Connection(peer=UNIXAddress(b"/run/rr.sock"))
        connu.send(GET)
        self.assertEqual(connu.calls[0].context()["remoteAddr"], "@")

    def test_trailers(self) -> None:
        """Headers named by Trailer are sent after a chunked body, not in the head."""
        conn = Connection()
        conn.send(GET)
        conn.calls[0].deferred.callback(
            response(200, {"Trailer": ["X-Checksum"], "X-Checksum": ["abc"]}, b"data")
        )
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.header("Transfer-Encoding"), "chunked")
        self.assertIsNone(resp.header("X-Checksum"))
        self.assertIsNone(resp.header("Trailer"))
        self.assertEqual(resp.body, b"data")
        self.assertEqual(resp.trailers, [("X-Checksum", "abc")])
        self.assertTrue(resp.raw.endswith(b"4\r\ndata\r\n0\r\nX-Checksum: abc\r\n\r\n"))

    def test_factory_provides_interface(self) -> None:
        """HTTPFactory is an IProtocolFactory building H1Protocol instances."""
        conn = Connection()
        verifyObject(IProtocolFactory, conn.factory)
        self.assertIsInstance(conn.protocol, H1Protocol)
        self.assertIs(conn.protocol.factory, conn.factory)


class KeepAliveTests(SynchronousTestCase):
    """Persistent connections, pipelining and closing."""

    def test_two_requests(self) -> None:
        """HTTP/1.1 keeps the connection open for a second request."""
        conn = Connection()
        conn.send(GET)
        conn.calls[0].deferred.callback(response(200, {}, b"one"))
        conn.send(GET)
        conn.calls[1].deferred.callback(response(200, {}, b"two"))
        bodies = [r.body for r in parse_responses(conn.output())]
        self.assertEqual(bodies, [b"one", b"two"])
        self.assertFalse(conn.closed)

    def test_pipelining_in_order(self) -> None:
        """Pipelined requests run together but are answered in request order."""
        conn = Connection()
        conn.send(
            b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        self.assertEqual(
            [c.context()["uri"] for c in conn.calls],
            ["http://a/1", "http://a/2", "http://a/3"],
        )
        conn.calls[2].deferred.callback(response(200, {}, b"three"))
        conn.calls[1].deferred.callback(response(200, {}, b"two"))
        self.assertEqual(conn.output(), b"")
        conn.calls[0].deferred.callback(response(200, {}, b"one"))
        bodies = [r.body for r in parse_responses(conn.output())]
        self.assertEqual(bodies, [b"one", b"two", b"three"])

    def test_pipelined_stream_buffered_until_its_turn(self) -> None:
        """A streamed response behind an unfinished one waits, then flushes in order."""
        conn = Connection()
        conn.send(GET + GET)
        second = conn.calls[1]
        assert second.on_frame is not None
        second.on_frame(response(200, {}, b"s1", stream=True))
        self.assertEqual(conn.output(), b"")
        conn.calls[0].deferred.callback(response(200, {}, b"first"))
        second.deferred.callback(response(None, body=b"s2"))
        first, streamed = parse_responses(conn.output())
        self.assertEqual((first.body, streamed.body), (b"first", b"s1s2"))

    def test_connection_close(self) -> None:
        """Connection: close gets Connection: close back, then the connection closes."""
        conn = Connection()
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" + GET)
        self.assertEqual(len(conn.calls), 1)
        conn.calls[0].deferred.callback(response(200, {}, b"x"))
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.header("Connection"), "close")
        self.assertTrue(conn.closed)

    def test_worker_connection_close(self) -> None:
        """Connection: close from the worker closes the connection after the response."""
        conn = Connection()
        conn.send(GET + GET)
        conn.calls[0].deferred.callback(response(200, {"Connection": ["close"]}, b"x"))
        self.assertTrue(conn.closed)
        self.assertTrue(conn.calls[1].cancelled)
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.all("Connection"), ["close"])

    def test_http10_closes(self) -> None:
        """An HTTP/1.0 request without keep-alive is answered and the connection closed."""
        conn = Connection()
        conn.send(b"GET /old HTTP/1.0\r\n\r\n")
        self.assertEqual(conn.calls[0].context()["protocol"], "HTTP/1.0")
        conn.calls[0].deferred.callback(response(200, {}, b"x"))
        out = conn.output()
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK\r\n"))
        self.assertNotIn(b"Connection:", out)
        self.assertTrue(conn.closed)

    def test_http10_keep_alive(self) -> None:
        """HTTP/1.0 with Connection: keep-alive stays open when the length is known."""
        conn = Connection()
        conn.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        conn.calls[0].deferred.callback(response(200, {}, b"x"))
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.header("Connection"), "keep-alive")
        self.assertFalse(conn.closed)

    def test_http10_stream_is_close_delimited(self) -> None:
        """A streamed answer to HTTP/1.0 has no length: the body ends with the connection."""
        conn = Connection()
        conn.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(200, {}, b"a", stream=True))
        call.deferred.callback(response(None, body=b"b"))
        out = conn.output()
        self.assertNotIn(b"chunked", out)
        self.assertNotIn(b"Content-Length", out)
        self.assertTrue(out.endswith(b"\r\n\r\nab"))
        self.assertTrue(conn.closed)

    def test_pause_reading_when_many_queued(self) -> None:
        """More than 16 queued requests pause reading; at most 16 run at once."""
        conn = Connection()
        conn.send(GET * 20)
        self.assertEqual(len(conn.calls), 16)
        self.assertEqual(conn.transport.producerState, "paused")
        for i in range(20):
            conn.calls[i].deferred.callback(response(200, {}, b"%d" % i))
        self.assertEqual(conn.transport.producerState, "producing")
        bodies = [r.body for r in parse_responses(conn.output())]
        self.assertEqual(bodies, [b"%d" % i for i in range(20)])

    def test_disconnect_with_waiting_requests(self) -> None:
        """A disconnect cancels running execs and never starts the waiting ones."""
        conn = Connection()
        conn.send(GET * 20)
        conn.lose()
        self.assertEqual(len(conn.calls), 16)
        self.assertTrue(all(c.cancelled for c in conn.calls))
        self.assertEqual(conn.output(), b"")

    def test_upgrade_served_as_plain_request(self) -> None:
        """Upgrade requests (with a body) are served as HTTP/1.1; pipelining continues."""
        conn = Connection()
        conn.send(
            b"POST /up HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
            b"Content-Length: 5\r\n\r\nhel"
        )
        conn.send(b"lo" + GET)
        self.assertEqual(len(conn.calls), 2)
        self.assertEqual(conn.calls[0].payload.body, b"hello")
        self.assertEqual(conn.calls[0].context()["headers"]["Upgrade"], ["h2c"])
        self.assertEqual(conn.calls[1].context()["uri"], "http://example.com/hello?x=1")


class RequestBodyTests(SynchronousTestCase):
    """Request bodies: chunked, 100-continue, size limit, uploads."""

    def test_chunked_body(self) -> None:
        """A chunked body is de-chunked; Transfer-Encoding is not passed to PHP."""
        conn = Connection()
        conn.send(
            b"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n"
        )
        conn.send(b"2\r\nde\r\n0\r\n\r\n")
        self.assertEqual(conn.calls[0].payload.body, b"abcde")
        self.assertNotIn("Transfer-Encoding", conn.calls[0].context()["headers"])

    def test_100_continue(self) -> None:
        """Expect: 100-continue gets "100 Continue" before the body is read."""
        conn = Connection()
        conn.send(
            b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
        )
        self.assertEqual(conn.output(), b"HTTP/1.1 100 Continue\r\n\r\n")
        conn.send(b"abc")
        self.assertEqual(conn.calls[0].payload.body, b"abc")
        self.assertEqual(conn.calls[0].context()["headers"]["Expect"], ["100-continue"])

    def test_100_continue_not_for_head(self) -> None:
        """No 100 Continue for a bodiless request or a HEAD (whose body is never read)."""
        conn = Connection()
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n")
        conn.send(
            b"HEAD / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"
        )
        self.assertEqual(conn.output(), b"")
        self.assertEqual(len(conn.calls), 2)

    def test_expectation_failed(self) -> None:
        """An Expect other than 100-continue is answered 417 and the connection closed."""
        conn = Connection()
        conn.send(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 3\r\n\r\n")
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.status, 417)
        self.assertEqual(resp.header("Content-Type"), "text/plain; charset=utf-8")
        self.assertEqual(resp.header("X-Content-Type-Options"), "nosniff")
        self.assertTrue(conn.closed)
        self.assertEqual(conn.calls, [])

    def test_413_by_content_length(self) -> None:
        """A Content-Length over max_request_size is refused before the body arrives."""
        conn = Connection(make_config(max_request_size=10))
        conn.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n")
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.status, 413)
        self.assertEqual(resp.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(resp.body, b"http: request body too large\n")
        self.assertTrue(conn.closed)
        self.assertEqual(conn.calls, [])

    def test_413_by_chunked_overflow(self) -> None:
        """A chunked body growing past max_request_size gets 413 and a close."""
        conn = Connection(make_config(max_request_size=10))
        conn.send(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        conn.send(b"6\r\nabcdef\r\n")
        self.assertEqual(conn.output(), b"")
        conn.send(b"6\r\nghijkl\r\n")
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.status, 413)
        self.assertTrue(conn.closed)
        self.assertEqual(conn.calls, [])

    def test_413_after_answered_requests(self) -> None:
        """A 413 behind a pending request waits for that response, then closes."""
        conn = Connection(make_config(max_request_size=10))
        conn.send(GET + b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99\r\n\r\n")
        self.assertEqual(conn.output(), b"")
        self.assertFalse(conn.closed)
        conn.calls[0].deferred.callback(response(200, {}, b"ok"))
        first, second = parse_responses(conn.output())
        self.assertEqual((first.status, second.status), (200, 413))
        self.assertTrue(conn.closed)

    def _upload(self, conn: Connection) -> str:
        body = (
            b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n"
        )
        conn.send(
            b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=XyZ"
            b"\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
        )
        tmp: str = conn.calls[-1].context()["uploads"]["f"]["tmpName"]
        self.assertTrue(Path(tmp).exists())
        return tmp

    def test_upload_deleted_after_response(self) -> None:
        """Upload temp files are deleted once the last response frame arrived."""
        uploads = self.mktemp()
        Path(uploads).mkdir(parents=True)
        conn = Connection(make_config(uploads_dir=uploads))
        tmp = self._upload(conn)
        conn.calls[0].deferred.callback(response(200))
        self.assertFalse(Path(tmp).exists())

    def test_disconnect_cancels_and_cleans(self) -> None:
        """A client gone while its request waits cancels the exec and deletes uploads."""
        uploads = self.mktemp()
        Path(uploads).mkdir(parents=True)
        conn = Connection(make_config(uploads_dir=uploads))
        conn.send(GET)
        tmp = self._upload(conn)
        conn.lose()
        self.assertEqual([c.cancelled for c in conn.calls], [True, True])
        self.assertFalse(Path(tmp).exists())
        self.assertEqual(conn.output(), b"")
        self.assertEqual(conn.clock.getDelayedCalls(), [])


class BadRequestTests(SynchronousTestCase):
    """Requests the server refuses itself."""

    def assert_refused(self, conn: Connection, status: int) -> Response:
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.status, status)
        self.assertEqual(resp.header("Content-Type"), "text/plain; charset=utf-8")
        self.assertEqual(resp.header("Connection"), "close")
        self.assertTrue(conn.closed)
        self.assertEqual(conn.calls, [])
        return resp

    def test_garbage(self) -> None:
        """Bytes that are not HTTP get 400 and a close."""
        conn = Connection()
        conn.send(b"\x16\x03\x01 hello\r\n\r\n")
        self.assert_refused(conn, 400)

    def test_content_length_and_chunked(self) -> None:
        """Content-Length together with Transfer-Encoding (smuggling) gets 400."""
        conn = Connection()
        conn.send(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        )
        self.assert_refused(conn, 400)

    def test_bad_content_length(self) -> None:
        """A non-numeric Content-Length gets 400."""
        conn = Connection()
        conn.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3x\r\n\r\nabc")
        self.assert_refused(conn, 400)

    def test_invalid_header_name(self) -> None:
        """A header name with a space gets 400."""
        conn = Connection()
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n")
        self.assert_refused(conn, 400)

    def test_missing_host(self) -> None:
        """HTTP/1.1 without Host gets 400; two Host headers too."""
        conn = Connection()
        conn.send(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n")
        self.assertEqual(self.assert_refused(conn, 400).body, b"missing required Host header\n")
        conn = Connection()
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        self.assert_refused(conn, 400)

    def test_too_many_headers(self) -> None:
        """More than max_header_count header lines get 431."""
        conn = Connection(make_config(max_header_count=3))
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")
        self.assert_refused(conn, 431)

    def test_headers_too_large(self) -> None:
        """Headers larger than max_header_size get 431."""
        conn = Connection(make_config(max_header_size=200))
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"v" * 300 + b"\r\n\r\n")
        self.assert_refused(conn, 431)

    def test_unterminated_header_capped(self) -> None:
        """An endless header line is refused with 431 without waiting for its end."""
        conn = Connection(make_config(max_header_size=200))
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ")
        for _ in range(70):
            conn.send(b"v" * 1024)
            if conn.closed:
                break
        self.assert_refused(conn, 431)

    def test_uri_too_long(self) -> None:
        """A request-target longer than max_uri_length gets 414."""
        conn = Connection(make_config(max_uri_length=20))
        conn.send(b"GET /" + b"a" * 30 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assert_refused(conn, 414)

    def test_data_after_refusal_ignored(self) -> None:
        """After a refusal nothing more is parsed or answered."""
        conn = Connection()
        conn.send(b"GET / HTTP/1.1\r\n\r\n")
        conn.output()
        conn.send(GET)
        self.assertEqual(conn.output(), b"")
        self.assertEqual(conn.calls, [])


class NoBodyTests(SynchronousTestCase):
    """Responses that never carry a body."""

    def test_head(self) -> None:
        """HEAD gets the head with the body's length but no body."""
        conn = Connection()
        conn.send(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n" + GET)
        self.assertEqual(conn.calls[0].context()["method"], "HEAD")
        conn.calls[0].deferred.callback(response(200, {"Content-Type": ["text/html"]}, b"12345"))
        out = conn.output()
        self.assertEqual(
            out,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + DATE
            + b"Content-Length: 5\r\n\r\n",
        )
        conn.calls[1].deferred.callback(response(200, {}, b"next"))
        self.assertTrue(conn.output().endswith(b"\r\n\r\nnext"))

    def test_head_keeps_worker_length(self) -> None:
        """HEAD keeps the Content-Length the worker declared."""
        conn = Connection()
        conn.send(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
        conn.calls[0].deferred.callback(response(200, {"Content-Length": ["1234"]}))
        self.assertTrue(conn.output().endswith(b"Content-Length: 1234\r\n\r\n"))

    def test_head_streamed(self) -> None:
        """A streamed answer to HEAD writes only the head, not chunked."""
        conn = Connection()
        conn.send(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
        call = conn.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(200, {"Content-Type": ["text/plain"]}, b"aa", stream=True))
        call.deferred.callback(response(None, body=b"bb"))
        out = conn.output()
        self.assertTrue(out.endswith(b"\r\n\r\n"))
        self.assertNotIn(b"chunked", out)
        self.assertNotIn(b"aa", out)

    def test_204_and_304(self) -> None:
        """204 and 304 have neither body nor added framing headers."""
        conn = Connection()
        conn.send(GET + GET)
        conn.calls[0].deferred.callback(response(204, {}, b"dropped"))
        conn.calls[1].deferred.callback(response(304, {"Etag": ['"x"']}, b"dropped"))
        out = conn.output()
        self.assertEqual(
            out,
            b"HTTP/1.1 204 No Content\r\n" + DATE + b"\r\n"
            b'HTTP/1.1 304 Not Modified\r\nEtag: "x"\r\n' + DATE + b"\r\n",
        )
        self.assertFalse(conn.closed)
