# -*- test-case-name: tests.php_lib.test_php_worker -*-
"""Tests of txrr's PHP worker library (php/) and the PHP fixtures (tests/php/).

The PHP scripts run as real processes; the test plays the server's part with frames built by
rr.goridge.frame, over pipes (and over sockets for the socket relays). Plain blocking I/O with
select() deadlines is enough here: no reactor is involved.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import shutil
import socket
import subprocess
import time
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from rr.config import load
from rr.errors import FrameError
from rr.goridge.frame import (
    PONG_FRAME,
    STOP_FRAME,
    Flags,
    Frame,
    FrameDecoder,
    Stream,
    encode,
    encode_data,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "php"
PHP = shutil.which("php")

pytestmark = pytest.mark.skipif(PHP is None, reason="the php CLI is not installed")

PID_REQUEST = encode(b'{"pid":1}', flags=0x09)
STOP_CONTROL = encode(b'{"stop":true}', flags=0x09)
TIMEOUT = 10.0


# --------------------------------------------------------------------------------------------
# A tiny protobuf encoder/decoder for http.v1 (only what the tests need).


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes_field(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _map_field(field: int, mapping: dict[str, list[str]]) -> bytes:
    out = b""
    for name, values in mapping.items():
        value = b"".join(_bytes_field(1, v.encode()) for v in values)
        out += _bytes_field(field, _bytes_field(1, name.encode()) + _bytes_field(2, value))
    return out


def proto_request(ctx: dict[str, Any]) -> bytes:
    """Encode an http.v1.Request from a JSON-shaped context."""
    out = b""
    for field, key in ((1, "remoteAddr"), (2, "protocol"), (3, "method"), (4, "uri")):
        if ctx.get(key):
            out += _bytes_field(field, ctx[key].encode())
    out += _map_field(5, ctx.get("headers") or {})
    out += _map_field(6, {k: [v] for k, v in (ctx.get("cookies") or {}).items()})
    if ctx.get("rawQuery"):
        out += _bytes_field(7, ctx["rawQuery"].encode())
    if ctx.get("parsed"):
        out += _varint(8 << 3) + _varint(1)
    if ctx.get("uploads"):
        out += _bytes_field(9, json.dumps(ctx["uploads"]).encode())
    out += _map_field(10, ctx.get("attributes") or {})
    return out


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        if key & 7 == 0:
            value, pos = _read_varint(data, pos)
            out.append((key >> 3, value))
        else:
            assert key & 7 == 2
            size, pos = _read_varint(data, pos)
            out.append((key >> 3, data[pos : pos + size]))
            pos += size
    return out


def proto_response(data: bytes) -> dict[str, Any]:
    """Decode an http.v1.Response into {"status": int, "headers": {name: [values]}}."""
    status = 0
    headers: dict[str, list[str]] = {}
    for field, value in _fields(data):
        if field == 1:
            assert isinstance(value, int)
            status = value
        elif field == 2:
            assert isinstance(value, bytes)
            entry = dict(_fields(value))
            name = entry[1]
            assert isinstance(name, bytes)
            values = entry.get(2, b"")
            assert isinstance(values, bytes)
            headers[name.decode()] = [v.decode() for _, v in _fields(values)]  # type: ignore[union-attr]
    return {"status": status, "headers": headers}


# --------------------------------------------------------------------------------------------
# Driving a worker.


class Channel:
    """Frames over a pair of file descriptors, with deadlines."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.decoder = FrameDecoder()
        self.frames: deque[Frame] = deque()

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.write_fd, view)
            view = view[n:]

    def _fill(self, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self.read_fd], [], [], remaining)[0]:
            raise TimeoutError("no output from the worker in time")
        return os.read(self.read_fd, 1 << 20)

    def read_raw(self, size: int, timeout: float = TIMEOUT) -> bytes:
        """Read exactly ``size`` bytes, bypassing the frame decoder (its buffer must be empty)."""
        assert not self.frames
        assert not self.decoder.buffered
        deadline = time.monotonic() + timeout
        data = b""
        while len(data) < size:
            chunk = self._fill(deadline)
            if not chunk:
                break
            data += chunk
        extra = data[size:]
        if extra:
            self.frames.extend(self.decoder.feed(extra))
        return data[:size]

    def read_frame(self, timeout: float = TIMEOUT) -> Frame:
        deadline = time.monotonic() + timeout
        while not self.frames:
            chunk = self._fill(deadline)
            if not chunk:
                raise EOFError("the worker closed its output")
            self.frames.extend(self.decoder.feed(chunk))
        return self.frames.popleft()

    def read_eof(self, timeout: float = TIMEOUT) -> bytes:
        """Read until EOF; return whatever arrived."""
        deadline = time.monotonic() + timeout
        data = b""
        while True:
            chunk = self._fill(deadline)
            if not chunk:
                return data
            data += chunk

    def handshake(self) -> Frame:
        self.send(PID_REQUEST)
        return self.read_frame()

    def request(self, context: bytes, body: bytes = b"", flags: int = Flags.CODEC_PROTO) -> Frame:
        self.send(encode_data(context, body, flags))
        return self.read_frame()

    def read_stream(self, *, pong: bool = True) -> list[Frame]:
        """Read the frames of one streamed response, answering PINGs when ``pong``."""
        frames = []
        while True:
            frame = self.read_frame()
            frames.append(frame)
            if pong and frame.stream & Stream.PING:
                self.send(PONG_FRAME)
            if not frame.stream & Stream.STREAM:
                return frames


