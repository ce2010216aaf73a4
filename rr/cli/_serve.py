# -*- test-case-name: tests.cli.test_serve -*-
"""``rr serve``'s life cycle: boot, signals, graceful and forced stop, systemd notify.

:class:`ServeRunner` holds the state machine and takes the reactor and the service as
parameters, so it is unit-tested on a ``MemoryReactorClock``. Only ``rr.cli.main``
touches the global reactor and the process-wide signal handlers.

Signals (rpc-and-cli.md §4.7): the first SIGINT/SIGTERM/SIGQUIT/SIGABRT/SIGHUP starts a
graceful stop bounded by ``endure.grace_period``; a second one prints ``exit forced``,
SIGKILLs every worker and exits 1 at once, so no PHP worker outlives us (octane.md §6).
The handlers are installed *after* the reactor started with its default handlers, so
Twisted's SIGCHLD handling (child reaping) stays in place; they only hop to the reactor
thread with ``callFromThread``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from typing import IO, TYPE_CHECKING, Protocol

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.error import ReactorNotRunning
from twisted.internet.interfaces import (
    IDelayedCall,
    IReactorCore,
    IReactorFromThreads,
    IReactorTime,
)
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from rr.cli._render import error_line, started_line
from rr.errors import BootError
from rr.exitcodes import ExitCode

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import FrameType

__all__ = [
    "STOP_SIGNALS",
    "IServeReactor",
    "ServeRunner",
    "install_signal_handlers",
    "sd_notify",
]

#: Signals that start a graceful stop (the second one forces the exit).
STOP_SIGNALS: tuple[signal.Signals, ...] = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGQUIT,
    signal.SIGABRT,
    signal.SIGHUP,
)

#: Extra time after ``grace_period`` before we stop waiting for ``stopService``.
_BACKSTOP = 5.0


class IServeReactor(IReactorCore, IReactorTime):
    """What :class:`ServeRunner` needs from the reactor."""


class ServedService(Protocol):
    """The part of ``rr.service.RoadRunnerService`` that ``rr serve`` drives."""

    def startService(self) -> None:
        """Start stage by stage; readiness is reported by :meth:`whenReady`."""

    def stopService(self) -> Deferred[None] | None:
        """Stop in stages within the grace period."""

    def whenReady(self) -> Deferred[None]:
        """Fire once pools are ready and listeners are open."""

    def kill_workers(self) -> None:
        """SIGKILL every worker process now."""


def sd_notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (``READY=1``…) to systemd's ``$NOTIFY_SOCKET``; return whether sent.

    An ``@`` prefix names a socket in the abstract namespace.
    """
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        return False
    return True


