# -*- test-case-name: tests.cli.test_render -*-
"""Text the ``rr`` command prints: the version line, console lines and ASCII tables.

``rr --version`` is parsed by Laravel Octane (third word, ``>= 2023.3.0``), so its
shape is fixed (rpc-and-cli.md §4.3). The ``rr workers`` tables follow §4.10: upper-case
headers, left-aligned cells, ASCII borders, go-humanize style numbers.
"""

from __future__ import annotations

import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rr import _version

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "build_time",
    "error_line",
    "go_arch",
    "go_os",
    "go_timestamp",
    "human_bytes",
    "human_since",
    "jobs_table",
    "pipelines_table",
    "started_line",
    "table",
    "version_line",
    "workers_table",
]

_GO_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i386": "386",
    "i686": "386",
    "x86": "386",
    "armv7l": "arm",
    "armv6l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def go_os() -> str:
    """Return the OS name as Go spells it (``linux``, ``darwin``, ``windows``…)."""
    name = sys.platform
    if name.startswith("linux"):
        return "linux"
    if name == "win32":
        return "windows"
    return re.sub(r"\d+$", "", name)


def go_arch() -> str:
    """Return the CPU architecture as Go spells it (``amd64``, ``arm64``…)."""
    machine = platform.machine().lower()
    return _GO_ARCH.get(machine, machine or "unknown")


