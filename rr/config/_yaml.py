# -*- test-case-name: tests.config.test_yaml -*-
"""A safe YAML loader that resolves plain scalars as YAML 1.2 core, like Go's yaml.v3.

PyYAML follows YAML 1.1, where ``off``, ``yes`` and ``n`` are booleans, ``1:30`` is 90 and
``2024-01-01`` a date. RoadRunner reads ``logs: {mode: off}`` as the string ``"off"``, so we
replace the implicit resolvers of ``SafeLoader`` (and only those: construction stays safe).
Integers follow yaml.v3 too: ``0x``/``0o``/``0b`` prefixes and a legacy leading-``0`` octal.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_DIGITS_AND_SIGNS = list("-+0123456789")


class YAML12Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 core-schema scalar resolution."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012


YAML12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
YAML12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
YAML12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(
        r"^[-+]?(?:0x(?:_?[0-9a-fA-F])+|0o(?:_?[0-7])+|0b(?:_?[01])+"
        r"|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)$"
    ),
    _DIGITS_AND_SIGNS,
)
YAML12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    [*_DIGITS_AND_SIGNS, "."],
)
YAML12Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely; an empty document gives None.

    :raises yaml.YAMLError: on a syntax error or more than one document.
    """
    loader = YAML12Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
