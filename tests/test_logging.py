"""RoadRunner's log formats, channels, levels and outputs as twisted.logger observers."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import pytest
from twisted.logger import ILogObserver, Logger, globalLogBeginner
from twisted.python.failure import Failure
from zope.interface.verify import verifyObject

from rr.config._schema import FileLoggerConfig, LogChannelConfig, LogsConfig
from rr.logging import RRLogObserver, channel_of, make_observer, production_json, start_logging

if TYPE_CHECKING:
    from pathlib import Path

T0 = 1735787045.5  # 2025-01-02T03:04:05.5Z


def events(namespace: str = "rr.test") -> tuple[Logger, list[dict[str, Any]]]:
    """A Logger whose events are captured (with a fixed log_time)."""
    captured: list[dict[str, Any]] = []

    def keep(event: dict[str, Any]) -> None:
        event["log_time"] = T0
        captured.append(event)

    return Logger(namespace=namespace, observer=keep), captured


def observer(root: LogChannelConfig | None = None, *, tty: bool = False,
             environ: dict[str, str] | None = None,
             **channels: LogChannelConfig) -> tuple[RRLogObserver, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    obs = make_observer(
        LogsConfig(root=root or LogChannelConfig(), channels=dict(channels)),
        stdout=out, stderr=err, isatty=lambda _s: tty, environ=environ or {},
    )
    return obs, out, err


def emit(obs: RRLogObserver, namespace: str, level: str, fmt: str, **fields: Any) -> None:
    log, captured = events(namespace)
    getattr(log, level)(fmt, **fields)
    for event in captured:
        obs(event)


def test_observer_provides_ilogobserver() -> None:
    """The observer is an ILogObserver."""
    obs, _, _ = observer()
    assert verifyObject(ILogObserver, obs)


def test_production_json_keys_order_and_types() -> None:
    """production: one JSON object per line: level, ts (int ns), logger, msg, then fields."""
    obs, out, err = observer(LogChannelConfig(mode="production", output=("stdout",)))
    emit(obs, "rr.http.server", "info", "http log", status=200, method="GET", URI="/x?y=1",
         elapsed=12)
    assert err.getvalue() == ""
    line = out.getvalue()
    assert line.endswith("\n")
    assert line.count("\n") == 1
    record = json.loads(line)
    assert list(record) == ["level", "ts", "logger", "msg", "status", "method", "URI", "elapsed"]
    assert record["level"] == "info"
    assert record["ts"] == int(T0 * 1_000_000_000)
    assert isinstance(record["ts"], int)
    assert record["logger"] == "http"
    assert record["msg"] == "http log"
    assert record["status"] == 200


@pytest.mark.parametrize(
    ("level", "name"),
    [("debug", "debug"), ("info", "info"), ("warn", "warn"), ("error", "error"),
     ("critical", "error")],
)
def test_production_levels_are_lower_case(level: str, name: str) -> None:
    """Twisted levels map to zap's lower-case names; critical becomes error."""
    obs, out, _ = observer(LogChannelConfig(mode="production", level="debug", output=("stdout",)))
    emit(obs, "rr", level, "x")
    assert json.loads(out.getvalue())["level"] == name


def test_worker_stderr_line_is_logged_under_server_at_info() -> None:
    """A worker's stderr line is the message of a 'server' record, not repeated as a field."""
    obs, out, _ = observer(LogChannelConfig(mode="production", output=("stdout",)))
    log, captured = events("rr.worker.process.WorkerProcess")
    log.info("{line}", line='{"type":"throwable"}', pid=42, pool="http", rr_channel="server")
    obs(captured[0])
    record = json.loads(out.getvalue())
    assert record == {"level": "info", "ts": int(T0 * 1e9), "logger": "server",
                      "msg": '{"type":"throwable"}', "pid": 42, "pool": "http"}


