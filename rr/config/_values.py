# -*- test-case-name: tests.config.test_values -*-
"""Weak typing: raw config values become the types RoadRunner's decoder would give.

RoadRunner decodes its sections with weak typing, so ``"8"`` fills an int, ``"a,b"`` a list and
a YAML ``true`` a string ``"1"``. Values reach us from YAML, JSON, env expansion and ``-o``, so
the same converters serve every source. A bad value becomes a message that ``Section`` records
against its dotted path, so the loader can report every problem at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

from twisted.logger import Logger

from rr.errors import ConfigError

_log = Logger()

T = TypeVar("T")

MIB = 1024 * 1024
"""RoadRunner's "MB": sizes are integer mebibytes."""


class ConversionError(ValueError):
    """A value has the wrong type or syntax; the message says why, the caller adds the path."""


def go_type_name(value: object) -> str:  # noqa: PLR0911
    """Return the Go type name upstream would print for a decoded YAML value."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    return type(value).__name__


def format_float(value: float) -> str:
    """Print a float as Go's ``FormatFloat(f, 'f', -1, 64)``: shortest digits, no exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def to_str(value: object) -> str:
    """Any scalar as a string; a bool is ``"1"``/``"0"``, numbers are printed plainly."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    raise ConversionError(f"expected a string, got {go_type_name(value)}")


# Go integer literal syntax (strconv.ParseInt with base 0): prefixes, leading-0 octal, underscores.
_GO_INT = re.compile(
    r"[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+"
    r"|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)"
)


def parse_go_int(text: str) -> int:
    """Parse a string as Go's ``strconv.ParseInt(text, 0, 64)``; ``""`` is 0."""
    if text == "":
        return 0
    if not _GO_INT.fullmatch(text):
        raise ConversionError(f"invalid integer {text!r}")
    sign = -1 if text[0] == "-" else 1
    body = text.lstrip("+-").replace("_", "").lower()
    if body.startswith(("0x", "0b", "0o")):
        base = {"x": 16, "b": 2, "o": 8}[body[1]]
        return sign * int(body[2:], base)
    if body.startswith("0") and len(body) > 1:  # a leading 0 means octal
        return sign * int(body[1:], 8)
    return sign * int(body)


def to_int(value: object, *, unsigned: bool = False) -> int:
    """Convert an int, a bool, a float (truncated, as Go does) or a Go integer string to int."""
    number: int
    if value is None:
        number = 0
    elif isinstance(value, bool):
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ConversionError(f"invalid integer {format_float(value)}")
        number = int(value)
    elif isinstance(value, str):
        number = parse_go_int(value)
    else:
        raise ConversionError(f"expected an integer, got {go_type_name(value)}")
    if unsigned and number < 0:
        raise ConversionError(f"must not be negative, got {number}")
    return number


_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def to_bool(value: object) -> bool:
    """Convert a bool, a number (non-zero is true) or a Go ``ParseBool`` string to bool."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE or value == "":
            return False
        raise ConversionError(f"invalid boolean {value!r}: use true or false")
    raise ConversionError(f"expected a boolean, got {go_type_name(value)}")


def to_str_list(value: object) -> tuple[str, ...]:
    """Convert a list, a comma-separated string (untrimmed) or one scalar to strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split(",")) if value else ()
    if isinstance(value, list | tuple):
        items: list[str] = []
        for index, item in enumerate(value):
            try:
                items.append(to_str(item))
            except ConversionError as error:
                raise ConversionError(f"item {index}: {error}") from None
        return tuple(items)
    if isinstance(value, Mapping):
        raise ConversionError("expected a list, got map[string]interface {}")
    return (to_str(value),)


def to_command(value: object) -> tuple[str, ...]:
    """Convert a worker command: two or more items are verbatim, one is split on whitespace."""
    items = to_str_list(value)
    if len(items) == 1:
        return tuple(items[0].split())
    return items


def to_str_map(value: object) -> dict[str, str]:
    """Convert a map whose values are scalars to a map of strings."""
    if not isinstance(value, Mapping):
        raise ConversionError(f"expected a map, got {go_type_name(value)}")
    result: dict[str, str] = {}
    for key, item in value.items():
        try:
            result[str(key)] = to_str(item)
        except ConversionError as error:
            raise ConversionError(f"{key}: {error}") from None
    return result


_NS_PER = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DIGITS = frozenset("0123456789")
_MAX_NS = (1 << 63) - 1


def _take_digits(text: str) -> tuple[str, str]:
    end = 0
    while end < len(text) and text[end] in _DIGITS:
        end += 1
    return text[:end], text[end:]


def _invalid_duration(text: str, reason: str = "") -> ConversionError:
    return ConversionError(f"invalid duration '{text}'" + (f": {reason}" if reason else ""))


def _duration_group(text: str, rest: str) -> tuple[int, str]:
    """Parse one ``<number><unit>`` group at the start of ``rest``: (nanoseconds, the rest)."""
    whole, rest = _take_digits(rest)
    fraction = ""
    if rest.startswith("."):
        fraction, rest = _take_digits(rest[1:])
    if not whole and not fraction:
        raise _invalid_duration(text)
    end = 0
    while end < len(rest) and rest[end] != "." and rest[end] not in _DIGITS:
        end += 1
    unit, rest = rest[:end], rest[end:]
    if not unit:
        raise _invalid_duration(text, "missing unit")
    if unit not in _NS_PER:
        raise _invalid_duration(text, f"unknown unit '{unit}'")
    scale = _NS_PER[unit]
    nanoseconds = int(whole or "0") * scale
    if fraction:
        nanoseconds += math.floor(Fraction(int(fraction), 10 ** len(fraction)) * scale)
    return nanoseconds, rest


