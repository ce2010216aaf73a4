# -*- test-case-name: tests.http.test_codec_multipart -*-
"""Streaming ``multipart/form-data`` parsing: fields in memory, files straight to disk.

RoadRunner creates one temp file per uploaded file (``upload`` + random digits, in
``http.uploads.dir``) before PHP runs, and reports each file's fate with a PHP
``UPLOAD_ERR_*`` code (spec http.md §2.6). Parsing incrementally as body chunks arrive
keeps memory flat whatever the upload size; python-multipart does the byte-level work.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from python_multipart.decoders import QuotedPrintableDecoder
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

UPLOAD_ERR_OK = 0
UPLOAD_ERR_NO_TMP_DIR = 6
UPLOAD_ERR_CANT_WRITE = 7
UPLOAD_ERR_EXTENSION = 8

#: Go's default ``multipartmaxparts``: more parts than this fail the request.
MAX_PARTS = 1000
#: Go keeps at most maxMemory (32 MiB in RoadRunner) + 10 MiB of non-file values.
MAX_FIELD_BYTES = (32 + 10) * 1024 * 1024
_MAX_PART_HEADERS = 64
_MAX_HEADER_LINE = 16 * 1024
_TEMP_ATTEMPTS = 10000
_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)

# python-multipart logs every malformed body at WARNING through stdlib logging; a client
# sending garbage is not worth a line on stderr (the request gets a 400 anyway).
_quiet = logging.getLogger("rr.http.multipart")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


class MultipartError(ValueError):
    """The body is not a well-formed ``multipart/form-data`` message."""


@dataclass(slots=True)
class FileUpload:
    """One uploaded file as PHP receives it; fields in RoadRunner's JSON order."""

    name: str
    mime: str
    size: int = 0
    error: int = UPLOAD_ERR_OK
    tmpName: str = ""


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    """Where temp files go and which extensions are accepted (``http.uploads``)."""

    dir: str
    forbid: frozenset[str]
    allow: frozenset[str]

    def accepts(self, filename: str) -> bool:
        """Whether the file's lower-cased extension passes the forbid/allow lists."""
        ext = extension(filename)
        if ext in self.forbid:
            return False
        return not self.allow or ext in self.allow


def extension(filename: str) -> str:
    """Go's ``path.Ext``, lower-cased: from the last dot of the last path element, or ``""``.

    ``.PHP`` -> ``.php``, ``archive.tar.gz`` -> ``.gz``, ``.htaccess`` -> ``.htaccess``.
    """
    dot = filename.rfind(".")
    if dot == -1 or "/" in filename[dot:]:
        return ""
    return filename[dot:].lower()


def boundary_of(content_type: str) -> bytes | None:
    """Return the boundary of a ``multipart/form-data`` content type, or ``None``."""
    media, params = parse_options_header(content_type)
    if media != b"multipart/form-data":
        return None
    return params.get(b"boundary") or None


def _base_name(filename: str) -> str:
    # Go's filepath.Base on a POSIX system: the last non-empty "/" component.
    stripped = filename.rstrip("/")
    if not stripped:
        return "/"
    return stripped.rsplit("/", 1)[-1]


