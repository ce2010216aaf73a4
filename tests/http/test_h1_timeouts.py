"""HTTP/1.1 connection deadlines: header, body and idle timeouts (rr.http.h1)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.http.test_h1 import GET, Connection, make_config, parse_responses, response


def limits(**kw: float) -> Connection:
    values = {"read_header_timeout": 10.0, "read_body_timeout": 20.0, "idle_timeout": 30.0}
    values.update(kw)
    return Connection(make_config(**values))


class HeaderDeadlineTests(SynchronousTestCase):
    """read_header_timeout is absolute from the first byte of a request."""

    def test_trickling_bytes_do_not_extend_it(self) -> None:
        """A head sent one byte every 3 s is cut off 10 s after its first byte with 408."""
        conn = limits()
        for byte in b"GET / HT":
            conn.send(bytes([byte]))
            if conn.closed:
                break
            conn.clock.advance(3)
        self.assertTrue(conn.closed)
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.status, 408)
        self.assertEqual(conn.calls, [])

    def test_not_before_deadline(self) -> None:
        """A head completed just before the deadline is served."""
        conn = limits()
        conn.send(b"GET / HTTP/1.1\r\n")
        conn.clock.advance(9.9)
        conn.send(b"Host: a\r\n\r\n")
        self.assertFalse(conn.closed)
        self.assertEqual(len(conn.calls), 1)
        conn.clock.advance(100)  # the request is in flight: no read deadline applies
        self.assertFalse(conn.closed)

    def test_silent_connection_dropped(self) -> None:
        """A connection that never sends a byte is closed after the header timeout."""
        conn = limits()
        conn.clock.advance(9.9)
        self.assertFalse(conn.closed)
        conn.clock.advance(0.2)
        self.assertTrue(conn.closed)
        self.assertEqual(conn.output(), b"")

    def test_pipelined_head_times_out_after_answer(self) -> None:
        """A stalled head behind an in-flight request gets its 408 after that response."""
        conn = limits()
        conn.send(GET + b"GET /slow HTTP/1.1\r\n")
        conn.clock.advance(10)
        self.assertFalse(conn.closed)
        conn.calls[0].deferred.callback(response(200, {}, b"ok"))
        first, second = parse_responses(conn.output())
        self.assertEqual((first.status, second.status), (200, 408))
        self.assertTrue(conn.closed)


class BodyDeadlineTests(SynchronousTestCase):
    """read_body_timeout bounds the time to read a body."""

    def test_slow_body(self) -> None:
        """A body not complete read_body_timeout after its head gets 408 and a close."""
        conn = limits()
        conn.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        conn.clock.advance(19)
        conn.send(b"def")
        self.assertFalse(conn.closed)
        conn.clock.advance(1.1)
        self.assertTrue(conn.closed)
        (resp,) = parse_responses(conn.output())
        self.assertEqual(resp.status, 408)
        self.assertEqual(conn.calls, [])


class IdleTests(SynchronousTestCase):
    """idle_timeout closes keep-alive connections with nothing to do."""

    def test_idle_after_response(self) -> None:
        """idle_timeout after the last response the connection is closed."""
        conn = limits()
        conn.send(GET)
        conn.clock.advance(50)  # waiting for the worker is not idleness
        conn.calls[0].deferred.callback(response(200))
        conn.clock.advance(29.9)
        self.assertFalse(conn.closed)
        conn.clock.advance(0.2)
        self.assertTrue(conn.closed)

    def test_next_request_resets_idle(self) -> None:
        """A new request after some idle time starts over; the old idle deadline is gone."""
        conn = limits()
        conn.send(GET)
        conn.calls[0].deferred.callback(response(200))
        conn.clock.advance(25)
        conn.send(GET)
        conn.calls[1].deferred.callback(response(200))
        conn.clock.advance(25)
        self.assertFalse(conn.closed)
        conn.clock.advance(5.1)
        self.assertTrue(conn.closed)

    def test_timers_cancelled_on_close(self) -> None:
        """connectionLost leaves no DelayedCall behind."""
        conn = limits()
        conn.send(b"GET / HTTP/1.1\r\n")
        conn.lose()
        self.assertEqual(conn.clock.getDelayedCalls(), [])
