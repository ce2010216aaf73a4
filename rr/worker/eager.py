# -*- test-case-name: tests.worker.test_eager -*-
"""Write a request frame to a worker (or a response to a client) now, not on the next turn.

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

from twisted.internet.tcp import Connection


def _idle(descriptor: Any) -> bool:
    """True when the descriptor is open and Twisted holds no bytes for it."""
    return bool(
        descriptor.connected
        and not descriptor.disconnecting
        and not descriptor._tempDataLen  # noqa: SLF001 - Twisted's FileDescriptor queue
        and descriptor.offset == len(descriptor.dataBuffer)
    )


def write_to_child(transport: Any, data: bytes) -> None:
    """Write ``data`` to the child's stdin at once when possible, else queue it."""
    writer = getattr(transport, "pipes", {}).get(0)
    if writer is not None and _idle(writer):
        try:
            sent = os.write(writer.fd, data)
        except OSError:
            sent = 0  # EAGAIN or a closed pipe: the transport queues or reports it
        if sent == len(data):
            return
        data = data[sent:]
    transport.writeToChild(0, data)


def write_to_socket(transport: Any, data: bytes) -> None:
    """The same for a plain TCP/UNIX connection: ``send`` now when nothing is queued.

    Any other transport (TLS, a test's StringTransport) gets an ordinary ``write``.
    """
    # Only a real socket connection: a TLS wrapper proxies ``socket`` and ``TLS`` of the
    # connection under it, and writing there would bypass the encryption.
    if data and isinstance(transport, Connection) and not transport.TLS and _idle(transport):
        try:
            sent = transport.socket.send(data)
        except OSError:
            sent = 0  # EAGAIN, or a reset the transport will notice and report
        if sent == len(data):
            return
        data = data[sent:]
    transport.write(data)