def test_development_console_format() -> None:
    """development: ISO time UTC, TAB, LEVEL, TAB, name padded to 12, TAB, msg, TAB, fields."""
    obs, _, err = observer()
    emit(obs, "rr.pool.pool", "warn", "worker {pid} exited", pid=7)
    assert err.getvalue() == (
        '2025-01-02T03:04:05+0000\tWARN\tserver      \tworker 7 exited\t{"pid": 7}\n'
    )


def test_development_console_without_fields_has_no_trailing_object() -> None:
    """A record without fields ends after the message."""
    obs, _, err = observer()
    emit(obs, "twisted.internet", "info", "Main loop terminated.")
    assert err.getvalue() == "2025-01-02T03:04:05+0000\tINFO\trr          \tMain loop terminated.\n"


def test_development_colour_only_on_a_tty_without_no_color() -> None:
    """Colour codes appear only when the destination is a TTY and NO_COLOR is unset."""
    obs, _, err = observer(tty=True)
    emit(obs, "rr.http", "error", "boom")
    assert "\x1b[31mERROR\x1b[0m" in err.getvalue()
    assert "\x1b[32mhttp        \x1b[0m" in err.getvalue()
    obs, _, err = observer(tty=True, environ={"NO_COLOR": "1"})
    emit(obs, "rr.http", "error", "boom")
    assert "\x1b[" not in err.getvalue()
    obs, _, err = observer(tty=False)
    emit(obs, "rr.http", "error", "boom")
    assert "\x1b[" not in err.getvalue()


def test_raw_mode_writes_the_message_only() -> None:
    """raw: only the message and the line ending; fields are dropped."""
    obs, out, _ = observer(LogChannelConfig(mode="raw", output=("stdout",)))
    emit(obs, "rr", "info", "hello {who}", who="php")
    assert out.getvalue() == "hello php\n"


@pytest.mark.parametrize("mode", ["off", "none", "OFF"])
def test_off_mode_discards_everything(mode: str) -> None:
    """off/none: nothing is written anywhere."""
    obs, out, err = observer(LogChannelConfig(mode=mode, output=("stdout",)))
    emit(obs, "rr", "error", "lost")
    assert out.getvalue() == err.getvalue() == ""


def test_encoding_overrides_the_mode_encoder() -> None:
    """production + console: tab-separated ns time, lower-case level, name, msg, fields."""
    obs, out, _ = observer(LogChannelConfig(mode="production", encoding="console",
                                            output=("stdout",)))
    emit(obs, "rr.rpc.protocol", "info", "listening", port=6001)
    assert out.getvalue() == f'{int(T0 * 1e9)}\tinfo\trpc\tlistening\t{{"port": 6001}}\n'
    obs, out, _ = observer(LogChannelConfig(mode="development", encoding="json",
                                            output=("stdout",)))
    emit(obs, "rr.rpc.protocol", "info", "listening", port=6001)
    assert json.loads(out.getvalue()) == {"T": "2025-01-02T03:04:05+0000", "L": "INFO",
                                          "N": "rpc", "M": "listening", "port": 6001}


def test_level_filter() -> None:
    """Events below the configured level are dropped; warning is an alias of warn."""
    obs, out, _ = observer(LogChannelConfig(mode="production", level="WARNING",
                                            output=("stdout",)))
    for level in ("debug", "info", "warn", "error"):
        emit(obs, "rr", level, level)
    assert [json.loads(line)["msg"] for line in out.getvalue().splitlines()] == ["warn", "error"]


@pytest.mark.parametrize(("mode", "shown"), [("production", ["info"]), ("development", ["debug", "info"])])
def test_invalid_level_falls_back_to_the_mode_default(mode: str, shown: list[str]) -> None:
    """An invalid level is ignored: debug for development, info for production."""
    obs, out, _ = observer(LogChannelConfig(mode=mode, level="loud", encoding="json",
                                            output=("stdout",)))
    emit(obs, "rr", "debug", "debug")
    emit(obs, "rr", "info", "info")
    assert len(out.getvalue().splitlines()) == len(shown)


