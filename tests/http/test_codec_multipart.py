"""Multipart bodies and uploads (rr.http._multipart through the codec, spec http.md §2.6)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from rr.http._multipart import extension
from rr.http.codec import CodecOptions, RequestBuilder, RequestError, encode_request
from tests.http.test_codec import field_part, file_part, make_head, multipart
from tests.http.test_codec_proto import pb_request

CT = [("Content-Type", "multipart/form-data; boundary=XyZ")]


def post(body: bytes, tmp_path: Path, **options: Any) -> tuple[Any, Any, list[str]]:
    """Encode a multipart POST; return (body tree, uploads tree, temp files)."""
    opts = CodecOptions(uploads_dir=str(tmp_path), **options)
    payload, temp_files = encode_request(make_head("POST", "/", CT), body, opts)
    ctx = orjson.loads(payload.context)
    assert ctx["parsed"] is True
    return orjson.loads(payload.body), ctx["uploads"], temp_files


@pytest.mark.parametrize(
    ("name", "ext"),
    [
        ("a.PHP", ".php"),
        ("archive.tar.gz", ".gz"),
        ("noext", ""),
        (".htaccess", ".htaccess"),
        ("a.", "."),
    ],
)
def test_extension(name: str, ext: str) -> None:
    """The lower-cased extension from the last dot, like Go's path.Ext."""
    assert extension(name) == ext


def test_files_written_to_upload_temp_files(tmp_path: Path) -> None:
    """Each accepted file is streamed to uploads_dir/upload<digits>, size and error 0 reported."""
    body = multipart(file_part("doc", "report.pdf", b"%PDF-1.4 data", "application/pdf"))
    data, uploads, temp_files = post(body, tmp_path)
    assert data == {}
    doc = uploads["doc"]
    assert (doc["name"], doc["mime"]) == ("report.pdf", "application/pdf")
    assert (doc["size"], doc["error"]) == (13, 0)
    assert re.fullmatch(r"upload\d+", Path(doc["tmpName"]).name)
    assert Path(doc["tmpName"]).read_bytes() == b"%PDF-1.4 data"
    assert (Path(doc["tmpName"]).stat().st_mode & 0o777) == 0o600
    assert temp_files == [doc["tmpName"]]


@pytest.mark.parametrize(
    ("forbid", "allow", "accepted"),
    [
        ((".php",), (), {"a.png": True, "b.PHP": False, "c": True}),
        ((), (".png",), {"a.png": True, "b.PHP": False, "c": False}),
        ((".png",), (".png", ".jpg"), {"a.png": False, "b.PHP": False, "c": False, "d.JPG": True}),
    ],
)
def test_forbid_and_allow(
    tmp_path: Path, forbid: tuple[str, ...], allow: tuple[str, ...], accepted: dict[str, bool]
) -> None:
    """Forbidden extensions and ones outside a non-empty allow list get error 8, size 0, no file."""
    parts = [file_part(f"f{i}", name, b"data") for i, name in enumerate(accepted)]
    _, uploads, temp_files = post(
        multipart(*parts), tmp_path, uploads_forbid=forbid, uploads_allow=allow
    )
    for i, (name, ok) in enumerate(accepted.items()):
        upload = uploads[f"f{i}"]
        assert upload["name"] == name
        if ok:
            assert (upload["error"], upload["size"]) == (0, 4)
            assert upload["tmpName"] in temp_files
        else:
            assert (upload["error"], upload["size"], upload["tmpName"]) == (8, 0, "")
    assert len(temp_files) == sum(accepted.values())


def test_missing_upload_dir_is_error_6(tmp_path: Path) -> None:
    """A temp file that cannot be created gives error 6 and no tmpName."""
    _, uploads, temp_files = post(multipart(file_part("f", "a.txt", b"x")), tmp_path / "missing")
    assert uploads["f"] == {"name": "a.txt", "mime": "", "size": 0, "error": 6, "tmpName": ""}
    assert temp_files == []


def test_part_without_filename_is_a_field(tmp_path: Path) -> None:
    """An empty file input (filename="") and a part without filename are plain fields."""
    body = multipart(file_part("avatar", "", b""), field_part("title", "x"))
    data, uploads, temp_files = post(body, tmp_path)
    assert data == {"avatar": "", "title": "x"}
    assert uploads == {}
    assert temp_files == []


def test_parts_without_form_name_are_skipped(tmp_path: Path) -> None:
    """Parts with no name or a non form-data disposition are ignored."""
    body = multipart(
        b'Content-Disposition: form-data; filename="a.txt"\r\n\r\nx',
        b'Content-Disposition: attachment; name="b"\r\n\r\ny',
        b"X-Other: 1\r\n\r\nz",
        field_part("kept", "1"),
    )
    data, uploads, _ = post(body, tmp_path)
    assert (data, uploads) == ({"kept": "1"}, {})


@pytest.mark.parametrize(
    ("filename", "name"), [("../../etc/passwd", "passwd"), ("dir/sub/", "sub"), ("/", "/")]
)
def test_directory_part_stripped(tmp_path: Path, filename: str, name: str) -> None:
    """The client's file name loses any directory part (Go's filepath.Base)."""
    _, uploads, _ = post(multipart(file_part("f", filename, b"x")), tmp_path)
    assert uploads["f"]["name"] == name


