# ruff: noqa: T201
"""Runs `rr serve` for real (global reactor, real signals) with a fake service.

Used by test_serve_process.py in a subprocess. argv: mode ("ok" or "hang"), config path.
The fake service spawns a child with no pipes, so its processEnded depends on Twisted's
SIGCHLD reaping, which must survive our own signal handlers.
"""

from __future__ import annotations

import signal
import sys

from twisted.internet import defer, protocol, reactor

import rr.service


class Ended(protocol.ProcessProtocol):
    def __init__(self, done: defer.Deferred[int]) -> None:
        self.done = done

    def processEnded(self, reason: object) -> None:
        self.done.callback(reason.value.exitCode)  # type: ignore[attr-defined]


class FakeService:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.ready: defer.Deferred[None] = defer.Deferred()

    def startService(self) -> None:
        handler = signal.getsignal(signal.SIGCHLD)
        print(f"sigchld handled: {handler not in (signal.SIG_DFL, signal.SIG_IGN, None)}",
              flush=True)
        print(f"sigterm handler: {getattr(signal.getsignal(signal.SIGTERM), '__qualname__', '?')}",
              flush=True)
        done: defer.Deferred[int] = defer.Deferred()
        reactor.spawnProcess(Ended(done), "/bin/sh", ["sh", "-c", "sleep 0.2; exit 3"],
                             env={}, childFDs={})
        done.addCallback(lambda code: print(f"child reaped: {code}", flush=True))
        done.addCallback(lambda _: self.ready.callback(None))

    def whenReady(self) -> defer.Deferred[None]:
        return self.ready

    def stopService(self) -> defer.Deferred[None]:
        print("stopService", flush=True)
        return defer.Deferred() if self.mode == "hang" else defer.succeed(None)

    def kill_workers(self) -> None:
        print("killed", flush=True)


rr.service.makeService = lambda config, reactor: FakeService(sys.argv[1])  # type: ignore[assignment,misc]

from rr.cli.main import main  # noqa: E402

sys.exit(main(["-c", sys.argv[2], "-o", "version=3", "-o", "logs.mode=off", "serve"]))