def test_filtered_events_are_never_formatted() -> None:
    """An event below the level costs no formatting (its format is never evaluated)."""
    obs, out, _ = observer(LogChannelConfig(mode="production", level="error",
                                            output=("stdout",)))

    class Explodes:
        def __str__(self) -> str:
            raise AssertionError("formatted")

    emit(obs, "rr", "debug", "{x}", x=Explodes())
    assert out.getvalue() == ""


def test_channel_config_replaces_the_root_config() -> None:
    """logs.channels.<name> is used for that channel's events, built on its own."""
    obs, out, err = observer(
        LogChannelConfig(mode="production", level="error", output=("stdout",)),
        server=LogChannelConfig(mode="raw", level="info", output=("stderr",)),
    )
    emit(obs, "rr.worker.process", "info", "{line}", line="php says hi")
    emit(obs, "rr.http.h1", "info", "hidden by the root level")
    emit(obs, "rr.http.h1", "error", "shown")
    assert err.getvalue() == "php says hi\n"
    assert [json.loads(line)["msg"] for line in out.getvalue().splitlines()] == ["shown"]


def test_rr_channel_field_wins_over_the_namespace() -> None:
    """An event's rr_channel names its channel; it is not a field."""
    obs, out, _ = observer(LogChannelConfig(mode="production", output=("stdout",)))
    emit(obs, "rr.service", "info", "http listening", rr_channel="http")
    record = json.loads(out.getvalue())
    assert record["logger"] == "http"
    assert "rr_channel" not in record


@pytest.mark.parametrize(
    ("namespace", "channel"),
    [("rr.http.server.HTTPFactory", "http"), ("rr.http", "http"), ("rr.worker.process", "server"),
     ("rr.pool.pool.WorkerPool", "server"), ("rr.rpc.protocol", "rpc"), ("rr.jobs.pipeline", "jobs"),
     ("rr.service", "rr"), ("twisted.internet.base", "rr"), (None, "rr"), ("rrx.http", "rr")],
)
def test_channel_of_namespace(namespace: str | None, channel: str) -> None:
    """Namespaces map to RoadRunner logger names."""
    assert channel_of(namespace) == channel


def test_file_output_appends(tmp_path: Path) -> None:
    """A file path output is opened in append mode and created if missing."""
    path = tmp_path / "rr.log"
    path.write_text("old\n")
    obs, out, err = observer(LogChannelConfig(mode="raw", output=(str(path), "stdout")))
    emit(obs, "rr", "info", "one")
    emit(obs, "rr", "info", "two")
    obs.close()
    assert path.read_text() == "old\none\ntwo\n"
    assert out.getvalue() == "one\ntwo\n"
    assert err.getvalue() == ""


def test_file_logger_options_writes_json_to_that_file_only(tmp_path: Path) -> None:
    """file_logger_options: production JSON goes to log_output only; output is ignored."""
    path = tmp_path / "rotating.log"
    obs, out, err = observer(LogChannelConfig(
        mode="development", output=("stdout",),
        file_logger_options=FileLoggerConfig(log_output=str(path)),
    ))
    emit(obs, "rr.http", "info", "to the file")
    obs.close()
    assert out.getvalue() == err.getvalue() == ""
    record = json.loads(path.read_text())
    assert list(record)[:4] == ["level", "ts", "logger", "msg"]
    assert record["msg"] == "to the file"


def test_line_ending_and_skip_line_ending() -> None:
    """line_ending replaces the newline; skip_line_ending appends nothing."""
    obs, out, _ = observer(LogChannelConfig(mode="raw", output=("stdout",), line_ending="\r\n"))
    emit(obs, "rr", "info", "a")
    assert out.getvalue() == "a\r\n"
    obs, out, _ = observer(LogChannelConfig(mode="raw", output=("stdout",), skip_line_ending=True))
    emit(obs, "rr", "info", "a")
    emit(obs, "rr", "info", "b")
    assert out.getvalue() == "ab"


