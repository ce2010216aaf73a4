# -*- test-case-name: tests.http.test_h1_middleware -*-
"""Write a file body to a transport in chunks, at the pace the client reads.

A large static file or ``X-Sendfile`` download costs one chunk of memory per connection,
and a slow client slows the reads down instead of filling the server's memory.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

    from twisted.internet.interfaces import ITransport

    from rr.http._response import BodyFraming
    from rr.http.middleware import BodyEncoder

#: Bytes read from the file per step.
CHUNK_SIZE: Final = 64 * 1024


class FileSender:
    """Sends ``length`` bytes of an open file through ``framing`` (and ``encoder``).

    The connection calls :meth:`step` while the transport is not paused (it is the
    transport's push producer), so reads follow the client's pace.
    """

    __slots__ = ("_done", "encoder", "file", "finished", "framing", "remaining")

    def __init__(
        self,
        file: IO[bytes],
        length: int,
        framing: BodyFraming,
        encoder: BodyEncoder | None,
        done: Callable[[], None],
    ) -> None:
        self.file = file
        self.remaining = length
        self.framing = framing
        self.encoder = encoder
        self._done = done
        self.finished = False

    def step(self, transport: ITransport) -> None:
        """Write the next chunk; after the last one, end the body and call ``done``."""
        if self.finished:
            return
        data = self.file.read(min(CHUNK_SIZE, self.remaining)) if self.remaining > 0 else b""
        self.remaining -= len(data)
        last = not data or self.remaining <= 0
        encoder = self.encoder
        if encoder is not None:
            data = encoder.encode(data)
        if last:
            self.close()
            transport.write(self.framing.end(data + (encoder.finish() if encoder else b"")))
            self._done()
        elif data:
            transport.write(self.framing.chunk(data))

    def close(self) -> None:
        """Close the file (once)."""
        if not self.finished:
            self.finished = True
            self.file.close()