def test_file_tree_first_wins_and_lists(tmp_path: Path) -> None:
    """Same plain name: the first file is kept (both are written); docs[] gives a list; nested names nest."""
    body = multipart(
        file_part("f", "one.txt", b"1"),
        file_part("f", "two.txt", b"2"),
        file_part("docs[]", "a.txt", b"a"),
        file_part("docs[]", "b.txt", b"b"),
        file_part("user[avatar]", "me.png", b"p"),
    )
    _, uploads, temp_files = post(body, tmp_path)
    assert uploads["f"]["name"] == "one.txt"
    assert [d["name"] for d in uploads["docs"]] == ["a.txt", "b.txt"]
    assert uploads["user"]["avatar"]["name"] == "me.png"
    assert len(temp_files) == 5


def test_fields_tree_and_empty_forms(tmp_path: Path) -> None:
    """Fields use the form tree; no fields -> {} in JSON, empty body in proto; no files -> uploads {}."""
    data, uploads, _ = post(
        multipart(field_part("a[]", "1"), field_part("a[]", "2"), field_part("b", "é")), tmp_path
    )
    assert data == {"a": ["1", "2"], "b": "é"}
    assert uploads == {}
    head = make_head("POST", "/", CT)
    payload, _ = encode_request(
        head, multipart(), CodecOptions(codec="proto", uploads_dir=str(tmp_path))
    )
    assert payload.body == b""
    msg = pb_request(payload.context)
    assert (msg.parsed, msg.uploads) == (True, b"{}")


def test_chunked_feeding_byte_by_byte(tmp_path: Path) -> None:
    """Feeding one byte at a time gives the same result as one chunk."""
    content = b"line1\r\n--Xy\r\n--XyZ-not-a-boundary\r\n" * 3
    body = multipart(
        field_part("t", "v"), file_part("f", "a.bin", content, "application/octet-stream")
    )
    builder = RequestBuilder(make_head("POST", "/", CT), CodecOptions(uploads_dir=str(tmp_path)))
    for i in range(len(body)):
        builder.feed(body[i : i + 1])
    payload = builder.finish()
    assert orjson.loads(payload.body) == {"t": "v"}
    upload = orjson.loads(payload.context)["uploads"]["f"]
    assert Path(upload["tmpName"]).read_bytes() == content
    assert upload["size"] == len(content)


def test_quoted_printable_part(tmp_path: Path) -> None:
    """A quoted-printable part is decoded, as Go's multipart reader does."""
    part = b'Content-Disposition: form-data; name="q"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9'
    data, _, _ = post(multipart(part), tmp_path)
    assert data == {"q": "café"}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage without boundary",
        multipart(field_part("a", "1"))[:-8],  # no closing boundary
        b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n",  # ends inside the headers
    ],
)
def test_broken_multipart_is_400(tmp_path: Path, body: bytes) -> None:
    """A malformed or truncated multipart body fails with 400 and leaves no temp file."""
    builder = RequestBuilder(make_head("POST", "/", CT), CodecOptions(uploads_dir=str(tmp_path)))

    def run() -> None:
        builder.feed(body)
        builder.finish()

    with pytest.raises(RequestError) as info:
        run()
    assert info.value.status == 400
    assert builder.temp_files == []
    assert list(tmp_path.iterdir()) == []


def test_truncated_after_a_file_deletes_it(tmp_path: Path) -> None:
    """A body cut after a written file: 400 at finish and the file is deleted."""
    body = multipart(file_part("f", "a.txt", b"x" * 100), field_part("b", "1"))
    builder = RequestBuilder(make_head("POST", "/", CT), CodecOptions(uploads_dir=str(tmp_path)))
    builder.feed(body[:-20])
    assert len(builder.temp_files) == 1
    with pytest.raises(RequestError):
        builder.finish()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "text/plain; x=multipart/form-data"]
)
def test_missing_boundary_or_wrong_media_type_is_400(tmp_path: Path, content_type: str) -> None:
    """Content-Type containing multipart/form-data without a usable boundary: 400."""
    head = make_head("POST", "/", [("Content-Type", content_type)])
    with pytest.raises(RequestError) as info:
        encode_request(head, b"x", CodecOptions(uploads_dir=str(tmp_path)))
    assert info.value.status == 400


def test_too_many_parts_is_400(tmp_path: Path) -> None:
    """More than 1000 parts (Go's limit) fail the request."""
    body = multipart(*[field_part("a[]", "1")] * 1001)
    with pytest.raises(RequestError) as info:
        encode_request(make_head("POST", "/", CT), body, CodecOptions(uploads_dir=str(tmp_path)))
    assert info.value.status == 400


def test_field_conflict_is_400(tmp_path: Path) -> None:
    """A form-tree conflict among multipart fields fails with 400 and deletes written files."""
    body = multipart(file_part("f", "a.txt", b"x"), field_part("a", "1"), field_part("a[b]", "2"))
    with pytest.raises(RequestError) as info:
        encode_request(make_head("POST", "/", CT), body, CodecOptions(uploads_dir=str(tmp_path)))
    assert info.value.status == 400
    assert list(tmp_path.iterdir()) == []
