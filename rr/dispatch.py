# -*- test-case-name: tests.test_dispatch -*-
"""What a front end needs from the worker side: run one payload, get its answer.

Front ends (HTTP/1.1, HTTP/2, TCP, gRPC) depend only on :class:`Executor`; a pool or a
dispatcher over several pools provides it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from rr.payload import Payload

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

#: Receives each frame of a streamed response that has the STREAM bit set.
FrameSink = Callable[[Payload], None]


class Executor(Protocol):
    """Runs payloads on workers.

    ``exec`` returns a Deferred that fires with the worker's final response frame. Frames of
    a streamed response that have the STREAM bit set are passed to ``on_frame`` as they
    arrive (in order); the Deferred then fires with the last frame (``stream=False``). Without
    ``on_frame``, streamed bodies are joined into the final frame.

    Errors: :class:`rr.errors.NoFreeWorker` (allocate_timeout), :class:`rr.errors.QueueFull`,
    :class:`rr.errors.ExecTimeout`, :class:`rr.errors.WorkerCrashed`,
    :class:`rr.errors.WorkerError` (worker error frame), :class:`rr.errors.PoolStopped`.

    Cancelling the Deferred while the request waits for a worker removes it from the queue, so
    no PHP work is done for nobody. Cancelling while a stream runs sends the worker a STOP
    frame and drains it (the worker goes back to the pool). Cancelling a running non-streamed
    request lets it finish and discards the answer.
    """

    def exec(self, payload: Payload, on_frame: FrameSink | None = None) -> Deferred[Payload]:
        """Run ``payload`` on a worker."""
        ...
