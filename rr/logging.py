# -*- test-case-name: tests.test_logging -*-
"""RoadRunner's ``logs`` section as ``twisted.logger`` observers.

Tools parse RoadRunner's log lines (Laravel Octane reads the production JSON on stdout,
octane.md §4), so the formats follow zap's output as RoadRunner v2025 configures it
(config-core.md §8.1): ``development`` (coloured console), ``production`` (JSON lines
``level, ts, logger, msg, fields…``), ``raw`` (message only) and ``off``/``none``.

Every ``twisted.logger`` event is routed to a *channel* (the zap logger name): the
event's ``rr_channel`` field if present, else one derived from its ``log_namespace``
(``rr.http.*`` → ``http``, ``rr.worker.*``/``rr.pool.*`` → ``server``, …, anything else
→ ``rr``). A channel listed under ``logs.channels`` uses its own config instead of the
root one. Events below the channel's level are dropped before any formatting.

Decisions where upstream is unconfirmed or unhelpful:

- structured fields are the event keys not starting with ``log_`` (minus Twisted's
  legacy keys); a field that *is* the whole message (format ``"{line}"``) is not
  repeated; a ``log.failure`` traceback goes into one ``error`` field;
- fields named like the record's own keys (``level``, ``msg``…) are dropped in JSON;
- ``development`` + ``json`` uses zap's development keys ``T``, ``L``, ``N``, ``M``;
  ``raw`` + ``json`` writes ``{"msg": …}``; ``raw`` drops fields;
- colour only when the destination itself is a TTY, ``NO_COLOR`` is unset and
  ``TERM`` is not ``dumb``;
- ``file_logger_options`` sends production JSON records to ``log_output`` only (default
  ``<tempdir>/rr.log``), but rotation (``max_size``, ``max_age``…) is not implemented.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING

import orjson
from twisted.logger import (
    ILogObserver,
    LogEvent,
    LogLevel,
    formatEvent,
    globalLogBeginner,
)
from twisted.python.failure import Failure
from zope.interface import implementer

if TYPE_CHECKING:
    from rr.config._schema import LogChannelConfig, LogsConfig

__all__ = ["RRLogObserver", "channel_of", "make_observer", "production_json", "start_logging"]

# Ranks: debug < info < warn < error < critical (zap's dpanic/panic/fatal).
_EVENT_RANK: dict[LogLevel, int] = {
    LogLevel.debug: 0,
    LogLevel.info: 1,
    LogLevel.warn: 2,
    LogLevel.error: 3,
    LogLevel.critical: 4,
}
_CONFIG_RANK: dict[str, int] = {
    "debug": 0,
    "info": 1,
    "warn": 2,
    "warning": 2,
    "error": 3,
    "dpanic": 4,
    "panic": 4,
    "fatal": 4,
    "critical": 4,
}
_LOWER = ("debug", "info", "warn", "error", "error")
_UPPER = ("DEBUG", "INFO", "WARN", "ERROR", "ERROR")
# RoadRunner's development colours: DEBUG white, INFO cyan, WARN yellow, ERROR red.
_COLOURED = tuple(
    f"\x1b[{code}m{name}\x1b[0m" for code, name in zip((37, 36, 33, 31, 31), _UPPER, strict=True)
)
_GREEN = "\x1b[32m{}\x1b[0m"

_MODES = frozenset({"development", "production", "raw", "off", "none"})

#: ``rr.<package>`` namespaces and the RoadRunner logger name they log under.
_PACKAGE_CHANNEL: dict[str, str] = {
    "http": "http",
    "worker": "server",
    "pool": "server",
    "rpc": "rpc",
    "jobs": "jobs",
    "kv": "kv",
    "grpc": "grpc",
    "tcp": "tcp",
    "metrics": "metrics",
    "status": "status",
    "lock": "lock",
}

# Event keys that are never structured fields: Twisted's legacy-log keys and ours.
_NOT_FIELDS = frozenset(
    {"rr_channel", "message", "isError", "system", "time", "format", "why", "failure", "printed"}
)

_Render = Callable[[LogEvent, str, int, bool], str]


def channel_of(namespace: str | None) -> str:
    """Return the RoadRunner logger name for a ``twisted.logger`` namespace.

    >>> channel_of("rr.worker.process.WorkerProcess")
    'server'
    """
    if namespace and namespace.startswith("rr."):
        package = namespace[3:].split(".", 1)[0]
        return _PACKAGE_CHANNEL.get(package, "rr")
    return "rr"


def _json_default(value: object) -> object:
    """Render values orjson cannot encode (Failures, exceptions, bytes…) as text."""
    if isinstance(value, Failure):
        return value.getErrorMessage()
    if isinstance(value, BaseException):
        return str(value) or type(value).__name__
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def _fields(event: LogEvent) -> dict[str, object]:
    """Collect the structured fields of an event, in emission order."""
    fmt = event.get("log_format")
    whole = None
    if isinstance(fmt, str) and fmt.startswith("{") and fmt.endswith("}") and fmt.count("{") == 1:
        whole = fmt[1:-1]
    fields: dict[str, object] = {
        key: value
        for key, value in event.items()
        if not key.startswith("log_") and key not in _NOT_FIELDS and key != whole
    }
    failure = event.get("log_failure")
    if isinstance(failure, Failure):
        fields["error"] = failure.getTraceback().rstrip()
    return fields


def _dumps_compact(obj: Mapping[str, object]) -> str:
    """Compact JSON (zap's JSON encoder)."""
    try:
        return orjson.dumps(obj, default=_json_default).decode()
    except (TypeError, orjson.JSONEncodeError):
        # Lone surrogates, ints beyond 64 bits, cyclic structures: fall back to stdlib.
        return json.dumps(obj, default=_json_default, separators=(",", ":"))


def _dumps_spaced(obj: Mapping[str, object]) -> str:
    """JSON with ``", "`` and ``": "`` separators (zap's console encoder context)."""
    try:
        return json.dumps(obj, default=_json_default, ensure_ascii=False)
    except ValueError:
        return json.dumps(obj, default=repr)


def _event_time(event: LogEvent) -> float:
    value = event.get("log_time")
    if isinstance(value, int | float):
        return float(value)
    # Only hand-built events lack log_time; a timestamp for a log line is not logic.
    return time.time_ns() / 1e9


def _iso_utc(seconds: float) -> str:
    """``2025-01-02T03:04:05+0000`` (UTC)."""
    return _iso_second(int(seconds))


@lru_cache(maxsize=4)
def _iso_second(whole: int) -> str:
    return datetime.fromtimestamp(whole, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _render_development_console(event: LogEvent, channel: str, rank: int, colour: bool) -> str:
    level = _COLOURED[rank] if colour else _UPPER[rank]
    name = f"{channel:<12}"
    if colour:
        name = _GREEN.format(name)
    line = f"{_iso_utc(_event_time(event))}\t{level}\t{name}\t{formatEvent(event)}"
    fields = _fields(event)
    return f"{line}\t{_dumps_spaced(fields)}" if fields else line


def _render_development_json(event: LogEvent, channel: str, rank: int, colour: bool) -> str:  # noqa: ARG001
    record: dict[str, object] = {
        "T": _iso_utc(_event_time(event)),
        "L": _UPPER[rank],
        "N": channel,
        "M": formatEvent(event),
    }
    return _json_record(record, event)


def _render_production_json(event: LogEvent, channel: str, rank: int, colour: bool) -> str:  # noqa: ARG001
    record: dict[str, object] = {
        "level": _LOWER[rank],
        "ts": int(_event_time(event) * 1_000_000_000),
        "logger": channel,
        "msg": formatEvent(event),
    }
    return _json_record(record, event)


def _json_record(record: dict[str, object], event: LogEvent) -> str:
    """Append the event's fields after the fixed keys (which they never overwrite)."""
    for key, value in _fields(event).items():
        record.setdefault(key, value)
    return _dumps_compact(record)


def _render_production_console(event: LogEvent, channel: str, rank: int, colour: bool) -> str:  # noqa: ARG001
    ts = int(_event_time(event) * 1_000_000_000)
    line = f"{ts}\t{_LOWER[rank]}\t{channel}\t{formatEvent(event)}"
    fields = _fields(event)
    return f"{line}\t{_dumps_spaced(fields)}" if fields else line


def _render_raw_console(event: LogEvent, channel: str, rank: int, colour: bool) -> str:  # noqa: ARG001
    return formatEvent(event)


def _render_raw_json(event: LogEvent, channel: str, rank: int, colour: bool) -> str:  # noqa: ARG001
    return _dumps_compact({"msg": formatEvent(event)})


#: (mode, encoding) -> renderer; mode "plain" is the fallback for an unknown mode.
_RENDERERS: dict[tuple[str, str], _Render] = {
    ("development", "console"): _render_development_console,
    ("development", "json"): _render_development_json,
    ("production", "console"): _render_production_console,
    ("production", "json"): _render_production_json,
    ("raw", "console"): _render_raw_console,
    ("raw", "json"): _render_raw_json,
}
_DEFAULT_ENCODING = {"development": "console", "production": "json", "raw": "console"}
_DEFAULT_RANK = {"development": 0, "production": 1, "raw": 1}


@dataclass(slots=True, frozen=True)
class _Target:
    stream: IO[str]
    colour: bool


@dataclass(slots=True, frozen=True)
class _Sink:
    """Where and how one channel's records go."""

    min_rank: int
    render: _Render
    targets: tuple[_Target, ...]
    errors: tuple[IO[str], ...]
    ending: str


@implementer(ILogObserver)
class RRLogObserver:
    """Routes events to per-channel sinks; never raises.

    :ivar files: log files this observer opened (closed by :meth:`close`).
    """

    def __init__(self, root: _Sink | None, channels: dict[str, _Sink | None],
                 files: list[IO[str]]) -> None:
        self._root = root
        self._channels = channels
        self._namespaces: dict[str | None, str] = {}
        self.files = files

    def __call__(self, event: LogEvent) -> None:
        """Filter by level first, then format and write one line per destination."""
        channel = event.get("rr_channel")
        if not isinstance(channel, str):
            namespace = event.get("log_namespace")
            channel = self._namespaces.get(namespace)
            if channel is None:
                channel = self._namespaces[namespace] = channel_of(namespace)
        sink = self._channels.get(channel, self._root) if self._channels else self._root
        if sink is None:
            return
        rank = _EVENT_RANK.get(event.get("log_level", LogLevel.info), 1)
        if rank < sink.min_rank:
            return
        rendered: dict[bool, str] = {}
        for target in sink.targets:
            text = rendered.get(target.colour)
            if text is None:
                try:
                    text = sink.render(event, channel, rank, target.colour) + sink.ending
                except Exception as exc:  # noqa: BLE001 - a log line must never crash the caller
                    self._internal_error(sink, f"cannot format a log event: {exc!r}")
                    return
                rendered[target.colour] = text
            try:
                target.stream.write(text)
                target.stream.flush()
            except Exception as exc:  # noqa: BLE001
                self._internal_error(sink, f"write error: {exc!r}")

    def _internal_error(self, sink: _Sink, message: str) -> None:
        """Report the logger's own failure on ``err_output`` (zap's ErrorOutput)."""
        stamp = _iso_utc(time.time_ns() / 1e9)
        for stream in sink.errors:
            try:
                stream.write(f"{stamp} logger error: {message}\n")
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - nowhere left to report to
                pass

    def close(self) -> None:
        """Close the log files this observer opened."""
        for handle in self.files:
            handle.close()
        self.files = []


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _colour_allowed(environ: Mapping[str, str]) -> bool:
    return "NO_COLOR" not in environ and environ.get("TERM") != "dumb"


class _Builder:
    """Turns channel configs into sinks, sharing opened files between channels."""

    def __init__(self, stdout: IO[str], stderr: IO[str], isatty: Callable[[IO[str]], bool],
                 environ: Mapping[str, str]) -> None:
        self._std = {"stdout": stdout, "stderr": stderr}
        self._isatty = isatty
        self._colour_ok = _colour_allowed(environ)
        self._opened: dict[str, IO[str]] = {}

    @property
    def files(self) -> list[IO[str]]:
        return list(self._opened.values())

    def _stream(self, name: str) -> IO[str]:
        std = self._std.get(name.strip().lower())
        if std is not None:
            return std
        path = str(Path(name).resolve())
        handle = self._opened.get(path)
        if handle is None:
            handle = self._opened[path] = open(path, "a", encoding="utf-8")  # noqa: SIM115, PTH123
        return handle

    def sink(self, config: LogChannelConfig) -> _Sink | None:
        mode = config.mode.strip().lower()
        if mode in {"off", "none"}:
            return None
        known = mode in _MODES
        encoding = config.encoding.strip().lower()
        if encoding not in {"console", "json"}:
            encoding = _DEFAULT_ENCODING.get(mode, "console")
        render = _RENDERERS[(mode if known else "development", encoding)]
        outputs = config.output or ("stderr",)
        file_logger = getattr(config, "file_logger_options", None)
        if file_logger is not None:
            # Only the (rotating, upstream) file, always production JSON; no rotation yet.
            render, encoding = _render_production_json, "json"
            outputs = (file_logger.log_output or str(Path(tempfile.gettempdir()) / "rr.log"),)
        rank = _CONFIG_RANK.get(config.level.strip().lower(), _DEFAULT_RANK.get(mode, 0))
        coloured = known and mode == "development" and encoding == "console"
        targets = []
        for name in outputs:
            stream = self._stream(name)
            colour = coloured and self._colour_ok and self._isatty(stream)
            targets.append(_Target(stream, colour))
        errors = tuple(self._stream(name) for name in config.err_output or ("stderr",))
        ending = "" if config.skip_line_ending else (config.line_ending or "\n")
        return _Sink(rank, render, tuple(targets), errors, ending)


def make_observer(
    logs: LogsConfig,
    *,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    isatty: Callable[[IO[str]], bool] | None = None,
    environ: Mapping[str, str] | None = None,
) -> RRLogObserver:
    """Build the observer for a ``logs`` section.

    :param stdout: the stream for ``output: stdout`` (default ``sys.stdout``).
    :param stderr: the stream for ``output: stderr`` (default ``sys.stderr``).
    :param isatty: decides whether a destination gets colour (default ``stream.isatty()``).
    :param environ: where ``NO_COLOR``/``TERM`` are read (default ``os.environ``).
    :raises OSError: a log file cannot be opened.
    """
    builder = _Builder(
        stdout if stdout is not None else sys.stdout,
        stderr if stderr is not None else sys.stderr,
        isatty or _isatty,
        os.environ if environ is None else environ,
    )
    try:
        root = builder.sink(logs.root)
        channels = {name.lower(): builder.sink(cfg) for name, cfg in logs.channels.items()}
    except BaseException:
        for handle in builder.files:
            handle.close()
        raise
    return RRLogObserver(root, channels, builder.files)


def production_json(logs: LogsConfig) -> LogsConfig:
    """Return the logs section with every logger switched to production JSON (``--json-logs``)."""

    def force(config: LogChannelConfig) -> LogChannelConfig:
        return replace(config, mode="production", encoding="json")

    return replace(
        logs,
        root=force(logs.root),
        channels={name: force(cfg) for name, cfg in logs.channels.items()},
    )


def start_logging(logs: LogsConfig) -> RRLogObserver:
    """Make our observer the global log destination (events buffered so far are replayed)."""
    observer = make_observer(logs)
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
    return observer
