"""rr.http.access_log: the record, its log line and the observers."""

from __future__ import annotations

from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from rr.http.access_log import RequestDone, RequestLog, peer_address
from tests.http.mw_helpers import make_head


def record(**kw: object) -> RequestDone:
    head = make_head("/a?b=c\r\nX", "GET", [("User-Agent", "ua\r\nx"), ("Content-Length", "5")])
    values: dict[str, object] = {
        "head": head, "remote_address": "10.0.0.7:1", "status": 200, "read_bytes": 5,
        "write_bytes": 7, "start": 784111777.25, "elapsed": 0.0125,
    }
    values.update(kw)
    return RequestDone(**values)  # type: ignore[arg-type]


class RequestLogTests(SynchronousTestCase):
    """Fields, levels and observers."""

    def test_http_log(self) -> None:
        """Default mode: 'http log' at info on channel http, elapsed in integer ms."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        RequestLog().done(record())
        (event,) = events
        self.assertEqual(event["log_format"], "http log")
        self.assertEqual(event["log_level"], LogLevel.info)
        self.assertEqual(event["rr_channel"], "http")
        self.assertEqual(event["elapsed"], 12)
        self.assertEqual(event["start"], "1994-11-06T08:49:37.250000+00:00")
        self.assertEqual(event["log_time"], 784111777.2625)
        self.assertNotIn("user_agent", event)

    def test_access_log(self) -> None:
        """access_logs: extra fields, CR/LF stripped, content_len from the header."""
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        RequestLog(access_logs=True).done(record())
        (event,) = events
        self.assertEqual(event["log_format"], "http access log")
        self.assertEqual((event["user_agent"], event["query"], event["content_len"]),
                         ("uax", "b=cX", 5))
        self.assertEqual(event["request_time"], 0.0125)

    def test_observers(self) -> None:
        """Observers get every record, after it is logged."""
        seen: list[RequestDone] = []
        log = RequestLog()
        log.observers.append(seen.append)
        log.done(record(status=503))
        self.assertEqual([r.status for r in seen], [503])

    def test_peer_address(self) -> None:
        """ip:port as Go prints it."""
        self.assertEqual(peer_address("1.2.3.4", 80), "1.2.3.4:80")
        self.assertEqual(peer_address("::1", 80), "[::1]:80")
        self.assertEqual(peer_address("@", None), "@")
