"""rr serve's life cycle: ready line, systemd notify, graceful and forced stop, boot failure."""

from __future__ import annotations

import io
import signal
import socket
from typing import TYPE_CHECKING

import pytest
from twisted.internet.defer import Deferred, fail
from twisted.internet.testing import MemoryReactorClock

from rr.cli import _serve
from rr.cli._serve import ServeRunner, install_signal_handlers, sd_notify
from rr.errors import BootError

if TYPE_CHECKING:
    from pathlib import Path


class FakeService:
    """Records what ServeRunner asks of the RoadRunner service."""

    def __init__(self) -> None:
        self.ready: Deferred[None] = Deferred()
        self.stopping: Deferred[None] = Deferred()
        self.started = 0
        self.stops = 0
        self.kills = 0

    def startService(self) -> None:
        self.started += 1

    def whenReady(self) -> Deferred[None]:
        return self.ready

    def stopService(self) -> Deferred[None]:
        self.stops += 1
        return self.stopping

    def kill_workers(self) -> None:
        self.kills += 1


class Harness:
    """A ServeRunner on a MemoryReactorClock with captured output, notify and exits."""

    def __init__(self, *, silent: bool = False, notify_ok: bool = False, grace: float = 30.0,
                 watchdog: int = 0) -> None:
        self.reactor = MemoryReactorClock()
        self.reactor.running = True
        self.service = FakeService()
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.notified: list[str] = []
        self.exits: list[int] = []
        self.notify_ok = notify_ok
        self.runner = ServeRunner(
            self.reactor, self.service, grace_period=grace, watchdog_sec=watchdog,  # type: ignore[arg-type]
            silent=silent, stdout=self.out, stderr=self.err, notify=self._notify,
            hard_exit=self.exits.append,
        )

    def _notify(self, state: str) -> bool:
        self.notified.append(state)
        return self.notify_ok


def test_ready_prints_started_line() -> None:
    """Once whenReady fires, the started line goes to stdout and READY=1 to systemd."""
    h = Harness()
    h.runner.start()
    assert h.service.started == 1
    assert h.out.getvalue() == ""
    h.service.ready.callback(None)
    assert h.out.getvalue().startswith("[INFO] RoadRunner server started; version: 2025.1.0, "
                                       "buildtime: ")
    assert h.notified == ["READY=1"]
    assert h.runner.exit_code is None


def test_silent_prints_nothing() -> None:
    """-s suppresses the started and stop lines."""
    h = Harness(silent=True)
    h.runner.start()
    h.service.ready.callback(None)
    h.runner.on_signal(signal.SIGTERM)
    h.service.stopping.callback(None)
    assert h.out.getvalue() == ""
    assert h.runner.exit_code == 0


def test_sdnotify_lines_and_watchdog() -> None:
    """With a notify socket: `sdnotify: notified`, and watchdog pings every half period."""
    h = Harness(notify_ok=True, watchdog=10)
    h.runner.start()
    h.service.ready.callback(None)
    lines = h.out.getvalue().splitlines()
    assert lines[1:] == ["[INFO] sdnotify: notified",
                         "[INFO] sdnotify: watchdog enabled, timeout: 10 seconds"]
    h.reactor.advance(5)
    h.reactor.advance(5)
    assert h.notified == ["READY=1", "WATCHDOG=1", "WATCHDOG=1"]
    h.runner.on_signal(signal.SIGTERM)
    h.reactor.advance(5)
    assert h.notified[-1] == "STOPPING=1"


def test_first_signal_stops_gracefully_exit_0() -> None:
    """The first signal prints the grace line, calls stopService and exits 0 when it fires."""
    h = Harness(grace=12)
    h.runner.start()
    h.service.ready.callback(None)
    h.runner.on_signal(signal.SIGINT)
    assert "stop signal received, grace timeout is: 12 seconds\n" in h.out.getvalue()
    assert h.service.stops == 1
    assert h.notified[-1] == "STOPPING=1"
    assert not h.reactor.hasStopped
    h.service.stopping.callback(None)
    assert h.runner.exit_code == 0
    assert h.reactor.hasStopped
    assert h.service.kills == 0
    assert h.exits == []


def test_failed_stop_exits_1() -> None:
    """stopService failing prints `error: …` and exits 1 (workers are killed)."""
    h = Harness()
    h.runner.start()
    h.service.ready.callback(None)
    h.runner.on_signal(signal.SIGTERM)
    h.service.stopping.errback(RuntimeError("pool stuck"))
    assert h.runner.exit_code == 1
    assert h.err.getvalue() == "error: pool stuck\n"
    assert h.service.kills == 1
    assert h.reactor.hasStopped


