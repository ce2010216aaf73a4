# -*- test-case-name: tests.worker.test_command -*-
"""Start worker processes with ``reactor.spawnProcess``.

Each worker runs in its own session (``setsid``, which keeps the pid), so a Ctrl-C sent
to rr's terminal reaches rr alone; rr then stops the workers in order. Workers also exit
on their own when their stdin closes, which covers a crash of rr itself.
"""

from __future__ import annotations

import pwd
import shutil
from typing import TYPE_CHECKING

from rr.errors import BootError

if TYPE_CHECKING:
    from collections.abc import Callable

    from twisted.internet.interfaces import IReactorProcess

    from rr.worker.command import WorkerCommand
    from rr.worker.process import WorkerProcess
    from rr.worker.socket_relay import SocketRelay


def process_spawner(
    reactor: IReactorProcess,
    command: WorkerCommand,
    *,
    user: str = "",
    relay: SocketRelay | None = None,
) -> Callable[[WorkerProcess], None]:
    """Return a spawner that starts ``command`` for each worker protocol it is given.

    :raises BootError: for an unknown ``server.user``.
    """
    setsid = shutil.which("setsid")
    argv = [setsid, *command.argv] if setsid else list(command.argv)
    uid: int | None = None
    gid: int | None = None
    if user:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise BootError(f"server.user: unknown user {user!r}") from None
        uid, gid = entry.pw_uid, entry.pw_gid

    def spawn(worker: WorkerProcess) -> None:
        if relay is not None:
            worker.use_socket_relay()
        reactor.spawnProcess(
            worker, argv[0], argv, env=command.env, path=command.cwd, uid=uid, gid=gid
        )
        if relay is not None:
            relay.expect(worker)

    return spawn
