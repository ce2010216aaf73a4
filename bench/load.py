"""Drive load with wrk (HTTP/1.1) and h2load (HTTP/2), and account CPU per process role.

The load generators run on the same 2 cores as the servers, as in the issue's setup; the
CPU they use is reported too, so a reader can tell when the client was the bottleneck.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass
class Result:
    """One measurement: throughput, latency (ms), errors, CPU % of one core per role."""

    rps: float
    p50: float
    p99: float
    errors: int
    cpu: dict[str, float] = field(default_factory=dict)
    rr_rss_mb: float | None = None


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if m is None:
        msg = f"cannot read a wrk duration from {text!r}"
        raise ValueError(msg)
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str) -> tuple[float, float, float, int]:
    """rps, p50 ms, p99 ms, errors (socket errors + non-2xx) from `wrk --latency` output."""
    if "Requests/sec:" not in out:
        msg = f"cannot read wrk output:\n{out}"
        raise ValueError(msg)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return rps, p50, p99, errors


def parse_h2load(out: str, log: Path) -> tuple[float, float, float, int]:
    """rps, p50 ms, p99 ms, errors from h2load's summary and its per-request log file."""
    m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    req = re.search(
        r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed", out
    )
    if m is None or req is None:
        msg = f"cannot read h2load output:\n{out}"
        raise ValueError(msg)
    durations = []
    statuses_bad = 0
    for line in log.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 3:
            durations.append(int(parts[2]) / 1000.0)
            if not parts[1].startswith("2"):
                statuses_bad += 1
    if int(req.group(1)) == 0 or not durations:
        return 0.0, 0.0, 0.0, int(req.group(2)) or 1
    durations.sort()
    p50 = durations[len(durations) // 2]
    p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))]
    return float(m.group(1)), p50, p99, int(req.group(2)) + statuses_bad


class CpuMeter:
    """CPU seconds per role between start() and stop(), plus the peak RSS of role "rr"."""

    def __init__(self, roles: Callable[[], dict[str, list[psutil.Process]]]) -> None:
        self._roles = roles
        self._start: dict[int, tuple[str, float]] = {}
        self._t0 = 0.0
        self._rss_peak = 0
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            return 0.0
        return float(t.user + t.system)

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._start = {
            p.pid: (role, self._cpu(p)) for role, procs in self._roles().items() for p in procs
        }
        self._thread = threading.Thread(target=self._watch_rss, daemon=True)
        self._thread.start()

    def _watch_rss(self) -> None:
        while not self._done.wait(0.25):
            rss = 0
            for proc in self._roles().get("rr", []):
                try:
                    rss += proc.memory_info().rss
                except psutil.Error:
                    continue
            self._rss_peak = max(self._rss_peak, rss)

    def stop(
        self, client: psutil.Process | None = None, client_cpu: float = 0.0
    ) -> tuple[dict[str, float], float | None]:
        wall = time.monotonic() - self._t0
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        used: dict[str, float] = {}
        for role, procs in self._roles().items():
            for p in procs:
                before = self._start.get(p.pid, (role, 0.0))[1]
                used[role] = used.get(role, 0.0) + self._cpu(p) - before
        if client is not None:
            used["client"] = client_cpu
        cpu = {role: round(100.0 * sec / wall, 1) for role, sec in used.items()}
        rss = round(self._rss_peak / 2**20, 1) if self._rss_peak else None
        return cpu, rss


def _run_client(
    argv: list[str], meter: CpuMeter, timeout: float
) -> tuple[str, dict[str, float], float | None]:
    meter.start()
    proc = psutil.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    client_cpu = 0.0
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            t = proc.cpu_times()
            client_cpu = t.user + t.system
        except psutil.Error:
            pass
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    out, _ = proc.communicate()
    cpu, rss = meter.stop(proc, client_cpu)
    return out, cpu, rss


def wrk(url: str, connections: int, seconds: float, meter: CpuMeter) -> Result:
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
        url,
    ]
    out, cpu, rss = _run_client(argv, meter, seconds + 30)
    rps, p50, p99, errors = parse_wrk(out)
    return Result(rps, p50, p99, errors, cpu, rss)


def h2load(url: str, connections: int, streams: int, seconds: float, meter: CpuMeter) -> Result:
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        argv = [
            "h2load", "-t1", f"-c{connections}", f"-m{streams}", f"-D{max(1, round(seconds))}",
            f"--log-file={log.name}", url,
        ]  # fmt: skip
        out, cpu, rss = _run_client(argv, meter, seconds + 30)
        rps, p50, p99, errors = parse_h2load(out, Path(log.name))
    return Result(rps, p50, p99, errors, cpu, rss)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