class PhpWorker(Channel):
    """A PHP worker script on pipes: stdin carries frames in, stdout frames out."""

    def __init__(self, script: str, tmp_path: Path, env: dict[str, str] | None = None) -> None:
        self.stderr_path = tmp_path / f"{Path(script).name}.{time.monotonic_ns()}.stderr"
        with self.stderr_path.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [PHP or "php", str(FIXTURES / script)],  # an absolute script path wins
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=ROOT,
                env={**os.environ, "RR_RELAY": "pipes", "RR_MODE": "http", **(env or {})},
            )
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        super().__init__(self.proc.stdout.fileno(), self.proc.stdin.fileno())

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@pytest.fixture
def spawn(tmp_path: Path):  # type: ignore[no-untyped-def]
    workers: list[PhpWorker] = []

    def _spawn(script: str, env: dict[str, str] | None = None) -> PhpWorker:
        worker = PhpWorker(script, tmp_path, env)
        workers.append(worker)
        return worker

    yield _spawn
    for worker in workers:
        worker.close()


def json_ctx(uri: str = "http://localhost/", **extra: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "remoteAddr": "127.0.0.1",
        "protocol": "HTTP/1.1",
        "method": "GET",
        "uri": uri,
        "headers": {},
        "cookies": {},
        "rawQuery": uri.partition("?")[2],
        "parsed": False,
        "uploads": None,
        "attributes": None,
    }
    ctx.update(extra)
    return ctx


def get(worker: Channel, path: str) -> Frame:
    """Send a JSON-context GET for ``path`` and return the (first) response frame."""
    return worker.request(json.dumps(json_ctx("http://localhost" + path)).encode(), b"", 0x08)


def split(frame: Frame) -> tuple[bytes, bytes]:
    assert len(frame.options) == 1
    return frame.payload[: frame.options[0]], frame.payload[frame.options[0] :]


def json_response(frame: Frame) -> tuple[dict[str, Any], bytes]:
    context, body = split(frame)
    return json.loads(context), body


# --------------------------------------------------------------------------------------------
# Frame and protobuf encodings against the spec vectors.


