"""Weak typing of config values: durations, ints, bools, strings and lists."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from twisted.logger import LogLevel

from rr.config import parse_duration
from rr.config._values import (
    ConversionError,
    Section,
    format_float,
    parse_go_int,
    to_bool,
    to_command,
    to_int,
    to_str,
    to_str_list,
)
from rr.errors import ConfigError

if TYPE_CHECKING:
    from .conftest import CapturedLog


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("60s", 60.0),
        ("1m", 60.0),
        ("1h30m", 5400.0),
        ("300ms", 0.3),
        (".5s", 0.5),
        ("1.5h", 5400.0),
        ("2.5h", 9000.0),
        ("10µs", 0.00001),  # micro sign
        ("10μs", 0.00001),  # Greek mu
        ("10us", 0.00001),
        ("100ns", 0.0000001),
        ("0", 0.0),
        ("-0", 0.0),
        ("+5s", 5.0),
        ("-1.5s", -1.5),
        ("1h1m1s1ms", 3661.001),
        ("1.s", 1.0),
    ],
)
def test_go_duration_strings(text: str, seconds: float) -> None:
    """Strings follow Go's time.ParseDuration and come back as float seconds."""
    assert parse_duration(text, "x") == pytest.approx(seconds, abs=1e-12)


def test_duration_fraction_is_exact_to_the_nanosecond() -> None:
    """Fractions are computed on integer nanoseconds, so 1.000000001s keeps its last ns."""
    assert parse_duration("1.000000001s", "x") * 1e9 == pytest.approx(1_000_000_001)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("60", "invalid duration '60': missing unit"),
        ("1d", "invalid duration '1d': unknown unit 'd'"),
        ("", "invalid duration ''"),
        ("s", "invalid duration 's'"),
        (".s", "invalid duration '.s'"),
        ("1 s", "invalid duration '1 s': unknown unit ' s'"),
        ("1m30", "invalid duration '1m30': missing unit"),
        ("-", "invalid duration '-'"),
        ("9999999999h", "invalid duration '9999999999h': overflow"),
    ],
)
def test_invalid_duration_strings(text: str, message: str) -> None:
    """Bad duration strings are ConfigErrors naming the path; digits alone miss a unit."""
    with pytest.raises(ConfigError) as caught:
        parse_duration(text, "http.pool.allocate_timeout")
    assert caught.value.problems == [("http.pool.allocate_timeout", message)]


def test_native_int_is_nanoseconds_and_warns(captured_log: CapturedLog) -> None:
    """A YAML integer is nanoseconds, as upstream reads it, and a warning says so."""
    assert parse_duration(60, "http.pool.allocate_timeout") == pytest.approx(60e-9)
    warnings = captured_log.messages(LogLevel.warn)
    assert len(warnings) == 1
    assert "http.pool.allocate_timeout" in warnings[0]
    assert "nanoseconds" in warnings[0]


def test_native_zero_does_not_warn(captured_log: CapturedLog) -> None:
    """A zero integer is simply zero, with no warning."""
    assert parse_duration(0, "x") == 0.0
    assert captured_log.messages(LogLevel.warn) == []


def test_native_float_is_truncated_to_nanoseconds() -> None:
    """A YAML float is truncated to whole nanoseconds."""
    assert parse_duration(1.9, "x") == pytest.approx(1e-9)
    assert parse_duration(2500.7, "x") == pytest.approx(2.5e-6)


def test_duration_of_other_types_is_an_error() -> None:
    """Booleans, lists and maps are not durations."""
    for value in (True, [1], {"a": 1}):
        with pytest.raises(ConfigError):
            parse_duration(value, "x")


def test_none_duration_is_zero() -> None:
    """A null duration is zero (the caller applies its default)."""
    assert parse_duration(None, "x") == 0.0


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("", 0),
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("+7", 7),
        ("0x10", 16),
        ("0X1f", 31),
        ("0o17", 15),
        ("017", 15),
        ("0b101", 5),
        ("1_000", 1000),
        ("0_17", 15),
    ],
)
def test_go_integer_strings(text: str, number: int) -> None:
    """Integer strings use Go syntax: base prefixes, a leading 0 is octal, underscores allowed."""
    assert parse_go_int(text) == number


@pytest.mark.parametrize("text", ["8MB", "1e3", "08", "1.5", " 1", "0x", "1__0", "_1", "abc"])
def test_invalid_integer_strings(text: str) -> None:
    """Sizes with units, exponents, bad octal and junk are rejected."""
    with pytest.raises(ConversionError):
        parse_go_int(text)


