"""The form tree PHP receives (rr.http._forms, spec http.md §2.5), quirks included."""

from __future__ import annotations

from typing import Any

import pytest

from rr.http._forms import (
    FormConflict,
    build_tree,
    first,
    last,
    parse_urlencoded,
    query_unescape,
    split_name,
)


def form(body: bytes) -> dict[str, Any]:
    return build_tree(parse_urlencoded(body).items(), last)


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("title", ["title"]),
        ("a[b][c]", ["a", "b", "c"]),
        ("a[]", ["a", ""]),
        ("a[][x]", ["a", "", "x"]),
        ("a[b", ["a", "b"]),  # unbalanced brackets are tolerated
        ("a]b", ["a", "b"]),
        ("a[b]c", ["a", "b", "c"]),
        ("a[[b]]", ["a", "b"]),
        ("[a]", ["", "a"]),
        ("a b[c d]", ["ab", "cd"]),  # spaces are deleted
        ("a[ ]", ["a", ""]),
        ("", [""]),
    ],
)
def test_split_name(name: str, keys: list[str]) -> None:
    """Bracket syntax split into keys the way RoadRunner does it."""
    assert split_name(name) == keys


def test_parse_urlencoded() -> None:
    """Pairs split on &, unescaped (+ -> space); ; pairs and bad escapes skipped; order kept."""
    fields = parse_urlencoded(b"b=1&a=x+y&&b=2&c&=e&bad=%zz&semi=1;2&d=%C3%A9&e=%ff")
    assert list(fields.items()) == [
        ("b", ["1", "2"]),
        ("a", ["x y"]),
        ("c", [""]),
        ("", ["e"]),
        ("d", ["é"]),
        ("e", ["\ufffd"]),
    ]


def test_query_unescape() -> None:
    """Go's QueryUnescape: + is a space, %XX any case, malformed escapes -> None."""
    assert query_unescape(b"a+b%2b%2F") == b"a b+/"
    assert query_unescape(b"plain") == b"plain"
    for bad in (b"%", b"%2", b"%zz", b"a%g1"):
        assert query_unescape(bad) is None


@pytest.mark.parametrize(
    ("body", "tree"),
    [
        (b"title=a&title=b", {"title": "b"}),  # plain name: the last value
        (b"tags[]=a&tags[]=b", {"tags": ["a", "b"]}),  # [] at the end: every value
        (b"meta[author]=Ann&meta[year]=1", {"meta": {"author": "Ann", "year": "1"}}),
        (b"a[0]=x&a[1]=y", {"a": {"0": "x", "1": "y"}}),  # numeric keys stay object keys
        (b"a[][x]=1&a[][x]=2", {"a": {"": {"x": "2"}}}),  # upstream quirk: an empty key
        (b"a[b][]=1&a[b][]=2&a[c]=3", {"a": {"b": ["1", "2"], "c": "3"}}),
        (b"a+b=1", {"ab": "1"}),
        (b"a=&a[b]=2", {"a": {"b": "2"}}),  # empty scalar, then nested: nested kept
        (b"a[b]=2&a=", {"a": {"b": "2"}}),  # nested, then empty scalar: nested kept
        (b"a[]=&a[b]=2", {"a": {"b": "2"}}),
        (b"a[]=1&a=2", {"a": "2"}),  # scalar against scalar: the later name wins
        (b"x[y]=1&x[y][]=2", {"x": {"y": ["2"]}}),
        (b"", {}),
    ],
)
def test_tree(body: bytes, tree: dict[str, Any]) -> None:
    """PHP bracket semantics as RoadRunner implements them."""
    assert form(body) == tree


@pytest.mark.parametrize(
    "body", [b"a=1&a[b]=2", b"a[b]=2&a=1", b"a[]=1&a[b]=2", b"a[b]=1&a[b][c]=2"]
)
def test_conflicts(body: bytes) -> None:
    """A non-empty value and a nested tree under one key fail the whole form."""
    with pytest.raises(FormConflict):
        form(body)


def test_max_level() -> None:
    """Names with more than 127 keys are ignored; 127 keys are fine."""
    deep = "a" + "[b]" * 126  # 127 keys
    assert split_name(deep).__len__() == 127
    tree = form(deep.encode() + b"=1&" + (deep + "[c]").encode() + b"=2")
    node: Any = tree
    for _ in range(127 - 1):
        node = next(iter(node.values()))
    assert node == {"b": "1"}


def test_files_pick_first() -> None:
    """For files the plain name keeps the first file and [] keeps all of them."""
    tree = build_tree([("f", ["one", "two"]), ("g[]", ["x", "y"])], first)
    assert tree == {"f": "one", "g": ["x", "y"]}
