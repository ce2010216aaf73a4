# -*- test-case-name: tests.http.test_access_log -*-
"""One record per finished request: the ``http log`` line Octane reads, and observers.

Every front end (HTTP/1.1, HTTP/2, FastCGI) builds a :class:`RequestDone` when a response
handled by a worker is complete and hands it to :meth:`RequestLog.done`. That logs it on
the ``http`` channel at info level, as RoadRunner's http plugin does (spec http.md §8,
octane.md §4.1): message ``http log`` with integer-millisecond ``elapsed``, or, with
``http.access_logs: true``, ``http access log`` with the nginx-like extra fields. Then
each callable in :attr:`RequestLog.observers` gets the record (the metrics plugin counts
requests there).

Requests the middleware answered itself (static files, CORS preflights) are not
recorded, as upstream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from twisted.logger import Logger, LogLevel

if TYPE_CHECKING:
    from collections.abc import Callable

    from rr.http.codec import RequestHead

_CRLF = str.maketrans("", "", "\r\n")
#: Module level: a Logger class attribute would build a bound Logger on every access.
_log = Logger(namespace="rr.http.access_log")


@dataclass(frozen=True, slots=True)
class RequestDone:
    """A request answered by a worker, once its response is complete.

    :ivar head: the request as the worker saw it (``remote_addr`` rewritten by
        ``proxy_ip_parser``).
    :ivar remote_address: the address to log: the rewritten one, or the peer's
        ``ip:port``.
    :ivar status: the worker's final status (before ``sendfile`` replaced it).
    :ivar read_bytes: request body bytes read.
    :ivar write_bytes: response body bytes from the worker, before compression.
    :ivar start: ``reactor.seconds()`` when the request head was complete.
    :ivar elapsed: seconds from ``start`` to the end of the response.
    """

    head: RequestHead
    remote_address: str
    status: int
    read_bytes: int
    write_bytes: int
    start: float
    elapsed: float

    def header(self, name: str) -> str:
        """The first value of request header ``name`` (lower-case), or ``""``."""
        for key, value in self.head.headers:
            if key.lower() == name:
                return value
        return ""


def peer_address(host: str, port: int | None) -> str:
    """``ip:port`` as Go prints a peer (IPv6 in brackets); just ``host`` without a port."""
    if port is None:
        return host
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


class RequestLog:
    """Logs finished requests and tells the observers about them."""

    def __init__(self, *, access_logs: bool = False) -> None:
        self.access_logs = access_logs
        #: Called with every :class:`RequestDone`, after it is logged.
        self.observers: list[Callable[[RequestDone], None]] = []
        self._second = -1
        self._prefix = ""

    def _iso(self, seconds: float) -> str:
        """ISO-8601 UTC with microseconds; the date part is formatted once per second."""
        whole = int(seconds)
        if whole != self._second:
            self._second = whole
            self._prefix = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        micros = min(999_999, round((seconds - whole) * 1e6))
        return "%s.%06d+00:00" % (self._prefix, micros)  # noqa: UP031

    def _emit(self, message: str, fields: dict[str, object], when: float) -> None:
        """``Logger.info`` without its per-call level validation (this runs per request)."""
        log = _log
        fields.update(
            log_logger=log, log_level=LogLevel.info, log_namespace=log.namespace,
            log_source=None, log_format=message, log_time=when, rr_channel="http",
        )
        log.observer(fields)

    def done(self, record: RequestDone) -> None:
        """Log ``record`` and pass it to every observer (an observer's error is logged)."""
        head = record.head
        fields: dict[str, object] = {
            "status": record.status,
            "method": head.method,
            "URI": head.target,
            "URL": head.target,
            "remote_address": record.remote_address,
            "read_bytes": record.read_bytes,
            "write_bytes": record.write_bytes,
            "start": self._iso(record.start),
            "elapsed": int(record.elapsed * 1000),
        }
        if self.access_logs:
            query = head.target.partition("?")[2]
            length = record.header("content-length")
            fields.update(
                protocol=head.protocol,
                query=query.translate(_CRLF),
                content_len=int(length) if length.isdigit() else -1,
                host=head.authority or record.header("host"),
                user_agent=record.header("user-agent").translate(_CRLF),
                referer=record.header("referer").translate(_CRLF),
                time_local=time.strftime("%d/%b/%y:%H:%M:%S %z", time.localtime(record.start)),
                request_time=record.elapsed,
            )
            self._emit("http access log", fields, record.start + record.elapsed)
        else:
            self._emit("http log", fields, record.start + record.elapsed)
        for observer in self.observers:
            try:
                observer(record)
            except Exception:  # noqa: BLE001 - an observer bug must not break the connection
                _log.failure("request observer {observer!r} failed", observer=observer)
