"""Environment-variable expansion (rpc-and-cli.md §4.6)."""

from __future__ import annotations

import pytest

from rr.config._expand import expand, expand_tree

ENV = {"VAR": "v", "EMPTY": "", "HOST": "h", "PORT": "9"}


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("plain", "plain"),
        ("${VAR}", "v"),
        ("$VAR", "v"),
        ("${UNSET}", ""),
        ("$UNSET", ""),
        ("${VAR:-d}", "v"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),  # set but empty counts as unset
        ("${UNSET:-}", ""),
        ("${UNSET:-a $VAR b}", "a $VAR b"),  # the default is not expanded
        ("${VAR:=x}", ""),  # looked up literally as "VAR:=x"
        ("${VAR:?msg}", ""),
        ("${VAR?}", ""),
        ("$VAR?", "v?"),
        ("$?", ""),
        ("$$", ""),  # $ is a special name, not an escape
        ("a$$b", "ab"),
        ("$1x", "x"),
        ("$*$#$@$!$-", ""),
        ("${?}", ""),
        ("cost $", "cost $"),
        ("$ x", "$ x"),
        ("a$.b", "a$.b"),
        ("${}", ""),
        ("a${}b", "ab"),
        ("${VAR", "VAR"),  # unterminated: the "${" is dropped
        ("x${VAR", "xVAR"),
        ("$VAR_1", ""),  # the name is the longest [A-Za-z0-9_] run
        ("${VAR}_1", "v_1"),
        ("$VAR-1", "v-1"),
        ("$", "$"),
    ],
)
def test_expansion_table(text: str, result: str) -> None:
    """Each syntax of the §4.6 table expands as Go's os.Expand with RoadRunner's defaults."""
    assert expand(text, ENV) == result


def test_each_reference_is_expanded_independently() -> None:
    """A ':-' in one reference does not blank the others (upstream quirk not copied)."""
    assert expand("tcp://${HOST}:${PORT:-6001}", ENV) == "tcp://h:9"
    assert expand("tcp://${HOST}:${NOPE:-6001}", ENV) == "tcp://h:6001"
    assert expand("${A:-1}-${B}-$VAR", {"VAR": "v"}) == "1--v"


def test_tree_expansion_touches_only_string_values() -> None:
    """Strings in maps and lists are expanded; keys, numbers and bools are not."""
    tree = {"$VAR": "$VAR", "n": 1, "b": True, "l": ["$VAR", 2, {"k": "${VAR}"}], "z": None}
    assert expand_tree(tree, ENV) == {
        "$VAR": "v",
        "n": 1,
        "b": True,
        "l": ["v", 2, {"k": "v"}],
        "z": None,
    }
