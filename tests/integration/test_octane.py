"""Laravel Octane drives txrr exactly as it drives RoadRunner (octane.md): same argv, same output parsing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING, Any

import psutil
import pytest

from tests.integration.conftest import PHP_DIR, REPO, free_port, require_php

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.integration

RR = [sys.executable, "-m", "rr.cli.main"]


def rr_env(base: Path) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=str(REPO),
        APP_ENV="local",
        APP_BASE_PATH=str(base),
        LARAVEL_OCTANE="1",
    )


def octane_argv(base: Path, port: int, rpc_port: int, command: str) -> list[str]:
    """StartRoadRunnerCommand's argument list (octane.md §3.2), in its order."""
    return [
        *RR,
        "-c", str((base / ".rr.yaml").resolve()),
        "-o", "version=3",
        "-o", f"http.address=127.0.0.1:{port}",
        "-o", f"server.command={command}",
        "-o", "http.pool.num_workers=2",
        "-o", "http.pool.max_jobs=500",
        "-o", f"rpc.listen=tcp://127.0.0.1:{rpc_port}",
        "-o", "http.pool.supervisor.exec_ttl=30s",
        "-o", f"http.static.dir={base / 'public'}",
        "-o", "http.middleware=static",
        "-o", "logs.mode=production",
        "-o", "logs.level=debug",
        "-o", "logs.output=stdout",
        "-o", "logs.encoding=json",
        "serve",
    ]


def get_json(port: int) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as resp:
        return json.loads(resp.read())


def wait_http(proc: subprocess.Popen[bytes], port: int, base: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError((base / "out").read_text() + (base / "err").read_text())
        try:
            get_json(port)
        except OSError:
            time.sleep(0.1)
        else:
            return
    raise AssertionError("rr did not serve in 30 s")


def reload_like_octane(base: Path, rpc_port: int, *, new_style: bool) -> subprocess.CompletedProcess[str]:
    """ReloadCommand: `rr reset [-o version=3] -o rpc.listen=... -s` from the base path, no -c."""
    version = ["-o", "version=3"] if new_style else []
    return subprocess.run(
        [*RR, "reset", *version, "-o", f"rpc.listen=tcp://127.0.0.1:{rpc_port}", "-s"],
        cwd=base, env=rr_env(base), capture_output=True, text=True, timeout=60, check=False,
    )


def test_version_output_octane_parses() -> None:
    """`rr --version` on stdout: third word a plain version >= 2023.3.0, no config needed."""
    out = subprocess.run(
        [*RR, "--version"], env=dict(os.environ, PYTHONPATH=str(REPO)), cwd="/",
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert out.stdout.startswith("rr version ")
    word = out.stdout.split(" ")[2]
    assert tuple(int(p) for p in word.split(".")) >= (2023, 3, 0)


def check_output_octane_reads(base: Path, *, strict_stderr: bool) -> None:
    """Every JSON stdout line has level/ts/logger/msg; worker stderr is under "server" at info;
    stderr holds nothing Octane would print as an error."""
    lines = [line for line in (base / "out").read_text().splitlines() if line]
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # plain lines ("[INFO] RoadRunner server started") Octane prints as INFO
        assert isinstance(record, dict)
        assert {"level", "ts", "logger", "msg"} <= set(record), line
        assert record["level"] in ("debug", "info", "warn", "error")
        if record["msg"] == "http log":
            assert isinstance(record["elapsed"], int)
            assert {"method", "status", "URI", "remote_address"} <= set(record)
        records.append(record)
    stderr_records = [
        r for r in records if r["logger"] == "server" and r["msg"].startswith('{"type":"request"')
    ]
    assert stderr_records, lines
    assert all(r["level"] == "info" for r in stderr_records)
    assert json.loads(stderr_records[0]["msg"])["statusCode"] == 200
    noisy = [line for line in (base / "err").read_text().splitlines()
             if line.strip() and not any(k in line for k in ("DEBUG", "INFO", "WARN"))]
    if strict_stderr:
        assert noisy == []  # Octane would print each of these as an error


@pytest.mark.parametrize("form", ["comma list", "one string"])
def test_octane_start_reload_stop(tmp_path: Path, form: str) -> None:
    """Octane's argv starts txrr on an empty .rr.yaml; reload with `rr reset -s` is silent and
    replaces the workers; JSON log lines carry level/ts/logger/msg and worker stderr is logged
    under "server"; SIGTERM stops with 0 (SIGINT+SIGTERM, Ctrl-C, exits 1), no worker left."""
    require_php()
    # a comma list keeps a path with spaces whole; the old one-string form splits on spaces
    base = tmp_path / ("app with space" if form == "comma list" else "app")
    (base / "public").mkdir(parents=True)
    (base / ".rr.yaml").write_text("")  # Octane touches an empty file
    worker = base / "vendor" / "bin" / "roadrunner-worker"
    worker.parent.mkdir(parents=True)
    source = (PHP_DIR / "octane_worker.php").read_text()
    worker.write_text(source.replace("__DIR__ . '/../../php", f"'{REPO}/php"))
    port, rpc_port = free_port(), free_port()
    command = f"php,{worker}" if form == "comma list" else f"php {worker}"
    with (base / "out").open("wb") as out, (base / "err").open("wb") as err:
        proc = subprocess.Popen(
            octane_argv(base, port, rpc_port, command),
            cwd=base, env=rr_env(base), stdout=out, stderr=err, stdin=subprocess.PIPE,
        )
    try:
        wait_http(proc, port, base)
        first = get_json(port)
        assert first["octane"] == "1"
        before = {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}

        reload = reload_like_octane(base, rpc_port, new_style=form == "one string")
        assert (reload.returncode, reload.stdout, reload.stderr) == (0, "", "")
        after = {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        assert first["pid"] in before
        assert first["pid"] not in after
        assert get_json(port)["pid"] in after

        if form == "one string":  # Ctrl-C in a terminal: SIGINT to rr, then Octane's SIGTERM
            proc.send_signal(signal.SIGINT)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 1
        else:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(0.5)
    assert not [p for p in after if psutil.pid_exists(p)
                and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]

    check_output_octane_reads(base, strict_stderr=form == "comma list")
