"""The rr command: version, help, pre-step, stop, client commands and exit codes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from rr import _version
from rr.cli import main as cli
from rr.cli._render import version_line
from rr.errors import ConfigError
from rr.exitcodes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
VERSION_RE = re.compile(
    r"^rr version 2025\.1\.0 \(build time: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000, "
    r"txrr 0\.1\.0 python\d+\.\d+\), OS: [a-z]+, arch: [a-z0-9]+\n$"
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch working directory; cwd and DOTENV_PATH are restored afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DOTENV_PATH", raising=False)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    return tmp_path


def test_exit_codes_are_sysexits() -> None:
    """OK 0, FAILURE 1, USAGE 64, UNAVAILABLE 69, CONFIG 78."""
    assert [int(c) for c in ExitCode] == [0, 1, 64, 69, 78]


def test_version_line_format() -> None:
    """--version prints rr version <RR_VERSION> (build time…, txrr …), OS, arch; Octane's third word."""
    assert VERSION_RE.match(version_line() + "\n")
    assert version_line().split(" ")[2] == _version.RR_VERSION


def test_version_needs_no_config(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """rr --version works anywhere, prints only to stdout and exits 0."""
    assert cli.main(["--version"]) == 0
    out, err = capsys.readouterr()
    assert VERSION_RE.match(out)
    assert err == ""
    assert Path.cwd() == workdir


def test_version_as_a_module_subprocess(tmp_path: Path) -> None:
    """`python -m rr.cli.main --version` prints the version line on stdout."""
    proc = subprocess.run(
        [sys.executable, "-m", "rr.cli.main", "--version"], cwd=tmp_path, capture_output=True,
        text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False, timeout=30,
    )
    assert proc.returncode == 0
    assert VERSION_RE.match(proc.stdout)
    assert proc.stderr == ""


def test_no_command_prints_help(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`rr` alone prints help on stdout and exits 0."""
    assert cli.main([]) == 0
    assert "usage: rr" in capsys.readouterr().out


def test_usage_error_is_one_line_exit_64(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown flag prints one `error:` line on stderr (no usage dump), exit 64."""
    assert cli.main(["serve", "--bogus"]) == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1


def test_empty_config_path(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-c '' fails with `no configuration file provided`."""
    assert cli.main(["-c", "", "stop"]) == ExitCode.USAGE
    assert capsys.readouterr().err == "error: no configuration file provided\n"


def _fake_serve(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Replace the serve command with a recorder of (cwd, config path)."""
    seen: list[tuple[str, str]] = []

    def serve(args: Any, path: str) -> int:
        seen.append((str(Path.cwd()), path))
        return 0

    monkeypatch.setitem(cli._COMMANDS, "serve", serve)
    return seen


def test_pre_step_chdirs_to_the_config_directory(workdir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Without -w, rr chdirs to the config file's directory and passes an absolute path."""
    (workdir / "app").mkdir()
    seen = _fake_serve(monkeypatch)
    assert cli.main(["-c", "app/.rr.yaml", "serve"]) == 0
    assert seen == [(str(workdir / "app"), str(workdir / "app" / ".rr.yaml"))]


def test_pre_step_with_workdir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With -w, rr chdirs there and resolves -c relative to it (and stays there)."""
    (workdir / "srv" / "conf").mkdir(parents=True)
    seen = _fake_serve(monkeypatch)
    assert cli.main(["serve", "-w", "srv", "-c", "conf/rr.yaml"]) == 0
    assert seen == [(str(workdir / "srv"), str(workdir / "srv" / "conf" / "rr.yaml"))]


def test_pre_step_missing_workdir(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A -w that does not exist is an error, exit 1."""
    assert cli.main(["-w", "nope", "stop"]) == ExitCode.FAILURE
    assert capsys.readouterr().err.startswith("error: ")


def test_dotenv_loads_without_overriding(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--dotenv (relative to the new cwd) sets variables that are not already set."""
    (workdir / "app").mkdir()
    (workdir / "app" / ".env").write_text("RR_T_NEW=from-file\nRR_T_OLD=from-file\n")
    monkeypatch.setenv("RR_T_OLD", "kept")
    monkeypatch.delenv("RR_T_NEW", raising=False)
    _fake_serve(monkeypatch)
    assert cli.main(["-c", "app/.rr.yaml", "--dotenv", ".env", "serve"]) == 0
    assert os.environ["RR_T_NEW"] == "from-file"
    assert os.environ["RR_T_OLD"] == "kept"


def test_dotenv_path_variable_wins(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DOTENV_PATH is used instead of --dotenv."""
    (workdir / "env.a").write_text("RR_T_WHICH=a\n")
    (workdir / "env.b").write_text("RR_T_WHICH=b\n")
    monkeypatch.delenv("RR_T_WHICH", raising=False)
    monkeypatch.setenv("DOTENV_PATH", "env.b")
    _fake_serve(monkeypatch)
    assert cli.main(["--dotenv", "env.a", "serve"]) == 0
    assert os.environ["RR_T_WHICH"] == "b"


def test_missing_dotenv_is_an_error(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A missing dotenv file fails with exit 1 before the command runs."""
    seen = _fake_serve(monkeypatch)
    assert cli.main(["--dotenv", "missing.env", "serve"]) == ExitCode.FAILURE
    assert "missing.env" in capsys.readouterr().err
    assert seen == []


def test_pid_flag_writes_pid_without_newline(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """-p writes our pid to .pid next to the config, with no trailing newline."""
    _fake_serve(monkeypatch)
    assert cli.main(["-sp", "serve"]) == 0
    assert (workdir / ".pid").read_text() == str(os.getpid())


def test_serve_missing_version_exits_78(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """rr serve on an empty config (no version) is a config error: one line, exit 78."""
    (workdir / ".rr.yaml").write_text("")
    assert cli.main(["serve"]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert err.startswith("error: handle_serve_command: ")
    assert "should contain a version" in err
    assert err.count("\n") == 1


def test_config_error_from_load_exits_78(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Every ConfigError problem is listed on one line and the exit code is 78."""

    def load(*_a: object, **_k: object) -> None:
        raise ConfigError([("http.address", "bad"), ("", "worse")])

    monkeypatch.setattr("rr.config.load", load)
    assert cli.main(["reset"]) == ExitCode.CONFIG
    assert capsys.readouterr().err == "error: http.address: bad; worse\n"


# -- stop -----------------------------------------------------------------------------

CHILD = """
import signal, sys, time
count = 0
def term(*_):
    global count
    count += 1
    print("term", count, flush=True)
signal.signal(signal.SIGTERM, term)
print("ready", flush=True)
for _ in range(300):
    time.sleep(0.01)
    if count >= int(sys.argv[1]):
        break
"""


def _spawn_child(terms: int) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(terms)], stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    return child


def test_stop_sends_sigterm_to_the_pid_file(workdir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """rr stop reads .pid (a trailing newline is fine), SIGTERMs it and logs to stderr."""
    child = _spawn_child(1)
    try:
        (workdir / ".pid").write_text(f"{child.pid}\n")
        assert cli.main(["stop"]) == 0
        out, _ = child.communicate(timeout=10)
    finally:
        child.kill()
    assert out == "term 1\n"
    err = capsys.readouterr().err
    assert re.match(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d stopping process with PID: \d+\n$", err)


def test_stop_force_sends_a_second_sigterm(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """rr stop -f waits one second and sends SIGTERM again; -s keeps stderr quiet."""
    waits: list[float] = []
    child = _spawn_child(2)
    assert child.stdout is not None

    def wait_for_first_term(seconds: float) -> None:
        # Stands in for the 1 s pause: returns once the child handled the first SIGTERM.
        waits.append(seconds)
        assert child.stdout is not None
        assert child.stdout.readline() == "term 1\n"

    monkeypatch.setattr(cli, "_sleep", wait_for_first_term)
    try:
        (workdir / ".pid").write_text(str(child.pid))
        assert cli.main(["stop", "-f", "-s"]) == 0
        out, _ = child.communicate(timeout=10)
    finally:
        child.kill()
    assert waits == [1.0]
    assert out == "term 2\n"
    assert capsys.readouterr().err == ""


def test_stop_without_pid_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing .pid is an error telling the user to start with rr serve -p."""
    assert cli.main(["stop"]) == ExitCode.FAILURE
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "rr serve -p" in err


def test_stop_with_garbage_pid_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A .pid that is not a number is an error, exit 1."""
    (workdir / ".pid").write_text("abc")
    assert cli.main(["stop"]) == ExitCode.FAILURE
    assert capsys.readouterr().err.startswith("error: invalid process id")


def test_stop_notifies_systemd(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """rr stop sends STOPPING=1 to $NOTIFY_SOCKET."""
    path = workdir / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        child = _spawn_child(1)
        try:
            (workdir / ".pid").write_text(str(child.pid))
            assert cli.main(["-s", "stop"]) == 0
            child.communicate(timeout=10)
        finally:
            child.kill()
        sock.settimeout(5)
        assert sock.recv(100) == b"STOPPING=1"


# -- client commands ------------------------------------------------------------------


class FakeRPC:
    """Replaces rpc_call: records calls, answers from a table, raises Exceptions found there."""

    def __init__(self, replies: dict[tuple[str, object], object]) -> None:
        self.replies = replies
        self.calls: list[tuple[str, str, object]] = []

    def __call__(self, listen: str, method: str, params: object) -> object:
        self.calls.append((listen, method, params))
        key = (method, params if not isinstance(params, dict | list) else repr(params))
        reply = self.replies.get(key)
        if isinstance(reply, Exception):
            raise reply
        return reply


@pytest.fixture
def octane_dir(workdir: Path) -> Path:
    """Octane's empty .rr.yaml (no version, no rpc section)."""
    (workdir / ".rr.yaml").write_text("")
    return workdir


def test_client_needs_rpc_section(octane_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without rpc in the config or -o, reset fails with the upstream hint, exit 1."""
    assert cli.main(["reset", "-s"]) == ExitCode.FAILURE
    assert capsys.readouterr().err == (
        "error: rpc service not specified in the configuration. Tip: add\n rpc:\n\tlisten: rpc_dsn\n"
    )


def test_client_without_rpc_client_module(octane_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """If rr.rpc.client cannot be imported, client commands say so on stderr, exit 1."""
    monkeypatch.setitem(sys.modules, "rr.rpc.client", None)
    assert cli.main(["reset", "-s", "-o", "rpc.listen=tcp://127.0.0.1:6001"]) == 1
    assert capsys.readouterr().err == "error: RPC client not available in this build\n"


def test_rpc_call_uses_rr_rpc_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """rpc_call delegates to rr.rpc.client.call(listen, method, params)."""
    module = types.ModuleType("rr.rpc.client")
    module.call = lambda listen, method, params: (listen, method, params)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rr.rpc.client", module)
    assert cli.rpc_call("tcp://x:1", "resetter.List", True) == (  # noqa: FBT003
        ("tcp://x:1", "resetter.List", True)
    )


def test_octane_reset_is_silent_on_success(octane_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`rr reset -o version=3 -o rpc.listen=… -s` lists, resets every plugin, prints nothing."""
    rpc = FakeRPC({("resetter.List", True): ["http", "jobs"],
                   ("resetter.Reset", "http"): True, ("resetter.Reset", "jobs"): True})
    monkeypatch.setattr(cli, "rpc_call", rpc)
    argv = ["reset", "-o", "version=3", "-o", "rpc.listen=tcp://127.0.0.1:6001", "-s"]
    assert cli.main(argv) == 0
    assert capsys.readouterr() == ("", "")
    assert sorted(c[1:] for c in rpc.calls) == [
        ("resetter.List", True), ("resetter.Reset", "http"), ("resetter.Reset", "jobs")]
    assert {c[0] for c in rpc.calls} == {"tcp://127.0.0.1:6001"}


def test_reset_progress_lines_and_errors(octane_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Without -s reset logs progress on stderr; a failing plugin is an error line, exit 1."""
    rpc = FakeRPC({("resetter.Reset", "http"): True,
                   ("resetter.Reset", "nope"): RuntimeError("no such plugin: nope")})
    monkeypatch.setattr(cli, "rpc_call", rpc)
    assert cli.main(["reset", "http", "nope", "-o", "rpc.listen=tcp://127.0.0.1:6001"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = [re.sub(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ", "", x) for x in err.splitlines()]
    assert "resetting plugin: [http]" in lines
    assert "plugin reset: [http]" in lines
    assert "resetting plugin: [nope]" in lines
    assert "error: plugin nope: no such plugin: nope" in lines
    assert "plugin reset: [nope]" not in lines


def test_reset_silent_failure_still_writes_stderr(octane_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """With -s a failure is still reported on stderr (Octane judges by stderr only)."""
    rpc = FakeRPC({("resetter.List", True): ConnectionRefusedError("connection refused")})
    monkeypatch.setattr(cli, "rpc_call", rpc)
    assert cli.main(["reset", "-s", "-o", "rpc.listen=tcp://127.0.0.1:6001"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "connection refused" in err


def test_workers_prints_tables(octane_dir: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """rr workers prints a table per plugin with workers, skips empty ones, exit 0."""
    worker = {"pid": 42, "status": 1, "numExecs": 1234, "created": 0, "memoryUsage": 45_000_000,
              "CPUPercent": 0.5, "command": "", "statusStr": "ready"}
    rpc = FakeRPC({("informer.List", True): ["http", "tcp"],
                   ("informer.Workers", "http"): {"workers": [worker]},
                   ("informer.Workers", "tcp"): {"workers": []}})
    monkeypatch.setattr(cli, "rpc_call", rpc)
    assert cli.main(["workers", "-o", "rpc.listen=tcp://127.0.0.1:6001"]) == 0
    out = capsys.readouterr().out
    assert "Workers of [http]:" in out
    assert "Workers of [tcp]" not in out
    assert "| 42  | ready  | 1,234 | 45 MB  | 0.50 |" in out


def test_workers_interactive_redraws_until_interrupted(
    octane_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """-i clears once, redraws every second from the top-left, exits 0 on Ctrl-C."""
    worker = {"pid": 7, "statusStr": "ready", "created": 0}
    rpc = FakeRPC({("informer.Workers", "http"): {"workers": [worker]}})
    monkeypatch.setattr(cli, "rpc_call", rpc)
    waits: list[float] = []

    def tick(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_sleep", tick)
    before = signal.getsignal(signal.SIGTERM)
    assert cli.main(["workers", "-i", "http", "-o", "rpc.listen=tcp://127.0.0.1:6001"]) == 0
    assert signal.getsignal(signal.SIGTERM) == before
    out = capsys.readouterr().out
    assert waits == [1.0, 1.0, 1.0]
    assert out.startswith("\x1b[2J\x1b[H")
    assert out.count("Workers of [http]:") == 2


def test_workers_list_failure(octane_dir: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    """A failing informer.List is `failed to get list of plugins: …`, exit 1."""
    monkeypatch.setattr(cli, "rpc_call", FakeRPC({("informer.List", True): OSError("refused")}))
    assert cli.main(["workers", "-o", "rpc.listen=tcp://127.0.0.1:6001"]) == 1
    assert capsys.readouterr().err == "error: failed to get list of plugins: refused\n"


def test_jobs_pause_and_list(octane_dir: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    """rr jobs --pause calls jobs.Pause with the pipelines; --list prints the names."""
    rpc = FakeRPC({("jobs.List", repr({})): {"pipelines": ["b", "a"]}})
    monkeypatch.setattr(cli, "rpc_call", rpc)
    listen = ["-o", "rpc.listen=tcp://127.0.0.1:6001"]
    assert cli.main(["jobs", "--pause", "a,b", *listen]) == 0
    assert rpc.calls[-1][1:] == ("jobs.Pause", {"pipelines": ["a", "b"]})
    assert "PIPELINE(S)" in capsys.readouterr().out
    assert cli.main(["jobs", "--resume", "a", "-s", *listen]) == 0
    assert capsys.readouterr().out == ""
    assert cli.main(["jobs", "--list", *listen]) == 0
    out = capsys.readouterr().out
    assert "| b " in out
    assert "| a " in out


def test_jobs_without_action_is_usage(octane_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """rr jobs without an action is a usage error (64)."""
    assert cli.main(["jobs"]) == ExitCode.USAGE
    assert capsys.readouterr().err.startswith("error: command should be in form of")
