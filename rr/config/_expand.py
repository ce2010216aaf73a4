# -*- test-case-name: tests.config.test_expand -*-
"""``$VAR`` / ``${VAR}`` / ``${VAR:-default}`` expansion of config strings.

The scanner follows Go's ``os.Expand``, which RoadRunner uses, so odd inputs (``$$``, ``${}``,
an unterminated ``${``, ``$1``) give the same result as upstream. Unlike upstream, every
reference is expanded on its own: one ``:-`` in a string does not change how the other
references in it are read (rpc-and-cli.md §4.6).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SPECIAL = frozenset("*#$@!?-0123456789")
_BRACED_SPECIAL_LEN = 3  # "{?}"


def _is_name_char(char: str) -> bool:
    return char == "_" or ("a" <= char <= "z") or ("A" <= char <= "Z") or ("0" <= char <= "9")


def _shell_name(text: str, start: int) -> tuple[str, int]:
    """Return the variable name after a ``$`` at ``start - 1`` and how many characters it spans.

    ``("", n > 0)`` means bad syntax whose characters are dropped; ``("", 0)`` means no name,
    so the ``$`` stays literal.
    """
    first = text[start]
    if first == "{":
        if (
            len(text) - start >= _BRACED_SPECIAL_LEN
            and text[start + 1] in _SPECIAL
            and text[start + 2] == "}"
        ):
            return text[start + 1], _BRACED_SPECIAL_LEN
        close = text.find("}", start + 1)
        if close == start + 1:
            return "", 2  # "${}" is removed
        if close < 0:
            return "", 1  # an unterminated "${" loses the "${"
        return text[start + 1 : close], close - start + 1
    if first in _SPECIAL:
        return first, 1
    end = start
    while end < len(text) and _is_name_char(text[end]):
        end += 1
    return text[start:end], end - start


def _lookup(name: str, environ: Mapping[str, str]) -> str:
    variable, has_default, default = name.partition(":-")
    if has_default:
        return environ.get(variable, "") or default
    return environ.get(name, "")


def expand(text: str, environ: Mapping[str, str]) -> str:
    """Replace every ``$NAME``, ``${NAME}`` and ``${NAME:-default}`` in ``text``.

    Unset variables give ``""``; ``${NAME:-default}`` gives ``default`` when NAME is unset or
    empty. The default is not expanded and cannot contain ``}``.
    """
    if "$" not in text:
        return text
    out: list[str] = []
    copied = 0
    index = 0
    while index < len(text):
        if text[index] == "$" and index + 1 < len(text):
            out.append(text[copied:index])
            name, width = _shell_name(text, index + 1)
            if name:
                out.append(_lookup(name, environ))
            elif width == 0:
                out.append("$")
            index += width
            copied = index + 1
        index += 1
    out.append(text[copied:])
    return "".join(out)


def expand_tree(node: Any, environ: Mapping[str, str]) -> Any:
    """Copy ``node`` with every string value expanded; keys and non-strings are kept."""
    if isinstance(node, str):
        return expand(node, environ)
    if isinstance(node, Mapping):
        return {key: expand_tree(value, environ) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [expand_tree(item, environ) for item in node]
    return node