@pytest.fixture(scope="module")
def unit() -> dict[str, Any]:
    request = proto_request(
        json_ctx(
            "http://example.com/a?b=1",
            headers={"Accept": ["*/*"], "X-Two": ["1", "2"]},
            cookies={"theme": "dark"},
            parsed=True,
            uploads={"f": {"name": "a.txt", "mime": "", "size": 0, "error": 4, "tmpName": ""}},
            attributes={"k": ["v1", "v2"]},
        )
    )
    out = subprocess.run(
        [PHP or "php", str(FIXTURES / "unit.php"), request.hex()],
        capture_output=True,
        check=True,
        timeout=TIMEOUT,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize(
    ("key", "hexdump"),
    [
        ("data", "14 00 04 00 00 00 79 76 e7 a6 00 00 02 00 00 00 7b 7d 68 69"),
        ("data_stream", "14 00 04 00 00 00 79 76 e7 a6 01 00 02 00 00 00 7b 7d 68 69"),
        ("data_raw", "14 04 04 00 00 00 b9 d0 67 53 00 00 02 00 00 00 7b 7d 68 69"),
        ("data_proto", "14 80 04 00 00 00 eb c6 01 17 00 00 02 00 00 00 7b 7d 68 69"),
        ("worker_respond", "14 00 04 00 00 00 79 76 e7 a6 00 00 02 00 00 00 7b 7d 68 69"),
        (
            "rpc_request",
            "15 08 11 00 00 00 b0 49 0c 3a 00 00 01 00 00 00 0d 00 00 00"
            + b"resetter.Listtrue".hex(),
        ),
        ("pid_request", "13 09 0c 00 00 00 5f 0c 46 73 00 00" + b'{"pid":4242}'.hex()),
        ("stop_control", "13 09 0d 00 00 00 3a 6b fa cb 00 00" + b'{"stop":true}'.hex()),
        ("stream_stop", "13 00 00 00 00 00 96 d1 80 34 02 00"),
        ("pong", "13 00 00 00 00 00 96 d1 80 34 08 00"),
        ("worker_error", "13 40 04 00 00 00 88 1e 11 e3 00 00 62 6f 6f 6d"),
        (
            "worker_stop",
            "14 00 0d 00 00 00 f3 39 ef db 00 00 0d 00 00 00" + b'{"stop":true}'.hex(),
        ),
        (
            "proto_response",
            (
                "08 c8 01 12 1c 0a 0c 43 6f 6e 74 65 6e 74 2d 54 79 70 65 12 0c 0a 0a 74 65 78 74"
                " 2f 70 6c 61 69 6e"
            ),
        ),
        ("varint_300", "ac 02"),
        ("varint_minus_1", "ff ff ff ff ff ff ff ff ff 01"),
    ],
)
def test_php_encodings_match_spec_vectors(unit: dict[str, Any], key: str, hexdump: str) -> None:
    """The PHP Frame/Worker/Proto encoders produce the exact bytes of goridge.md §9 and http.md §3.1."""
    assert unit[key] == hexdump.replace(" ", "")


def test_php_decoders(unit: dict[str, Any]) -> None:
    """PHP decodes frames (rejecting a bad CRC), answers the pid request, skips a stray PONG and
    decodes a Python-built protobuf request."""
    assert unit["decode"] == {"flags": 0, "stream": 1, "options": [2], "payload": "{}hi"}
    assert unit["bad_crc"] == "rejected"
    assert unit["varint_minus_1_read"] == -1
    reply = FrameDecoder().feed(bytes.fromhex(unit["handshake"]))
    assert len(reply) == 1
    assert reply[0].flags == Flags.CONTROL
    assert reply[0].options == ()
    assert json.loads(reply[0].payload)["pid"] > 0
    assert unit["payloads"] == [{"header": "ctx", "body": "body"}]
    assert json.loads(unit["json_context"]) == {
        "status": 200,
        "headers": {"Content-Type": ["text/plain"], "X-N": ["5"]},
    }
    assert unit["json_context_empty"] == '{"status":204,"headers":{}}'
    assert unit["proto_roundtrip"]["headers"] == {"Accept": ["a", "b"]}
    assert unit["proto_roundtrip"]["parsed"] is True
    decoded = unit["decoded_request"]
    assert decoded["uri"] == "http://example.com/a?b=1"
    assert decoded["headers"] == {"Accept": ["*/*"], "X-Two": ["1", "2"]}
    assert decoded["cookies"] == {"theme": ["dark"]}
    assert decoded["attributes"] == {"k": ["v1", "v2"]}
    assert decoded["rawQuery"] == "b=1"
    assert decoded["parsed"] is True
    assert json.loads(decoded["uploads"])["f"]["error"] == 4


def test_php_files_lint() -> None:
    """Every PHP file of the library, the fixtures and the example app is valid PHP."""
    files = [
        *sorted((ROOT / "php").rglob("*.php")),
        *sorted(FIXTURES.glob("*.php")),
        ROOT / "etc" / "app" / "worker.php",
    ]
    for path in files:
        out = subprocess.run(
            [PHP or "php", "-l", str(path)], capture_output=True, check=False, timeout=TIMEOUT
        )
        assert out.returncode == 0, out.stdout + out.stderr


# --------------------------------------------------------------------------------------------
# Handshake, plain responses, both codecs.


def test_handshake_replies_with_pid(spawn) -> None:  # type: ignore[no-untyped-def]
    """The worker answers {"pid":1} (flags 0x09) with a CONTROL frame (0x01) carrying its pid."""
    worker = spawn("hello.php")
    reply = worker.handshake()
    assert reply.flags == 0x01
    assert reply.options == ()
    assert reply.stream == 0
    assert json.loads(reply.payload) == {"pid": worker.proc.pid}


def test_hello_json(spawn) -> None:  # type: ignore[no-untyped-def]
    """In JSON mode the response carries flags 0x08 and a JSON status/headers context."""
    worker = spawn("hello.php")
    worker.handshake()
    for _ in range(2):
        frame = get(worker, "/")
        assert frame.flags == 0x08
        assert frame.stream == 0
        context, body = json_response(frame)
        assert context == {"status": 200, "headers": {"Content-Type": ["text/plain"]}}
        assert body == b"Hello, World!"


def test_hello_proto(spawn) -> None:  # type: ignore[no-untyped-def]
    """In proto mode the response is the exact http.v1.Response of the spec, with flags 0x80."""
    worker = spawn("hello.php")
    worker.handshake()
    frame = worker.request(proto_request(json_ctx()))
    context_hex = "08c801121c0a0c436f6e74656e742d54797065120c0a0a746578742f706c61696e"
    assert frame.flags == 0x80
    assert frame.options == (33,)
    assert frame.payload == bytes.fromhex(context_hex) + b"Hello, World!"


def _upload_request(tmp_path: Path) -> tuple[dict[str, Any], bytes, bytes]:
    content = os.urandom(1234)
    avatar = tmp_path / "upload123"
    avatar.write_bytes(content)
    doc = tmp_path / "upload456"
    doc.write_bytes(b"hello world")
    uri = "http://example.com:8080/upload?lang=en&tags[]=a&tags[]=b"
    ctx = json_ctx(
        uri,
        remoteAddr="203.0.113.7",
        protocol="HTTP/2.0",
        method="POST",
        headers={
            "User-Agent": ["curl/8.5.0"],
            "Accept": ["*/*"],
            "Content-Type": ["multipart/form-data; boundary=XyZ"],
            "X-Multi": ["a", "b"],
        },
        cookies={"session": "abc 123", "theme": "dark"},
        parsed=True,
        uploads={
            "avatar": {
                "name": "me.png",
                "mime": "image/png",
                "size": 1234,
                "error": 0,
                "tmpName": str(avatar),
            },
            "docs": [
                {
                    "name": "a.txt",
                    "mime": "text/plain",
                    "size": 11,
                    "error": 0,
                    "tmpName": str(doc),
                },
                {
                    "name": "b.php",
                    "mime": "application/x-php",
                    "size": 0,
                    "error": 8,
                    "tmpName": "",
                },
            ],
        },
        attributes={"foo": ["bar", "baz"]},
    )
    body = b'{"meta":{"author":"Ann"},"title":"Holiday"}'
    return ctx, body, content


def _check_echo(data: dict[str, Any], ctx: dict[str, Any], body: bytes, content: bytes) -> None:
    assert data["method"] == "POST"
    # Nyholm's Uri percent-encodes the brackets; REQUEST_URI keeps the URI as sent.
    assert data["uri"] == ctx["uri"].replace("[", "%5B").replace("]", "%5D")
    assert data["protocol"] == "2"
    for name, values in ctx["headers"].items():
        assert data["headers"][name] == values
    assert data["cookies"] == {"session": "abc 123", "theme": "dark"}
    assert data["query"] == {"lang": "en", "tags": ["a", "b"]}
    assert "Host" not in data["headers"]
    assert data["parsedBody"] == {"meta": {"author": "Ann"}, "title": "Holiday"}
    assert data["body"] == body.decode()
    assert data["remoteAddr"] == "203.0.113.7"
    server = data["server"]
    assert server["REQUEST_URI"] == ctx["uri"]
    assert server["REQUEST_METHOD"] == "POST"
    assert server["HTTP_USER_AGENT"] == "curl/8.5.0"
    assert server["HTTP_X_MULTI"] == "a, b"
    assert server["CONTENT_TYPE"] == "multipart/form-data; boundary=XyZ"
    assert "HTTP_CONTENT_TYPE" not in server
    assert "HTTP_HOST" not in server
    assert isinstance(server["REQUEST_TIME"], int)
    avatar = data["uploads"]["avatar"]
    assert avatar["name"] == "me.png"
    assert avatar["mime"] == "image/png"
    assert avatar["size"] == 1234
    assert avatar["error"] == 0
    assert avatar["sha1"] == hashlib.sha1(content).hexdigest()
    assert avatar["tmpName"] == ctx["uploads"]["avatar"]["tmpName"]
    first, second = data["uploads"]["docs"]
    assert first["sha1"] == hashlib.sha1(b"hello world").hexdigest()
    assert first["name"] == "a.txt"
    assert second["error"] == 8
    assert second["sha1"] is None
    assert data["attributes"] == {"rr_parsed_body": True, "foo": "bar"}


def test_echo_json(spawn, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A JSON context reaches the PSR-7 request intact; the response comes back as JSON (0x08)."""
    worker = spawn("echo.php")
    worker.handshake()
    ctx, body, content = _upload_request(tmp_path)
    frame = worker.request(json.dumps(ctx).encode(), body, 0x80)
    assert frame.flags == 0x08
    context, out = json_response(frame)
    assert context == {"status": 200, "headers": {"Content-Type": ["application/json"]}}
    _check_echo(json.loads(out), ctx, body, content)


def test_echo_proto(spawn, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A protobuf context reaches the PSR-7 request intact; the response is http.v1.Response (0x80)."""
    worker = spawn("echo.php")
    worker.handshake()
    ctx, body, content = _upload_request(tmp_path)
    frame = worker.request(proto_request(ctx), body, 0x80)
    assert frame.flags == 0x80
    context, out = split(frame)
    assert proto_response(context) == {
        "status": 200,
        "headers": {"Content-Type": ["application/json"]},
    }
    _check_echo(json.loads(out), ctx, body, content)
    # The codec stays proto for the rest of the process.
    frame = worker.request(proto_request(json_ctx()), b"")
    assert frame.flags == 0x80


@pytest.mark.parametrize("codec", ["json", "proto"])
def test_echo_parsed_empty_body(spawn, codec: str) -> None:  # type: ignore[no-untyped-def]
    """A parsed request with an empty body gives an empty parsed body and the body text '{}'."""
    worker = spawn("echo.php")
    worker.handshake()
    ctx = json_ctx(method="POST", parsed=True, protocol="HTTP/1.0")
    context = json.dumps(ctx).encode() if codec == "json" else proto_request(ctx)
    data = json.loads(split(worker.request(context, b""))[1])
    assert data["parsedBody"] == []
    assert data["body"] == "{}"
    assert data["protocol"] == "1.0"
    assert data["uploads"] == {}
    assert data["attributes"] == {"rr_parsed_body": True}


# --------------------------------------------------------------------------------------------
# Errors, stop, exits.


def test_error_frame_keeps_worker(spawn) -> None:  # type: ignore[no-untyped-def]
    """An exception in the handler becomes an ERROR frame (0x40, no options); the worker lives on."""
    worker = spawn("fail.php")
    worker.handshake()
    frame = get(worker, "/throw")
    assert frame.flags == 0x40
    assert frame.options == ()
    assert b"thrown on purpose" in frame.payload
    context, body = json_response(get(worker, "/"))
    assert context["status"] == 200
    assert body == b"ok"


def test_worker_stop_frame_bytes(spawn) -> None:  # type: ignore[no-untyped-def]
    """Worker::stop() writes exactly the "please stop me" frame of goridge.md §9.3."""
    worker = spawn("fail.php")
    worker.handshake()
    worker.send(encode_data(json.dumps(json_ctx("http://localhost/stop")).encode(), b"", 0x80))
    expected = bytes.fromhex("14000d000000f339efdb00000d000000") + b'{"stop":true}'
    assert worker.read_raw(len(expected)) == expected


def test_exit_mid_request(spawn) -> None:  # type: ignore[no-untyped-def]
    """exit(1) in a handler ends the process without a response frame."""
    worker = spawn("fail.php")
    worker.handshake()
    worker.send(encode_data(json.dumps(json_ctx("http://localhost/exit")).encode(), b"", 0x80))
    assert worker.read_eof() == b""
    assert worker.wait() == 1


def test_control_stop_exits_cleanly(spawn) -> None:  # type: ignore[no-untyped-def]
    """The server's {"stop":true} CONTROL frame ends the loop: exit 0, no reply."""
    worker = spawn("hello.php")
    worker.handshake()
    worker.send(STOP_CONTROL)
    assert worker.read_eof() == b""
    assert worker.wait() == 0


def test_eof_on_stdin_exits(spawn) -> None:  # type: ignore[no-untyped-def]
    """Closing the worker's stdin makes it exit."""
    worker = spawn("echo.php")
    worker.handshake()
    assert worker.proc.stdin is not None
    worker.proc.stdin.close()
    assert worker.read_eof() == b""
    assert worker.wait() == 0


def test_bootfail(spawn) -> None:  # type: ignore[no-untyped-def]
    """bootfail.php exits 255 at once with "boot failed" on STDERR and nothing on STDOUT."""
    worker = spawn("bootfail.php")
    assert worker.read_eof() == b""
    assert worker.wait() == 255
    assert "boot failed" in worker.stderr


def test_stray_stdout_is_not_a_frame(spawn) -> None:  # type: ignore[no-untyped-def]
    """Output before the worker exists reaches STDOUT as bytes that fail the frame CRC check."""
    worker = spawn("stdout.php")
    garbage = b"garbage before the worker\n"
    assert worker.read_raw(len(garbage)) == garbage
    with pytest.raises(FrameError):
        FrameDecoder().feed(garbage)
    assert worker.handshake().flags == 0x01
    assert split(get(worker, "/"))[1] == b"Hello, World!"


def test_echoed_output_goes_to_stderr(spawn) -> None:  # type: ignore[no-untyped-def]
    """`echo` inside a handler lands on STDERR; STDOUT keeps carrying valid frames."""
    worker = spawn("fail.php")
    worker.handshake()
    context, body = json_response(get(worker, "/echo"))
    assert (context["status"], body) == (200, b"ok")
    worker.send(STOP_CONTROL)
    worker.wait()
    assert "side effect from the handler" in worker.stderr


def test_misc_paths(spawn) -> None:  # type: ignore[no-untyped-def]
    """/pid, /slow, /memory and the default path answer with X-Worker-Pid."""
    worker = spawn("fail.php")
    worker.handshake()
    pid = str(worker.proc.pid)
    context, body = json_response(get(worker, "/pid"))
    assert body == pid.encode()
    assert context["headers"]["X-Worker-Pid"] == [pid]
    started = time.monotonic()
    assert json_response(get(worker, "/slow?ms=50"))[1] == b"slept"
    assert time.monotonic() - started >= 0.05
    assert json_response(get(worker, "/memory?mb=4"))[1] == b"ok"
    context, body = json_response(get(worker, "/anything"))
    assert (context["status"], body, context["headers"]["X-Worker-Pid"]) == (200, b"ok", [pid])


def test_stray_stop_and_pong_are_skipped(spawn) -> None:  # type: ignore[no-untyped-def]
    """STOP and PONG frames that arrive between requests are ignored by waitPayload()."""
    worker = spawn("hello.php")
    worker.handshake()
    worker.send(STOP_FRAME + PONG_FRAME)
    assert split(get(worker, "/"))[1] == b"Hello, World!"


# --------------------------------------------------------------------------------------------
# Streaming.


def test_stream_with_ping_pong(spawn) -> None:  # type: ignore[no-untyped-def]
    """A streamed response: STREAM chunks (context on the first only), a PING on every 5th chunk
    while PONGs come back, and a final frame without STREAM."""
    worker = spawn("fail.php")
    worker.handshake()
    frames = [get(worker, "/stream?chunks=12")]
    if frames[0].stream & Stream.PING:
        worker.send(PONG_FRAME)
    frames += worker.read_stream()
    assert len(frames) == 13
    assert all(f.stream & Stream.STREAM for f in frames[:-1])
    assert not frames[-1].stream & Stream.STREAM
    assert all(f.flags == 0x08 for f in frames)
    context, _ = json_response(frames[0])
    assert context["status"] == 200
    assert context["headers"]["Content-Type"] == ["text/plain"]
    assert all(split(f)[0] == b"" for f in frames[1:])
    assert b"".join(split(f)[1] for f in frames) == b"".join(
        f"chunk-{i}\n".encode() for i in range(12)
    )
    pings = [i for i, f in enumerate(frames) if f.stream & Stream.PING]
    assert pings[0] == 4
    assert all((i + 1) % 5 == 0 for i in pings)
    # The worker is ready for the next request.
    assert json_response(get(worker, "/"))[1] == b"ok"


def test_stream_pings_once_without_pong(spawn) -> None:  # type: ignore[no-untyped-def]
    """Without a PONG the worker does not ask again."""
    worker = spawn("fail.php")
    worker.handshake()
    frames = [get(worker, "/stream?chunks=12"), *worker.read_stream(pong=False)]
    assert [i for i, f in enumerate(frames) if f.stream & Stream.PING] == [4]


def test_server_stop_ends_stream(spawn) -> None:  # type: ignore[no-untyped-def]
    """A STOP frame makes the worker end its stream with an empty frame without STREAM."""
    worker = spawn("fail.php")
    worker.handshake()
    frames = [get(worker, "/stream?chunks=5000")]
    frames.append(worker.read_frame())
    worker.send(STOP_FRAME)
    frames += worker.read_stream()
    assert len(frames) < 100
    last = frames[-1]
    assert last.stream == 0
    assert last.flags == 0
    assert last.options == (0,)
    assert last.payload == b""
    assert json_response(get(worker, "/"))[1] == b"ok"


def test_early_hints(spawn) -> None:  # type: ignore[no-untyped-def]
    """103 goes out as a STREAM frame with its own headers, then the 200 stream follows."""
    worker = spawn("fail.php")
    worker.handshake()
    frames = [get(worker, "/early-hints"), *worker.read_stream()]
    hint, hint_body = json_response(frames[0])
    assert frames[0].stream & Stream.STREAM
    assert hint == {"status": 103, "headers": {"Link": ["</style.css>; rel=preload; as=style"]}}
    assert hint_body == b""
    final, _ = json_response(frames[1])
    assert final["status"] == 200
    assert b"".join(split(f)[1] for f in frames[1:]) == b"hinted body"


def test_generator_error_ends_stream(spawn) -> None:  # type: ignore[no-untyped-def]
    """A generator that throws mid-stream ends the stream with an empty final frame."""
    worker = spawn("fail.php")
    worker.handshake()
    frames = [get(worker, "/error-stream"), *worker.read_stream()]
    assert [split(f)[1] for f in frames] == [b"one\n", b"two\n", b""]
    assert frames[-1].stream == 0
    assert json_response(get(worker, "/"))[1] == b"ok"
    worker.send(STOP_CONTROL)
    worker.wait()
    assert "generator failed" in worker.stderr


def test_big_psr7_body_is_streamed(spawn) -> None:  # type: ignore[no-untyped-def]
    """A PSR-7 body over 10 MiB is sent as 1 MiB STREAM chunks; a small one in one frame."""
    worker = spawn("fail.php")
    worker.handshake()
    frames = [get(worker, "/big?mb=11")]
    frames += worker.read_stream()
    assert len(frames) == 12
    assert sum(len(split(f)[1]) for f in frames) == 11 * 1024 * 1024
    frame = get(worker, "/big?mb=2")
    assert frame.stream == 0
    assert len(split(frame)[1]) == 2 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# Socket relays.


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_socket_relay(spawn, tmp_path: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    """With RR_RELAY=tcp://... or unix://... the worker connects, does the handshake and serves."""
    if kind == "tcp":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    else:
        path = tmp_path / "rr.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        address = f"unix://{path}"
    listener.listen(1)
    listener.settimeout(TIMEOUT)
    with listener:
        worker = spawn("hello.php", {"RR_RELAY": address})
        conn, _ = listener.accept()
    with conn:
        channel = Channel(conn.fileno(), conn.fileno())
        reply = channel.handshake()
        assert reply.flags == 0x01
        assert json.loads(reply.payload) == {"pid": worker.proc.pid}
        context, body = json_response(get(channel, "/"))
        assert (context["status"], body) == (200, b"Hello, World!")
        channel.send(STOP_CONTROL)
        assert worker.wait() == 0


# --------------------------------------------------------------------------------------------
# The example application.


def test_example_app(spawn) -> None:  # type: ignore[no-untyped-def]
    """etc/app/worker.php serves an HTML page counting its requests, /json, and 404 elsewhere."""
    worker = spawn(str(ROOT / "etc" / "app" / "worker.php"))
    worker.handshake()
    pid = worker.proc.pid
    context, body = json_response(get(worker, "/"))
    assert context["status"] == 200
    assert context["headers"]["Content-Type"] == ["text/html; charset=utf-8"]
    assert f"Worker pid {pid} has served 1 request.".encode() in body
    assert b"has served 2 requests." in json_response(get(worker, "/"))[1]
    context, body = json_response(get(worker, "/json"))
    assert context["headers"]["Content-Type"] == ["application/json"]
    data = json.loads(body)
    assert (data["pid"], data["requests"]) == (pid, 3)
    assert json_response(get(worker, "/missing"))[0]["status"] == 404


def test_example_config_loads() -> None:
    """etc/.rr.yaml is a valid configuration running the example app with two workers."""
    config = load(str(ROOT / "etc" / ".rr.yaml"))
    assert config.server is not None
    assert config.http is not None
    assert config.rpc is not None
    assert config.server.command == ("php", "app/worker.php")
    assert config.http.address == "127.0.0.1:8080"
    assert config.http.pool.num_workers == 2
    assert config.rpc.listen == "tcp://127.0.0.1:6001"
    assert (config.logs.root.mode, config.logs.root.level) == ("development", "info")