def parse_go_duration(text: str) -> int:
    """Parse Go ``time.ParseDuration`` syntax into integer nanoseconds."""
    rest = text
    negative = False
    if rest[:1] in ("+", "-"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise _invalid_duration(text)
    total = 0
    while rest:
        nanoseconds, rest = _duration_group(text, rest)
        total += nanoseconds
        if total > _MAX_NS + int(negative):
            raise _invalid_duration(text, "overflow")
    return -total if negative else total


def to_seconds(value: object, path: str) -> float:
    """Convert a duration to seconds: numbers are nanoseconds (logged), strings Go syntax."""
    if value is None:
        return 0.0
    if isinstance(value, str):
        return parse_go_duration(value) / 1_000_000_000
    if isinstance(value, bool):
        raise ConversionError(f"expected a duration such as '60s', got bool {to_str(value)}")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConversionError(f"invalid duration {format_float(value)}")
        if value:
            _log.warn(
                "{path}: the number {value} is read as nanoseconds; write a unit such as "
                "'{value}s' if seconds were meant",
                path=path,
                value=to_str(value),
            )
        return int(value) / 1_000_000_000
    raise ConversionError(f"expected a duration such as '60s', got {go_type_name(value)}")


def parse_duration(value: object, path: str) -> float:
    """Convert a config duration to float seconds, as RoadRunner decodes ``time.Duration``.

    Strings use Go's ``time.ParseDuration`` syntax (``"1h30m"``, ``".5s"``, ``"300ms"``; no
    ``d``; a digits-only string is an error). A native int is nanoseconds and a native float is
    truncated to nanoseconds; both are logged as warnings when non-zero.

    :raises ConfigError: naming ``path`` when the value is not a duration.
    """
    try:
        return to_seconds(value, path)
    except ConversionError as error:
        raise ConfigError([(path, str(error))]) from None


class Section:
    """One map of the config tree, read key by key with conversion problems recorded.

    Every getter returns its default when the key is missing, null or invalid; an invalid value
    also appends ``(dotted.path, message)`` to the shared problem list.
    """

    def __init__(
        self, node: Mapping[str, object], path: str, problems: list[tuple[str, str]]
    ) -> None:
        self.node = node
        self.path = path
        self.problems = problems
        self._read: set[str] = set()

    def key_path(self, key: str) -> str:
        """Return the dotted path of ``key`` in this section."""
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str, message: str) -> None:
        """Record a problem with ``key``."""
        self.problems.append((self.key_path(key), message))

    def get(self, key: str) -> object:
        """Return the raw value of ``key`` (None when missing), marking the key as read."""
        self._read.add(key)
        return self.node.get(key)

    def has(self, key: str) -> bool:
        """Whether ``key`` is present with a non-null value."""
        return self.node.get(key) is not None

    def ignore(self, *keys: str) -> None:
        """Mark keys as known though not read here (other code reads them from ``raw``)."""
        self._read.update(keys)

    def log_unknown(self) -> None:
        """Log keys nobody read, at debug level: upstream ignores unknown keys silently."""
        for key in sorted(set(self.node) - self._read):
            _log.debug("ignoring unknown config key {key}", key=self.key_path(key))

    def convert(self, key: str, converter: Callable[[object], T], default: T) -> T:
        """Read ``key`` through ``converter``; missing, null or invalid gives ``default``."""
        value = self.get(key)
        if value is None:
            return default
        try:
            return converter(value)
        except ConversionError as error:
            self.problem(key, str(error))
            return default

    def string(self, key: str, default: str = "") -> str:
        """Read a string key."""
        return self.convert(key, to_str, default)

    def integer(self, key: str, default: int = 0, *, unsigned: bool = True) -> int:
        """Read an integer key; unsigned by default, as most RoadRunner counters are."""
        return self.convert(key, lambda value: to_int(value, unsigned=unsigned), default)

    def boolean(self, key: str, default: bool = False) -> bool:
        """Read a boolean key."""
        return self.convert(key, to_bool, default)

    def strings(self, key: str) -> tuple[str, ...]:
        """Read a list-of-strings key."""
        return self.convert(key, to_str_list, ())

    def command(self, key: str) -> tuple[str, ...]:
        """Read a worker command key (see ``to_command``)."""
        return self.convert(key, to_command, ())

    def string_map(self, key: str) -> dict[str, str]:
        """Read a map-of-strings key."""
        return self.convert(key, to_str_map, {})

    def mebibytes(self, key: str, default: int = 0) -> int:
        """Read an integer MiB key as bytes; 0 or missing gives ``default`` MiB."""
        return (self.integer(key) or default) * MIB

    def duration(self, key: str, default: float = 0.0) -> float:
        """Read a duration key in seconds; 0 or missing gives ``default``; negative is a problem."""
        seconds = self.convert(key, lambda value: to_seconds(value, self.key_path(key)), 0.0)
        if seconds < 0:
            self.problem(key, f"must not be negative, got {to_str(self.node.get(key))}")
            return default
        return seconds or default

    def section(self, key: str) -> Section | None:
        """Read a nested map; None when missing or null; a problem when not a map."""
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.problem(key, f"expected a map, got {go_type_name(value)}")
            return None
        return Section(value, self.key_path(key), self.problems)
