# -*- test-case-name: tests.worker.test_process -*-
"""Worker states, named after RoadRunner's worker FSM so `rr workers` reads the same."""

from __future__ import annotations

from enum import Enum


class WorkerState(Enum):
    """Where a worker is in its life. The value is RoadRunner's ``statusStr``."""

    INACTIVE = "inactive"  # spawned, handshake not done
    READY = "ready"  # idle, can take a request
    WORKING = "working"  # a request is in flight
    INVALID = "invalid"  # busy but marked for retirement (soft limit hit)
    STOPPING = "stopping"  # stop frame sent, waiting for exit
    STOPPED = "stopped"  # exited after a stop
    ERRORED = "errored"  # protocol error or crash
    DESTROYED = "destroyed"  # removed by the pool

    @property
    def code(self) -> int:
        """RoadRunner's numeric status, shown as ``status`` in informer replies."""
        return _CODES[self]


_CODES = {
    WorkerState.INACTIVE: 0,
    WorkerState.READY: 1,
    WorkerState.WORKING: 2,
    WorkerState.INVALID: 3,
    WorkerState.STOPPING: 4,
    WorkerState.STOPPED: 5,
    WorkerState.DESTROYED: 6,
    WorkerState.ERRORED: 8,
}

#: States in which the process is (or may still be) alive and counted by the pool.
LIVE_STATES = frozenset(
    {WorkerState.INACTIVE, WorkerState.READY, WorkerState.WORKING, WorkerState.INVALID}
)