def test_log_failure_traceback_goes_into_one_error_field() -> None:
    """log.failure's traceback is a single 'error' string field, so the record is one line."""
    obs, out, _ = observer(LogChannelConfig(mode="production", output=("stdout",)))
    log, captured = events("rr.pool")
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.failure("pool {pool} failed", pool="http")
    obs(captured[0])
    assert out.getvalue().count("\n") == 1
    record = json.loads(out.getvalue())
    assert record["msg"] == "pool http failed"
    assert record["level"] == "error"  # log.failure is critical, shown as zap's error
    assert "ZeroDivisionError" in record["error"]
    assert "Traceback" in record["error"]


def test_failure_and_exception_fields_render_as_text() -> None:
    """A Failure or exception field is its exception text, and bytes are decoded."""
    obs, out, _ = observer(LogChannelConfig(mode="production", output=("stdout",)))
    emit(obs, "rr", "warn", "worker exited: {reason}",
         reason=Failure(RuntimeError("exit code 3")), exc=ValueError("bad"), raw=b"\xffok")
    record = json.loads(out.getvalue())
    assert record["msg"].startswith("worker exited: ")
    assert record["reason"] == "exit code 3"
    assert record["exc"] == "bad"
    assert record["raw"] == "\ufffdok"


def test_fields_do_not_clobber_record_keys() -> None:
    """A field named like a record key does not replace level, ts, logger or msg."""
    obs, out, _ = observer(LogChannelConfig(mode="production", output=("stdout",)))
    emit(obs, "rr", "info", "real", msg="fake", logger="fake", ts="fake")
    record = json.loads(out.getvalue())
    assert record["msg"] == "real"
    assert record["logger"] == "rr"
    assert record["ts"] == int(T0 * 1e9)


def test_unencodable_strings_fall_back() -> None:
    """A lone surrogate (undecodable worker output) still yields a valid JSON line."""
    obs, out, _ = observer(LogChannelConfig(mode="production", output=("stdout",)))
    emit(obs, "rr", "info", "{line}", line="bad \udcff byte", pid=1)
    record = json.loads(out.getvalue())
    assert record["logger"] == "rr"


def test_write_errors_go_to_err_output() -> None:
    """A failing destination is reported on err_output; the caller never sees an exception."""

    class Broken(io.StringIO):
        def write(self, s: str) -> int:
            raise OSError("disk full")

    err = io.StringIO()
    obs = make_observer(LogsConfig(root=LogChannelConfig(mode="raw", output=("stdout",))),
                        stdout=Broken(), stderr=err, isatty=lambda _s: False, environ={})
    emit(obs, "rr", "info", "x")
    assert "disk full" in err.getvalue()


def test_unknown_mode_is_a_plain_console_logger() -> None:
    """An unknown mode logs console lines without colour at debug level."""
    obs, _, err = observer(LogChannelConfig(mode="fancy"), tty=True)
    emit(obs, "rr", "debug", "hi")
    assert err.getvalue() == "2025-01-02T03:04:05+0000\tDEBUG\trr          \thi\n"


def test_production_json_helper_forces_json_everywhere() -> None:
    """production_json switches the root and every channel to production JSON."""
    logs = production_json(LogsConfig(
        root=LogChannelConfig(mode="development", level="warn"),
        channels={"server": LogChannelConfig(mode="raw")},
    ))
    assert (logs.root.mode, logs.root.encoding, logs.root.level) == ("production", "json", "warn")
    assert (logs.channels["server"].mode, logs.channels["server"].encoding) == ("production", "json")


def test_start_logging_begins_global_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """start_logging hands our observer to globalLogBeginner without redirecting stdio."""
    calls: list[tuple[list[object], bool]] = []
    monkeypatch.setattr(globalLogBeginner, "beginLoggingTo",
                        lambda observers, redirectStandardIO=True: calls.append(  # noqa: N803
                            (list(observers), redirectStandardIO)))
    obs = start_logging(LogsConfig())
    assert calls == [([obs], False)]
    assert isinstance(obs, RRLogObserver)
