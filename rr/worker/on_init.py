# -*- test-case-name: tests.worker.test_on_init -*-
"""``server.on_init``: a command run once before any worker starts (cache warm-up, migrations)."""

from __future__ import annotations

import os
import pwd
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from typing_extensions import override

from rr.errors import BootError
from rr.worker.command import build_command

if TYPE_CHECKING:
    from twisted.python.failure import Failure

    from rr.config._schema import OnInitConfig


class _OnInitProtocol(ProcessProtocol):
    _log = Logger(namespace="rr.worker")

    def __init__(self) -> None:
        self.done: Deferred[int | None] = Deferred()

    @override
    def childDataReceived(self, childFD: int, data: bytes) -> None:
        for line in data.decode("utf-8", "replace").splitlines():
            if line:
                self._log.info("{line}", line=line, rr_channel="server", source="on_init")

    @override
    def processEnded(self, reason: Failure) -> None:
        self.done.callback(getattr(reason.value, "exitCode", None))


async def run_on_init(reactor: Any, config: OnInitConfig) -> None:
    """Run the command within ``exec_timeout``.

    :raises BootError: on failure when ``exit_on_error`` is set; otherwise failures are logged.
    """
    log = _OnInitProtocol._log  # noqa: SLF001
    command = build_command(config.command, mode="", relay="pipes", user_env=config.env)
    env = {k: v for k, v in command.env.items() if not k.startswith("RR_") or k in os.environ}
    proto = _OnInitProtocol()
    uid = gid = None
    if config.user:
        entry = pwd.getpwnam(config.user)
        uid, gid = entry.pw_uid, entry.pw_gid
    transport = reactor.spawnProcess(
        proto, command.argv[0], list(command.argv), env=env, path=command.cwd, uid=uid, gid=gid
    )
    timer = reactor.callLater(config.exec_timeout, transport.signalProcess, "KILL")
    code = await proto.done
    if timer.active():
        timer.cancel()
        problem = None if code == 0 else f"exited with code {code}"
    else:
        problem = "exceeded server.on_init.exec_timeout and was killed"
    if problem is None:
        return
    if config.exit_on_error:
        raise BootError(f"server.on_init: command {problem}")
    log.error("server.on_init: command {problem}", problem=problem)
