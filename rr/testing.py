# -*- test-case-name: tests.pool.test_pool -*-
"""Fakes for testing code that runs PHP workers, without PHP and without time passing.

:class:`FakeProcessReactor` records ``spawnProcess`` calls and connects each worker
protocol to a :class:`ScriptedWorker`, which speaks goridge like a PHP worker and can
misbehave on purpose (garbage on STDOUT, error frames, crashes, never answering).
Embedders and plugin authors can use them too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from twisted.internet.error import ProcessDone, ProcessExitedAlready, ProcessTerminated
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure

from rr.goridge.frame import Flags, Frame, FrameDecoder, Stream, encode, encode_data
from rr.payload import Payload

if TYPE_CHECKING:
    from twisted.internet.interfaces import IProcessProtocol

#: Called with the worker and each request payload it receives.
Handler = Callable[["ScriptedWorker", Payload], None]


def echo_handler(worker: ScriptedWorker, request: Payload) -> None:
    """Answer every request with its own context and body."""
    worker.respond(request.context, request.body)


class ScriptedWorker:
    """A stand-in for a PHP worker process and its pipes.

    :ivar requests: every request payload received, in order.
    :ivar frames: every frame the server wrote, in order (handshake, stop, STOP, PONG...).
    :ivar signals: signal names sent to the process.
    """

    def __init__(
        self,
        protocol: IProcessProtocol,
        pid: int,
        handler: Handler = echo_handler,
        *,
        auto_handshake: bool = True,
        exit_on_stop: bool = True,
    ) -> None:
        self.protocol = protocol
        self.pid = pid
        self.handler = handler
        self.auto_handshake = auto_handshake
        self.exit_on_stop = exit_on_stop
        self.requests: list[Payload] = []
        self.frames: list[Frame] = []
        self.signals: list[str] = []
        self.stdin_closed = False
        self.ended = False
        self._decoder = FrameDecoder()

    # -- IProcessTransport (the parts WorkerProcess uses) -----------------------------

    def write(self, data: bytes) -> None:
        """Bytes the server writes to the worker's stdin."""
        for frame in self._decoder.feed(data):
            self.frames.append(frame)
            self._on_frame(frame)

    def writeToChild(self, childFD: int, data: bytes) -> None:  # noqa: ARG002
        """Same as write: fd 0 is the only writable one."""
        self.write(data)

    def closeStdin(self) -> None:
        """The server closed our stdin: PHP reads EOF and exits."""
        self.stdin_closed = True

    def signalProcess(self, signalID: str | int) -> None:
        """Record the signal; TERM and KILL end the process."""
        if self.ended:
            raise ProcessExitedAlready
        self.signals.append(str(signalID))
        if signalID in ("TERM", "KILL"):
            self.exit(signal=str(signalID))

    def loseConnection(self) -> None:
        """Close everything."""
        self.exit(0)

    # -- acting like PHP ----------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Write raw bytes to the server as if on STDOUT."""
        if not self.ended:
            self.protocol.childDataReceived(1, data)

    def stderr(self, text: str) -> None:
        """Write a line to STDERR."""
        self.protocol.childDataReceived(2, text.encode() + b"\n")

    def handshake(self) -> None:
        """Answer the pid request."""
        self.send(encode(b'{"pid":%d}' % self.pid, flags=Flags.CONTROL))

    def respond(
        self,
        context: bytes,
        body: bytes,
        *,
        flags: int = 0,
        stream: bool = False,
        ping: bool = False,
    ) -> None:
        """Send one data frame."""
        bits = (Stream.STREAM if stream else 0) | (Stream.PING if ping else 0)
        self.send(encode_data(context, body, flags, bits))

    def error(self, message: str) -> None:
        """Send an error frame, as ``Worker::error()`` does."""
        self.send(encode(message.encode(), flags=Flags.ERROR))

    def stop_me(self) -> None:
        """Ask to be stopped, as ``Worker::stop()`` does."""
        self.respond(b'{"stop":true}', b"")

    def exit(self, code: int = 0, signal: str | None = None) -> None:
        """End the process."""
        if self.ended:
            return
        self.ended = True
        self.protocol.childConnectionLost(1)
        reason: Failure
        if signal is None and code == 0:
            reason = Failure(ProcessDone(0))
        else:
            reason = Failure(ProcessTerminated(code or None, signal))
        self.protocol.processEnded(reason)

    def _on_frame(self, frame: Frame) -> None:
        if frame.flags & Flags.CONTROL:
            if b'"stop"' in frame.payload:
                if self.exit_on_stop:
                    self.exit(0)
            elif self.auto_handshake:
                self.handshake()
            return
        if frame.stream & (Stream.STOP | Stream.PONG):
            return
        split = frame.options[0]
        request = Payload(frame.payload[:split], frame.payload[split:], frame.flags)
        self.requests.append(request)
        self.handler(self, request)


class FakeProcessReactor(MemoryReactorClock):
    """A clock-driven reactor whose ``spawnProcess`` starts :class:`ScriptedWorker` s.

    :ivar spawned: every scripted worker, in spawn order.
    :ivar handler: the handler given to workers spawned from now on.
    """

    def __init__(self, handler: Handler = echo_handler, *, auto_handshake: bool = True) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.handler = handler
        self.auto_handshake = auto_handshake
        self.spawned: list[ScriptedWorker] = []
        self.spawn_args: list[tuple[str, Sequence[str], Mapping[str, str] | None]] = []
        self._next_pid = 1000

    def spawnProcess(  # noqa: PLR0917 - IReactorProcess.spawnProcess's signature
        self,
        processProtocol: IProcessProtocol,
        executable: bytes | str,
        args: Sequence[bytes | str] = (),
        env: Mapping[Any, Any] | None = None,
        path: bytes | str | None = None,  # noqa: ARG002
        uid: int | None = None,  # noqa: ARG002
        gid: int | None = None,  # noqa: ARG002
        usePTY: bool = False,  # noqa: ARG002
        childFDs: Mapping[int, int | str] | None = None,  # noqa: ARG002
    ) -> ScriptedWorker:
        """Start a scripted worker for ``processProtocol``."""
        self._next_pid += 1
        worker = ScriptedWorker(
            processProtocol, self._next_pid, self.handler, auto_handshake=self.auto_handshake
        )
        self.spawned.append(worker)
        self.spawn_args.append((str(executable), [str(a) for a in args], env))
        processProtocol.makeConnection(worker)  # type: ignore[arg-type]
        return worker

    def spawner(self) -> Callable[[Any], None]:
        """A pool spawner that starts scripted workers."""

        def spawn(worker: Any) -> None:
            self.spawnProcess(worker, "php", ["php", "worker.php"], {})

        return spawn

    @property
    def live(self) -> list[ScriptedWorker]:
        """Scripted workers whose process has not ended."""
        return [w for w in self.spawned if not w.ended]
