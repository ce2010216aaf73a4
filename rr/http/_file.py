# -*- test-case-name: tests.http.test_h1_middleware -*-
"""Write a file body to a transport in chunks, as a pull producer.

The transport asks for the next chunk only when it has written the previous one, so a
large static file or ``X-Sendfile`` download costs one chunk of memory per connection and
a slow client slows the reads down instead of filling the server's memory.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Final

from twisted.internet.interfaces import IPullProducer
from zope.interface import implementer

if TYPE_CHECKING:
    from collections.abc import Callable

    from twisted.internet.interfaces import ITransport

    from rr.http._response import BodyFraming
    from rr.http.middleware import BodyEncoder

#: Bytes read from the file per transport request.
CHUNK_SIZE: Final = 64 * 1024


@implementer(IPullProducer)
class FileSender:
    """Sends ``length`` bytes of an open file through ``framing`` (and ``encoder``)."""

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
        self.transport: ITransport | None = None
        self.finished = False

    def start(self, transport: ITransport) -> None:
        """Register with ``transport``, which then pulls the chunks."""
        self.transport = transport
        transport.registerProducer(self, False)  # type: ignore[attr-defined]  # noqa: FBT003

    def resumeProducing(self) -> None:
        """Write the next chunk; after the last one, end the body and unregister."""
        transport = self.transport
        if self.finished or transport is None:
            return
        data = self.file.read(min(CHUNK_SIZE, self.remaining)) if self.remaining > 0 else b""
        self.remaining -= len(data)
        last = not data or self.remaining <= 0
        encoder = self.encoder
        if encoder is not None:
            data = encoder.encode(data)
        if last:
            transport.write(self.framing.end(data + (encoder.finish() if encoder else b"")))
            self.close()
            transport.unregisterProducer()  # type: ignore[attr-defined]
            self._done()
        elif data:
            transport.write(self.framing.chunk(data))

    def stopProducing(self) -> None:
        """The connection is gone: close the file."""
        self.close()

    def close(self) -> None:
        """Close the file (once)."""
        if not self.finished:
            self.finished = True
            self.file.close()
