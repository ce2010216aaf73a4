# -*- test-case-name: tests.http.test_codec_forms -*-
"""Form fields -> the nested tree PHP expects (bracket syntax), RoadRunner's way.

RoadRunner does not hand PHP the raw form: it splits ``a[b][]`` style names itself and
sends a JSON tree (spec http.md §2.5), with a few quirks PHP code has come to rely on:
spaces are deleted from names, ``a[][x]`` builds an object with an empty key, names with
more than 127 keys are ignored, and a non-empty value colliding with a nested one fails
the whole request. The same builder serves url-encoded fields, multipart fields and files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

#: Names splitting into more keys than this are ignored (RoadRunner's MaxLevel).
MAX_LEVEL = 127

_HEX_DIGITS = "0123456789abcdefABCDEF"
#: "%XX" escapes: the two hex digits (either case) -> the character / byte they encode.
_UNHEX_TEXT = {a + b: chr(int(a + b, 16)) for a in _HEX_DIGITS for b in _HEX_DIGITS}
_UNHEX_BYTES = {k.encode("ascii"): v.encode("latin-1") for k, v in _UNHEX_TEXT.items()}

_V = TypeVar("_V")


class FormConflict(ValueError):
    """Two fields put a value and a nested tree under the same key."""


def query_unescape(value: bytes) -> bytes | None:
    """Go's ``url.QueryUnescape``: ``+`` -> space, ``%XX`` decoded; ``None`` if malformed."""
    if b"+" in value:
        value = value.replace(b"+", b" ")
    if b"%" not in value:
        return value
    head, *chunks = value.split(b"%")
    out = [head]
    for chunk in chunks:
        byte = _UNHEX_BYTES.get(chunk[:2])
        if byte is None:
            return None
        out += (byte, chunk[2:])
    return b"".join(out)


def query_unescape_text(value: str) -> str | None:
    """:func:`query_unescape` on a latin-1 string (one character per byte, in and out)."""
    if "+" in value:
        value = value.replace("+", " ")
    if "%" not in value:
        return value
    head, *chunks = value.split("%")
    out = [head]
    for chunk in chunks:
        char = _UNHEX_TEXT.get(chunk[:2])
        if char is None:
            return None
        out += (char, chunk[2:])
    return "".join(out)


def parse_urlencoded(body: bytes) -> dict[str, list[str]]:
    """Go's ``url.ParseQuery`` on a request body: name -> values, in order of appearance.

    Pairs are split on ``&`` only; a pair holding ``;`` or a malformed escape is skipped
    (Go reports those as an error but keeps the other pairs). Invalid UTF-8 becomes U+FFFD,
    as Go's JSON encoder would make it.
    """
    fields: dict[str, list[str]] = {}
    for pair in body.split(b"&"):
        if not pair or b";" in pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        name = query_unescape(raw_name)
        value = query_unescape(raw_value)
        if name is None or value is None:
            continue
        key = name.decode("utf-8", "replace")
        text = value.decode("utf-8", "replace")
        values = fields.get(key)
        if values is None:
            fields[key] = [text]
        else:
            values.append(text)
    return fields


def split_name(name: str) -> list[str]:
    """Split a field name into its keys: ``a[b][]`` -> ``["a", "b", ""]``.

    Spaces are deleted. Text before the first ``[`` is the first key and every bracket
    group adds one; unbalanced brackets are tolerated (``a[b`` -> ``a``, ``b``) and text
    after a ``]`` starts a new key, as in RoadRunner.
    """
    if "[" not in name and "]" not in name:
        return [name.replace(" ", "")]
    keys = [""]
    # 0: inside a key, 1: just after "[", 2: just after "]"
    state = 0
    for char in name:
        if char == " ":
            continue
        if char == "[":
            state = 1
        elif char == "]":
            if state == 1:
                keys.append("")
            state = 2
        else:
            if state:
                keys.append("")
            keys[-1] += char
            state = 0
    return keys


def _is_empty(value: object) -> bool:
    if isinstance(value, str):
        return not value
    if isinstance(value, list):
        return all(item == "" for item in value)
    return False


def _mount(tree: dict[str, Any], keys: list[str], leaf: object) -> None:
    node = tree
    for key in keys[:-1]:
        child = node.get(key)
        if isinstance(child, dict):
            node = child
            continue
        if child is not None and not _is_empty(child):
            raise FormConflict(f"form field {key!r} is both a value and a nested tree")
        new: dict[str, Any] = {}
        node[key] = new
        node = new
    last = keys[-1]
    existing = node.get(last)
    if isinstance(existing, dict):
        if _is_empty(leaf):
            return
        raise FormConflict(f"form field {last!r} is both a value and a nested tree")
    node[last] = leaf


def build_tree(
    fields: Iterable[tuple[str, list[_V]]], pick: Callable[[list[_V]], _V]
) -> dict[str, Any]:
    """Build the nested tree from ``(name, values)`` pairs.

    A name ending in ``[]`` gets the list of all its values; any other name gets
    ``pick(values)`` (the last value for fields, the first file for uploads).

    :raises FormConflict: a non-empty value and a nested tree share a key.
    """
    tree: dict[str, Any] = {}
    for name, values in fields:
        if not values:
            continue
        keys = split_name(name)
        if len(keys) > MAX_LEVEL:
            continue
        if len(keys) >= 2 and keys[-1] == "":  # noqa: PLR2004
            _mount(tree, keys[:-1], list(values))
        else:
            _mount(tree, keys, pick(values))
    return tree


def last(values: list[_V]) -> _V:
    """Pick the value a plain form field name gets: the last one sent."""
    return values[-1]


def first(values: list[_V]) -> _V:
    """Pick the file a plain file field name gets: the first one sent."""
    return values[0]
