"""Client limits on the writing side: write_timeout, stalled streams, lingering 413."""

from __future__ import annotations

from typing import Any

from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from rr.config._schema import HTTPLimitsConfig
from rr.http._h1_conn import LINGER_BYTES, LINGER_SECONDS, MAX_STALLED_BYTES
from tests.http.mw_helpers import MiddlewareConnection, StallingTransport
from tests.http.test_h1 import parse_responses, response

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


class HalfClosingTransport(StringTransport):
    """Records half-closes, as TCP transports support them."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.write_closed = False
        self.aborted = False

    def loseWriteConnection(self) -> None:
        self.write_closed = True

    def abortConnection(self) -> None:
        self.aborted = True


def stalled(**limits: Any) -> MiddlewareConnection:
    conn = MiddlewareConnection((), stall_after=1, **limits)
    assert isinstance(conn.transport, StallingTransport)
    return conn


class WriteTimeoutTests(SynchronousTestCase):
    """A client that stops reading is dropped after write_timeout."""

    def test_stalled_client_dropped(self) -> None:
        """The buffer stays full for write_timeout: the connection is aborted; the worker
        was released when the response was handed over."""
        conn = stalled(limits=HTTPLimitsConfig(write_timeout=30.0))
        conn.send(GET)
        conn.executor.calls[0].deferred.callback(response(200, {}, b"x" * 100))
        self.assertFalse(conn.transport.disconnecting)
        conn.clock.advance(29)
        self.assertFalse(conn.transport.disconnected)
        conn.clock.advance(1)
        self.assertTrue(conn.transport.disconnected)

    def test_progress_resets(self) -> None:
        """A client that takes the buffered bytes in time is not dropped."""
        conn = stalled(limits=HTTPLimitsConfig(write_timeout=30.0))
        transport = conn.transport
        assert isinstance(transport, StallingTransport)
        conn.send(GET)
        conn.executor.calls[0].deferred.callback(response(200, {}, b"x"))
        conn.clock.advance(20)
        transport.drained()
        conn.clock.advance(20)
        self.assertFalse(transport.disconnected)

    def test_stalled_stream_bounded(self) -> None:
        """A worker stream that keeps producing for a stalled client is cut after
        MAX_STALLED_BYTES; dropping the connection cancels (stops) the stream."""
        conn = stalled()
        conn.send(GET)
        call = conn.executor.calls[0]
        assert call.on_frame is not None
        call.on_frame(response(200, {}, b"x", stream=True))
        piece = b"y" * (1 << 20)
        for _ in range(MAX_STALLED_BYTES // len(piece) + 2):
            call.on_frame(response(None, body=piece, stream=True))
        self.assertTrue(conn.transport.disconnected)
        conn.protocol.connectionLost()
        self.assertTrue(call.cancelled)


class LingerTests(SynchronousTestCase):
    """413 is answered with a half-close so the client can read it."""

    def connect(self) -> tuple[MiddlewareConnection, HalfClosingTransport]:
        conn = MiddlewareConnection((), max_request_size=10)
        transport = HalfClosingTransport()
        conn.protocol.makeConnection(transport)
        conn.transport = transport
        return conn, transport

    def test_413_half_closes_and_drains(self) -> None:
        """The 413 is written, our write side shut, the rest of the body read and dropped."""
        conn, transport = self.connect()
        conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"a" * 100)
        (resp,) = parse_responses(transport.value())
        self.assertEqual(resp.status, 413)
        self.assertTrue(transport.write_closed)
        self.assertFalse(transport.disconnecting)
        conn.send(b"a" * 900)
        self.assertFalse(transport.aborted)
        conn.clock.advance(LINGER_SECONDS)
        self.assertTrue(transport.aborted)

    def test_linger_bounded(self) -> None:
        """More than LINGER_BYTES of refused body: the connection is cut at once."""
        conn, transport = self.connect()
        conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
        conn.send(b"a" * (LINGER_BYTES + 1))
        self.assertTrue(transport.aborted)

    def test_other_errors_close(self) -> None:
        """A 400 closes normally (no lingering)."""
        conn, transport = self.connect()
        conn.send(b"BROKEN\r\n\r\n")
        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.write_closed)