def test_second_signal_forces_exit_1_and_kills_workers() -> None:
    """A second signal prints `exit forced`, SIGKILLs workers and exits 1 at once."""
    h = Harness()
    h.runner.start()
    h.service.ready.callback(None)
    h.runner.on_signal(signal.SIGINT)
    h.runner.on_signal(signal.SIGTERM)
    assert h.out.getvalue().splitlines()[-1] == "exit forced"
    assert h.service.kills == 1
    assert h.exits == [1]
    assert h.runner.exit_code == 1


def test_grace_backstop() -> None:
    """If stopService never fires, the run ends with exit 1 shortly after the grace period."""
    h = Harness(grace=10)
    h.runner.start()
    h.service.ready.callback(None)
    h.runner.on_signal(signal.SIGTERM)
    h.reactor.advance(10)
    assert h.runner.exit_code is None
    h.reactor.advance(5)
    assert h.runner.exit_code == 1
    assert h.service.kills == 1
    assert "error: graceful stop did not finish within 10 seconds" in h.err.getvalue()


def test_backstop_is_cancelled_after_a_clean_stop() -> None:
    """A stop that finishes in time leaves no pending timer behind."""
    h = Harness(grace=10)
    h.runner.start()
    h.runner.on_signal(signal.SIGTERM)
    h.service.stopping.callback(None)
    assert h.reactor.getDelayedCalls() == []


def test_boot_failure_exits_69_for_booterror() -> None:
    """whenReady failing with BootError prints `error: …`, kills workers, exits 69."""
    h = Harness()
    h.runner.start()
    h.service.ready.errback(BootError("worker failed handshake"))
    assert h.err.getvalue() == "error: worker failed handshake\n"
    assert h.service.kills == 1
    assert h.runner.exit_code == 69
    assert h.reactor.hasStopped
    assert h.out.getvalue() == ""


def test_boot_failure_other_errors_exit_1() -> None:
    """Any other boot failure exits 1."""
    h = Harness()
    h.service.ready = fail(OSError("address already in use"))
    h.runner.start()
    assert h.runner.exit_code == 1
    assert h.err.getvalue() == "error: address already in use\n"


def test_start_raising_is_a_boot_failure() -> None:
    """startService raising synchronously is handled like a failed whenReady."""
    h = Harness()

    def explode() -> None:
        raise BootError("no php")

    h.service.startService = explode  # type: ignore[method-assign]
    h.runner.start()
    assert h.runner.exit_code == 69
    assert h.err.getvalue() == "error: no php\n"


def test_signal_during_boot_stops_and_ignores_the_boot_error() -> None:
    """A stop during boot: the cancelled boot is not reported; the stop decides the exit."""
    h = Harness()
    h.runner.start()
    h.runner.on_signal(signal.SIGTERM)
    h.service.ready.errback(RuntimeError("cancelled"))
    h.service.stopping.callback(None)
    assert h.runner.exit_code == 0
    assert h.err.getvalue() == ""
    assert "RoadRunner server started" not in h.out.getvalue()


def test_install_signal_handlers_hops_to_the_reactor_thread() -> None:
    """Installed handlers call the callback through reactor.callFromThread with the signum."""
    hops: list[tuple[object, tuple[object, ...]]] = []

    class Reactor:
        def callFromThread(self, f: object, *args: object) -> None:
            hops.append((f, args))

    previous = signal.getsignal(signal.SIGUSR1)
    try:
        install_signal_handlers(Reactor(), print, (signal.SIGUSR1,))  # type: ignore[arg-type]
        handler = signal.getsignal(signal.SIGUSR1)
        assert callable(handler)
        handler(signal.SIGUSR1, None)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert hops == [(print, (signal.SIGUSR1,))]


def test_stop_signals_cover_upstream_and_sighup() -> None:
    """SIGINT, SIGTERM, SIGQUIT, SIGABRT and SIGHUP stop the server."""
    assert set(_serve.STOP_SIGNALS) == {signal.SIGINT, signal.SIGTERM, signal.SIGQUIT,
                                        signal.SIGABRT, signal.SIGHUP}


def test_sd_notify_path_and_abstract(tmp_path: Path) -> None:
    """sd_notify sends the state to a socket path or an abstract '@' address."""
    assert sd_notify("READY=1", {}) is False
    path = tmp_path / "n.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        assert sd_notify("READY=1", {"NOTIFY_SOCKET": str(path)}) is True
        assert sock.recv(64) == b"READY=1"
    name = f"txrr-test-{id(path)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        assert sd_notify("STOPPING=1", {"NOTIFY_SOCKET": "@" + name}) is True
        assert sock.recv(64) == b"STOPPING=1"
    assert sd_notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "absent")}) is False


@pytest.mark.parametrize(("grace", "text"), [(30.0, "30"), (2.5, "2.5")])
def test_grace_seconds_format(grace: float, text: str) -> None:
    """Whole seconds print as integers."""
    assert _serve._seconds(grace) == text