def create_temp_file(directory: str) -> tuple[int, str]:
    """Create ``<directory>/upload<random digits>`` exclusively, mode 0600.

    :raises OSError: the file could not be created.
    """
    for _ in range(_TEMP_ATTEMPTS):
        path = os.path.join(directory, f"upload{secrets.randbits(32)}")  # noqa: PTH118
        try:
            return os.open(path, _OPEN_FLAGS, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no unused temp file name in {directory}")


class _Sink:
    """Where the data of the current part goes."""

    __slots__ = ("buffer", "fd", "upload")

    def __init__(self, upload: FileUpload | None, fd: int = -1) -> None:
        self.upload = upload
        self.fd = fd
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        upload = self.upload
        if upload is None:
            self.buffer += data
        elif self.fd >= 0:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(self.fd, view)
                    upload.size += written
                    view = view[written:]
            except OSError:
                upload.error = UPLOAD_ERR_CANT_WRITE
                self.close()
        return len(data)

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            try:
                os.close(fd)
            except OSError:
                if self.upload is not None:
                    self.upload.error = UPLOAD_ERR_CANT_WRITE


class MultipartCollector:
    """Parse one multipart body fed in chunks.

    :ivar fields: field name -> values, in order of appearance (parts without a filename).
    :ivar files: field name -> uploads, in order of appearance.
    :ivar temp_files: every temp file created (appended to the list passed in), for the
        caller to delete.
    """

    def __init__(self, boundary: bytes, policy: UploadPolicy, temp_files: list[str]) -> None:
        self.fields: dict[str, list[str]] = {}
        self.files: dict[str, list[FileUpload]] = {}
        self.temp_files = temp_files
        self._policy = policy
        self._parts = 0
        self._field_bytes = 0
        self._headers: dict[str, bytes] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._name = ""
        self._sink: _Sink | None = None
        self._writer: _Sink | QuotedPrintableDecoder | None = None
        callbacks: MultipartCallbacks = {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
        }
        try:
            self._parser = MultipartParser(
                boundary,
                callbacks,
                max_header_count=_MAX_PART_HEADERS,
                max_header_size=_MAX_HEADER_LINE,
            )
        except ValueError as exc:
            raise MultipartError(str(exc)) from exc
        self._parser.logger = _quiet

    def write(self, data: bytes) -> None:
        """Parse the next chunk of the body.

        :raises MultipartError: malformed body or too many parts.
        """
        try:
            self._parser.write(data)
        except MultipartParseError as exc:
            self.close()
            raise MultipartError(f"multipart: {exc}") from exc

    def finish(self) -> None:
        """Check the closing boundary was seen.

        :raises MultipartError: the body ended early.
        """
        if self._parser.state != MultipartState.END:
            self.close()
            raise MultipartError("multipart: NextPart: unexpected EOF")

    def close(self) -> None:
        """Close the temp file being written, if any (files stay on disk)."""
        if self._sink is not None:
            self._sink.close()

    # python-multipart callbacks

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise MultipartParseError("message too large")
        self._headers = {}
        self._sink = self._writer = None

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        name = self._header_name.decode("latin-1").lower()
        self._headers.setdefault(name, bytes(self._header_value).strip(b" \t"))
        self._header_name = bytearray()
        self._header_value = bytearray()

    def _on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get("content-disposition"))
        name = params.get(b"name", b"") if disposition == b"form-data" else b""
        if not name:
            return  # Go skips parts without a form name
        self._name = name.decode("utf-8", "replace")
        filename = params.get(b"filename", b"").decode("utf-8", "replace")
        if filename:
            self._sink = self._open_file(_base_name(filename))
        else:
            self._sink = _Sink(None)
        self._writer = self._sink
        encoding = self._headers.get("content-transfer-encoding", b"")
        if encoding.lower() == b"quoted-printable":
            self._writer = QuotedPrintableDecoder(self._sink)

    def _open_file(self, filename: str) -> _Sink:
        mime = self._headers.get("content-type", b"").decode("utf-8", "replace")
        upload = FileUpload(name=filename, mime=mime)
        self.files.setdefault(self._name, []).append(upload)
        if not self._policy.accepts(filename):
            upload.error = UPLOAD_ERR_EXTENSION
            return _Sink(upload)
        try:
            fd, path = create_temp_file(self._policy.dir)
        except OSError:
            upload.error = UPLOAD_ERR_NO_TMP_DIR
            return _Sink(upload)
        upload.tmpName = path
        self.temp_files.append(path)
        return _Sink(upload, fd)

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._writer is None:
            return
        sink = self._sink
        if sink is not None and sink.upload is None:
            self._field_bytes += end - start
            if self._field_bytes > MAX_FIELD_BYTES:
                raise MultipartParseError("message too large")
        self._writer.write(data[start:end])

    def _on_part_end(self) -> None:
        writer, sink = self._writer, self._sink
        self._writer = self._sink = None
        if writer is None or sink is None:
            return
        if isinstance(writer, QuotedPrintableDecoder):
            writer.finalize()
        if sink.upload is None:
            value = sink.buffer.decode("utf-8", "replace")
            self.fields.setdefault(self._name, []).append(value)
        else:
            sink.close()