def install_signal_handlers(
    reactor: IReactorFromThreads,
    callback: Callable[[int], object],
    signals: tuple[signal.Signals, ...] = STOP_SIGNALS,
) -> None:
    """Route ``signals`` to ``callback(signum)`` on the reactor thread.

    Call this once the reactor runs: Twisted's own SIGCHLD handler is left alone.
    """

    def handler(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
        reactor.callFromThread(callback, signum)

    for number in signals:
        signal.signal(number, handler)


def _hard_exit(code: int) -> None:
    """Leave now: no reactor shutdown, no waiting for threads or workers."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class ServeRunner:
    """Drives one service from start to exit and decides the exit code.

    :ivar exit_code: set when the run is over (the reactor has been asked to stop).
    """

    _log = Logger()

    def __init__(
        self,
        reactor: IServeReactor,
        service: ServedService,
        *,
        grace_period: float,
        watchdog_sec: int = 0,
        silent: bool = False,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        notify: Callable[[str], bool] = sd_notify,
        hard_exit: Callable[[int], None] = _hard_exit,
        colour: bool = False,
    ) -> None:
        self._reactor = reactor
        self._service = service
        self._grace = grace_period
        self._watchdog_sec = watchdog_sec
        self._silent = silent
        self._stdout = stdout
        self._stderr = stderr
        self._notify = notify
        self._hard_exit = hard_exit
        self._colour = colour
        self._stopping = False
        self._watchdog: LoopingCall | None = None
        self._backstop: IDelayedCall | None = None
        self.exit_code: int | None = None

    # -- output -------------------------------------------------------------

    def _say(self, line: str) -> None:
        if not self._silent:
            out = self._stdout or sys.stdout
            out.write(line + "\n")
            out.flush()

    def _error(self, message: str) -> None:
        err = self._stderr or sys.stderr
        err.write(error_line(message, colour=self._colour) + "\n")
        err.flush()

    # -- life cycle ------------------------------------------------------------

    def start(self) -> None:
        """Start the service and wait for it to be ready (call when the reactor runs)."""
        try:
            self._service.startService()
            ready = self._service.whenReady()
        except Exception:  # noqa: BLE001 - becomes a boot failure
            failure = Failure()
            self._log.failure("RoadRunner failed to start", failure)
            self._boot_failed(failure)
            return
        # The service logs its own boot failure (with the traceback); we only report it.
        ready.addCallbacks(self._ready, self._boot_failed)

    def _ready(self, _: object) -> None:
        if self._stopping or self.exit_code is not None:
            return
        self._say(started_line())
        if not self._notify("READY=1"):
            return
        self._say("[INFO] sdnotify: notified")
        if self._watchdog_sec > 0:
            self._watchdog = LoopingCall(self._notify, "WATCHDOG=1")
            self._watchdog.clock = self._reactor
            self._watchdog.start(self._watchdog_sec / 2, now=False)
            self._say(f"[INFO] sdnotify: watchdog enabled, timeout: {self._watchdog_sec} seconds")

    def _boot_failed(self, failure: Failure) -> None:
        if self.exit_code is not None or self._stopping:
            # A stop requested during boot: the stop path decides the exit code.
            return
        self._error(failure.getErrorMessage())
        self._kill_workers()
        self._finish(ExitCode.UNAVAILABLE if failure.check(BootError) else ExitCode.FAILURE)

    def on_signal(self, signum: int) -> None:
        """React to a stop signal: graceful the first time, forced the second."""
        if self._stopping or self.exit_code is not None:
            self._say("exit forced")
            self._kill_workers()
            self.exit_code = ExitCode.FAILURE
            self._hard_exit(ExitCode.FAILURE)
            return
        self._stopping = True
        self._log.info("stop signal received: {signal}", signal=signal.Signals(signum).name)
        self._say(f"stop signal received, grace timeout is: {_seconds(self._grace)} seconds")
        self._notify("STOPPING=1")
        self._stop_watchdog()
        self._backstop = self._reactor.callLater(self._grace + _BACKSTOP, self._grace_expired)
        stopped = maybeDeferred(self._service.stopService)
        stopped.addCallbacks(lambda _: self._finish(ExitCode.OK), self._stop_failed)

    def _stop_failed(self, failure: Failure) -> None:
        if self.exit_code is not None:
            return
        self._log.failure("graceful stop failed", failure)
        self._error(failure.getErrorMessage())
        self._kill_workers()
        self._finish(ExitCode.FAILURE)

    def _grace_expired(self) -> None:
        self._backstop = None
        if self.exit_code is not None:
            return
        self._error(f"graceful stop did not finish within {_seconds(self._grace)} seconds")
        self._kill_workers()
        self._finish(ExitCode.FAILURE)

    def _kill_workers(self) -> None:
        try:
            self._service.kill_workers()
        except Exception:  # noqa: BLE001
            self._log.failure("killing workers failed")

    def _stop_watchdog(self) -> None:
        if self._watchdog is not None and self._watchdog.running:
            self._watchdog.stop()
        self._watchdog = None

    def _finish(self, code: int) -> None:
        if self.exit_code is not None:
            return
        self.exit_code = int(code)
        self._stop_watchdog()
        if self._backstop is not None and self._backstop.active():
            self._backstop.cancel()
        self._backstop = None
        with contextlib.suppress(ReactorNotRunning):
            self._reactor.stop()
