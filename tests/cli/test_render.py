"""Console text of rr: version pieces, go-humanize numbers, ASCII tables, error lines."""

from __future__ import annotations

import pytest

from rr.cli import _render
from rr.cli._render import (
    error_line,
    error_table,
    human_bytes,
    human_since,
    jobs_table,
    pipelines_table,
    table,
    workers_table,
)

S = 1_000_000_000


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (9, "9 B"), (10, "10 B"), (999, "999 B"), (1000, "1.0 kB"), (1500, "1.5 kB"),
     (45_000_000, "45 MB"), (1_234_000_000, "1.2 GB"), (9_990_000, "10 MB")],
)
def test_human_bytes(size: int, text: str) -> None:
    """Sizes use SI units, one space, one decimal under 10 (go-humanize Bytes)."""
    assert human_bytes(size) == text


@pytest.mark.parametrize(
    ("ago", "text"),
    [(0, "now"), (1, "1 second ago"), (5, "5 seconds ago"), (90, "1 minute ago"),
     (600, "10 minutes ago"), (3 * 3600, "3 hours ago"), (86400, "1 day ago"),
     (3 * 86400, "3 days ago"), (800 * 86400, "2 years ago")],
)
def test_human_since(ago: int, text: str) -> None:
    """Creation times print as relative times (go-humanize Time)."""
    assert human_since(1000 * S, (1000 + ago) * S) == text


def test_table_layout() -> None:
    """Upper-case headers, left-aligned cells, ASCII borders."""
    assert table(["a", "bb"], [["xyz", "1"]]) == (
        "+-----+----+\n"
        "| A   | BB |\n"
        "+-----+----+\n"
        "| xyz | 1  |\n"
        "+-----+----+"
    )


def test_workers_table_sorted_and_formatted() -> None:
    """Rows are sorted by PID; EXECS has separators, CPU two decimals; status colour optional."""
    workers = [
        {"pid": 20, "numExecs": 5, "created": 0, "memoryUsage": 2_000_000, "CPUPercent": 1,
         "statusStr": "working"},
        {"pid": 10, "numExecs": 12345, "created": 0, "memoryUsage": 45_000_000,
         "CPUPercent": 0.126, "statusStr": "ready"},
    ]
    text = workers_table(workers, now_ns=5 * S)
    rows = [line for line in text.splitlines() if line.startswith(("| 1", "| 2"))]
    assert rows[0].startswith("| 10  | ready   | 12,345 | 45 MB  | 0.13 | 5 seconds ago |")
    assert rows[1].startswith("| 20  | working | 5      | 2.0 MB | 1.00 |")
    coloured = workers_table(workers, now_ns=5 * S, colour=True)
    assert "\x1b[36mready\x1b[0m" in coloured
    assert "\x1b[32mworking\x1b[0m" in coloured


def test_service_plugin_columns() -> None:
    """The service plugin shows PID, MEMORY, CPU%, COMMAND."""
    text = workers_table([{"pid": 1, "memoryUsage": 0, "CPUPercent": 0, "command": "php a.php"}],
                         now_ns=0, service=True)
    assert "| PID | MEMORY | CPU% | COMMAND   |" in text
    assert "php a.php" in text


def test_error_table_rows() -> None:
    """A failed call is one row: 0 and the error (worker tables), then ERROR columns."""
    text = error_table(["PID", "STATUS", "EXECS"], "boom")
    assert "| 0   | boom   | ERROR |" in text
    text = error_table(["STATUS", "PIPELINE"], "boom")
    assert "| boom   | ERROR    |" in text


def test_jobs_and_pipeline_tables() -> None:
    """Jobs tables sort by pipeline and show READY or PAUSED/STOPPED."""
    text = jobs_table([{"pipeline": "b", "driver": "memory", "ready": False},
                       {"pipeline": "a", "driver": "amqp", "queue": "q", "active": 3, "ready": True}])
    lines = text.splitlines()
    assert lines[3].startswith("| READY          | a        | amqp   | q     | 3      |")
    assert lines[4].startswith("| PAUSED/STOPPED | b        |")
    assert "| PIPELINE(S) |" in pipelines_table(["x"])


def test_error_line_colour() -> None:
    """error: lines are bold red only when colour is on."""
    assert error_line("x") == "error: x"
    assert error_line("x", colour=True) == "\x1b[1;31merror: x\x1b[0m"


def test_go_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    """OS and arch use Go's names."""
    monkeypatch.setattr(_render.platform, "machine", lambda: "x86_64")
    assert _render.go_arch() == "amd64"
    monkeypatch.setattr(_render.platform, "machine", lambda: "aarch64")
    assert _render.go_arch() == "arm64"
    monkeypatch.setattr(_render.sys, "platform", "darwin")
    assert _render.go_os() == "darwin"
    monkeypatch.setattr(_render.sys, "platform", "linux")
    assert _render.go_os() == "linux"


def test_build_time_prefers_a_fixed_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """rr._version.BUILD_TIME, when a build sets it, is the printed build time."""
    monkeypatch.setattr(_render._version, "BUILD_TIME", "2025-01-01T00:00:00+0000", raising=False)
    assert _render.build_time() == "2025-01-01T00:00:00+0000"
    assert "build time: 2025-01-01T00:00:00+0000," in _render.version_line()
