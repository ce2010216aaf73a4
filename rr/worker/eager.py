# -*- test-case-name: tests.worker.test_eager -*-
"""Write a request frame to a worker's stdin now, not on the next reactor turn.

``transport.write`` on a Twisted process pipe only queues the bytes and registers the fd for
writing (an ``epoll_ctl``); the write happens on the next loop iteration, followed by
another ``epoll_ctl`` to unregister it. With one small frame per request and a pipe that is
almost always empty, that is two extra syscalls and a reactor turn per request, and the PHP
worker starts later. Profiling hello at -c32 showed the reactor's writer bookkeeping as a
visible share of rr's CPU.

When nothing is queued on the pipe we ``os.write`` the frame directly (the fd is
non-blocking); whatever the pipe does not take, and every error, goes through the transport
as before, so ordering, back-pressure and error reporting stay Twisted's.
"""

from __future__ import annotations

import os
from typing import Any


def write_to_child(transport: Any, data: bytes) -> None:
    """Write ``data`` to the child's stdin at once when possible, else queue it."""
    writer = getattr(transport, "pipes", {}).get(0)
    if (
        writer is not None
        and writer.connected
        and not writer.disconnecting
        and not writer._tempDataLen  # noqa: SLF001 - Twisted's FileDescriptor queue
        and writer.offset == len(writer.dataBuffer)
    ):
        try:
            sent = os.write(writer.fd, data)
        except OSError:
            sent = 0  # EAGAIN or a closed pipe: the transport queues or reports it
        if sent == len(data):
            return
        data = data[sent:]
    transport.writeToChild(0, data)