def test_to_int_weak_inputs() -> None:
    """Bools give 0/1, floats truncate as in Go, null is 0."""
    assert to_int(True) == 1  # noqa: FBT003
    assert to_int(False) == 0  # noqa: FBT003
    assert to_int(3.9) == 3
    assert to_int(None) == 0
    assert to_int("12") == 12


def test_to_int_unsigned_rejects_negative() -> None:
    """Negative values are errors for unsigned fields."""
    with pytest.raises(ConversionError, match="must not be negative"):
        to_int(-1, unsigned=True)
    with pytest.raises(ConversionError):
        to_int("-5", unsigned=True)
    with pytest.raises(ConversionError):
        to_int([1])
    with pytest.raises(ConversionError):
        to_int(float("inf"))


@pytest.mark.parametrize("text", ["1", "t", "T", "true", "TRUE", "True"])
def test_go_true_strings(text: str) -> None:
    """Go ParseBool's true spellings are accepted."""
    assert to_bool(text) is True


@pytest.mark.parametrize("text", ["0", "f", "F", "false", "FALSE", "False", ""])
def test_go_false_strings(text: str) -> None:
    """Go ParseBool's false spellings, and the empty string, are false."""
    assert to_bool(text) is False


@pytest.mark.parametrize("text", ["yes", "no", "on", "off", "y", "tRUE"])
def test_yaml11_bool_strings_are_errors(text: str) -> None:
    """'yes' and 'on' are errors for bool fields, as in Go."""
    with pytest.raises(ConversionError):
        to_bool(text)


def test_to_bool_numbers() -> None:
    """A non-zero number is true."""
    assert to_bool(2) is True
    assert to_bool(0) is False
    assert to_bool(0.5) is True


def test_to_str_prints_go_style() -> None:
    """Bools become 1/0 and numbers are printed plainly."""
    assert to_str(True) == "1"  # noqa: FBT003
    assert to_str(False) == "0"  # noqa: FBT003
    assert to_str(8080) == "8080"
    assert to_str(1.5) == "1.5"
    assert to_str(1.0) == "1"
    assert to_str(1e21) == "1000000000000000000000"
    assert to_str(None) == ""
    assert format_float(float("nan")) == "NaN"
    assert format_float(float("-inf")) == "-Inf"
    with pytest.raises(ConversionError):
        to_str({"a": 1})


def test_string_lists() -> None:
    """Lists come from YAML lists, comma-split strings (untrimmed) or one scalar."""
    assert to_str_list(["a", 1, True]) == ("a", "1", "1")
    assert to_str_list("static,gzip") == ("static", "gzip")
    assert to_str_list("a, b") == ("a", " b")
    assert to_str_list("stdout") == ("stdout",)
    assert to_str_list("") == ()
    assert to_str_list(5) == ("5",)
    assert to_str_list(None) == ()
    with pytest.raises(ConversionError, match="item 1"):
        to_str_list(["a", {"b": 1}])
    with pytest.raises(ConversionError):
        to_str_list({"a": 1})


def test_commands() -> None:
    """A string or one-element list splits on whitespace; two or more items stay verbatim."""
    assert to_command("php  worker.php") == ("php", "worker.php")
    assert to_command(["php -d x=1 worker.php"]) == ("php", "-d", "x=1", "worker.php")
    assert to_command(["php", "my worker.php"]) == ("php", "my worker.php")
    assert to_command("/usr/bin/php,/app/worker") == ("/usr/bin/php", "/app/worker")
    assert to_command("") == ()


def test_section_records_problems_and_returns_defaults() -> None:
    """Section getters record (path, message) and fall back to the default."""
    problems: list[tuple[str, str]] = []
    section = Section({"n": "x", "d": "60", "b": "yes"}, "http.pool", problems)
    assert section.integer("n", 7) == 7
    assert section.duration("d", 60.0) == 60.0
    assert section.boolean("b") is False
    assert [path for path, _ in problems] == ["http.pool.n", "http.pool.d", "http.pool.b"]


def test_section_negative_duration_is_a_problem() -> None:
    """Negative durations make no sense for timeouts and are reported."""
    problems: list[tuple[str, str]] = []
    assert Section({"t": "-5s"}, "s", problems).duration("t", 3.0) == 3.0
    assert problems == [("s.t", "must not be negative, got -5s")]
