# -*- test-case-name: tests.test_errors -*-
"""One tree of errors, each carrying the context an operator needs to act on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


class RRError(Exception):
    """Base of every error txrr raises on purpose."""


class ConfigError(RRError):
    """The configuration is invalid; lists every problem found, each with its dotted path."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        lines = [f"{path}: {message}" if path else message for path, message in self.problems]
        super().__init__("invalid configuration:\n  " + "\n  ".join(lines))


class FrameError(RRError):
    """Bytes on a relay are not a valid goridge frame."""

    def __init__(self, message: str, data: bytes = b"") -> None:
        self.data = data
        super().__init__(message)


class WorkerError(RRError):
    """A worker answered with an error frame or broke the protocol."""

    def __init__(self, pid: int | None, message: str) -> None:
        self.pid = pid
        self.message = message
        super().__init__(f"worker {pid}: {message}" if pid else message)


class WorkerCrashed(WorkerError):
    """The worker process exited or its relay broke while it held a request."""


class ExecTimeout(WorkerError):
    """The worker exceeded ``supervisor.exec_ttl`` and was killed."""


class NoFreeWorker(RRError):
    """No worker became free within ``pool.allocate_timeout``."""

    def __init__(self, message: str = "no free workers in the pool, wait timeout exceed") -> None:
        super().__init__(message)


class QueueFull(RRError):
    """``pool.max_queue_size`` requests are already in the pool."""

    def __init__(self, message: str = "max queue size reached") -> None:
        super().__init__(message)


class PoolStopped(RRError):
    """The pool is stopping or stopped and takes no more work."""

    def __init__(self, message: str = "pool is stopped") -> None:
        super().__init__(message)


class BootError(RRError):
    """Workers could not be started: the server cannot serve."""


class RPCError(RRError):
    """An RPC method refused a call; the message goes back to the caller as an error reply."""