def build_time() -> str:
    """Return the build time: ``rr._version.BUILD_TIME`` if set, else the package's mtime."""
    fixed = getattr(_version, "BUILD_TIME", None)
    if isinstance(fixed, str) and fixed:
        return fixed
    mtime = Path(_version.__file__).stat().st_mtime
    return datetime.fromtimestamp(int(mtime), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def version_line() -> str:
    """Return the ``rr --version`` line (no newline)."""
    runtime = f"txrr {_version.__version__} python{sys.version_info[0]}.{sys.version_info[1]}"
    return (
        f"rr version {_version.RR_VERSION} (build time: {build_time()}, {runtime}), "
        f"OS: {go_os()}, arch: {go_arch()}"
    )


def started_line() -> str:
    """Return the line ``rr serve`` prints once it is serving."""
    return (
        f"[INFO] RoadRunner server started; version: {_version.RR_VERSION}, "
        f"buildtime: {build_time()}"
    )


def error_line(message: str, *, colour: bool = False) -> str:
    """Return ``error: <message>``, bold red when ``colour``."""
    text = "error: " + message.strip()
    return f"\x1b[1;31m{text}\x1b[0m" if colour else text


def go_timestamp(now: datetime) -> str:
    """Return Go's ``log`` prefix for ``now``: ``2006/01/02 15:04:05 ``."""
    return now.strftime("%Y/%m/%d %H:%M:%S ")


def human_bytes(size: int) -> str:
    """Return a size in SI units the way go-humanize prints it (``45 MB``, ``1.2 GB``)."""
    if size < 10:  # noqa: PLR2004
        return f"{max(size, 0)} B"
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB")
    exponent = 0
    value = float(size)
    while value >= 1000 and exponent < len(units) - 1:  # noqa: PLR2004
        value /= 1000
        exponent += 1
    rounded = int(value * 10 + 0.5) / 10
    shown = f"{rounded:.1f}" if rounded < 10 else f"{rounded:.0f}"  # noqa: PLR2004
    return f"{shown} {units[exponent]}"


_SPANS = (
    (1, "now", 1),
    (2, "1 second ago", 1),
    (60, "{} seconds ago", 1),
    (120, "1 minute ago", 60),
    (3600, "{} minutes ago", 60),
    (7200, "1 hour ago", 3600),
    (86400, "{} hours ago", 3600),
    (2 * 86400, "1 day ago", 86400),
    (7 * 86400, "{} days ago", 86400),
    (14 * 86400, "1 week ago", 7 * 86400),
    (30 * 86400, "{} weeks ago", 7 * 86400),
    (60 * 86400, "1 month ago", 30 * 86400),
    (365 * 86400, "{} months ago", 30 * 86400),
    (2 * 365 * 86400, "1 year ago", 365 * 86400),
)


def human_since(created_ns: int, now_ns: int) -> str:
    """Return a relative time the way go-humanize prints it (``5 seconds ago``)."""
    seconds = max(0, (now_ns - created_ns) // 1_000_000_000)
    for limit, text, unit in _SPANS:
        if seconds < limit:
            return text.format(seconds // unit)
    return f"{seconds // (365 * 86400)} years ago"


_STATUS_COLOUR = {
    "ready": 36,
    "working": 32,
    "inactive": 33,
    "invalid": 33,
    "stopped": 31,
    "errored": 31,
}


def _paint(text: str, code: int | None, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text


def table(headers: Sequence[str], rows: Sequence[Sequence[str]],
          colours: Sequence[Sequence[int | None]] | None = None, *, colour: bool = False) -> str:
    """Return an ASCII table with upper-cased headers and left-aligned cells."""
    heads = [h.upper() for h in headers]
    widths = [len(h) for h in heads]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: Sequence[str], codes: Sequence[int | None]) -> str:
        parts = [
            " " + _paint(cell, codes[i] if i < len(codes) else None, colour)
            + " " * (widths[i] - len(cell) + 1)
            for i, cell in enumerate(cells)
        ]
        return "|" + "|".join(parts) + "|"

    out = [border, line(heads, ()), border]
    for index, row in enumerate(rows):
        out.append(line(row, colours[index] if colours else ()))
    out.append(border)
    return "\n".join(out)


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float | str) and str(value).strip() else 0


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float | str) and str(value).strip() else 0.0


def workers_table(workers: Sequence[Mapping[str, object]], *, now_ns: int, service: bool = False,
                  colour: bool = False) -> str:
    """Return the ``rr workers`` table of one plugin, sorted by PID."""
    ordered = sorted(workers, key=lambda w: _int(w.get("pid")))
    if service:
        rows = [
            [str(_int(w.get("pid"))), human_bytes(_int(w.get("memoryUsage"))),
             f"{_float(w.get('CPUPercent')):.2f}", str(w.get("command", ""))]
            for w in ordered
        ]
        return table(["PID", "MEMORY", "CPU%", "COMMAND"], rows, colour=colour)
    rows, codes = [], []
    for w in ordered:
        status = str(w.get("statusStr", ""))
        rows.append([
            str(_int(w.get("pid"))), status, f"{_int(w.get('numExecs')):,}",
            human_bytes(_int(w.get("memoryUsage"))), f"{_float(w.get('CPUPercent')):.2f}",
            human_since(_int(w.get("created")), now_ns),
        ])
        codes.append([None, _STATUS_COLOUR.get(status)])
    headers = ["PID", "STATUS", "EXECS", "MEMORY", "CPU%", "CREATED"]
    return table(headers, rows, codes, colour=colour)


def error_table(headers: Sequence[str], error: str) -> str:
    """Return a one-row table for a failed RPC call: ``0``/error text, then ``ERROR``."""
    row = [error] if headers[0] != "PID" else ["0", error]
    row += ["ERROR"] * (len(headers) - len(row))
    return table(headers, [row])


def jobs_table(states: Sequence[Mapping[str, object]]) -> str:
    """Return the ``Jobs of [plugin]`` table, sorted by pipeline."""
    ordered = sorted(states, key=lambda s: str(s.get("pipeline", "")))
    rows = [
        ["READY" if s.get("ready") else "PAUSED/STOPPED", str(s.get("pipeline", "")),
         str(s.get("driver", "")), str(s.get("queue", "")), str(_int(s.get("active"))),
         str(_int(s.get("delayed"))), str(_int(s.get("reserved")))]
        for s in ordered
    ]
    return table(["STATUS", "PIPELINE", "DRIVER", "QUEUE", "ACTIVE", "DELAYED", "RESERVED"], rows)


def pipelines_table(names: Sequence[str]) -> str:
    """Return the one-column ``PIPELINE(S)`` table of ``rr jobs``."""
    return table(["PIPELINE(S)"], [[name] for name in names])
