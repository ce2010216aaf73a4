# -*- test-case-name: tests.worker.test_command -*-
"""Turn ``server.command`` and the env rules of worker-protocol.md §2 into argv and env."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rr._version import RR_VERSION
from rr.errors import BootError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_VAR = re.compile(r"\$(?:\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]+))")


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerCommand:
    """Everything needed to spawn one kind of worker."""

    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: str


def expand_simple(value: str, environ: Mapping[str, str]) -> str:
    """Expand ``$VAR`` and ``${VAR}`` (no defaults), as ``server.env`` values are at spawn."""
    return _VAR.sub(lambda m: environ.get(m.group(1) or m.group(2), ""), value)


def build_command(
    command: Sequence[str],
    *,
    mode: str,
    relay: str = "pipes",
    rpc_listen: str | None = None,
    user_env: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> WorkerCommand:
    """Resolve the executable on PATH and build the worker environment.

    Order (last wins): rr's environment, RR_RELAY, RR_RPC (only when ``rpc.listen`` is set),
    ``server.env`` (upper-cased keys, ``$VAR`` expanded), RR_VERSION, RR_MODE.

    :raises BootError: when the command is empty or its program is not found.
    """
    base = dict(os.environ if environ is None else environ)
    argv = list(command)
    if len(argv) == 1:
        argv = argv[0].split()
    if not argv:
        raise BootError("server.command: command should not be empty")
    program = argv[0]
    found = shutil.which(program, path=base.get("PATH", os.defpath))
    if found is None:
        raise BootError(f"server.command: executable {program!r} not found in PATH")
    argv[0] = found
    env = dict(base)
    env["RR_RELAY"] = relay
    if rpc_listen is not None:
        env["RR_RPC"] = rpc_listen
    for key, value in (user_env or {}).items():
        env[key.upper()] = expand_simple(value, base)
    env["RR_VERSION"] = RR_VERSION
    env["RR_MODE"] = mode
    return WorkerCommand(argv=tuple(argv), env=env, cwd=cwd or str(Path.cwd()))
