"""YAML 1.2 core scalar resolution."""

from __future__ import annotations

import math

import pytest
import yaml

from rr.config._yaml import YAML12Loader, load_yaml


@pytest.mark.parametrize("text", ["yes", "no", "on", "off", "y", "n", "Yes", "OFF", "Y"])
def test_yaml11_booleans_are_strings(text: str) -> None:
    """yes/no/on/off/y/n stay strings, so `mode: off` is "off"."""
    assert load_yaml(f"mode: {text}") == {"mode": text}


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("FALSE", False)],
)
def test_yaml12_booleans(text: str, value: bool) -> None:
    """Only true/false spellings are booleans."""
    assert load_yaml(f"a: {text}") == {"a": value}


@pytest.mark.parametrize(
    "text", ["1:30", "2024-01-01", "2001-12-14t21:59:43.10-05:00", "1_2:30", "=", "0x", "+"]
)
def test_sexagesimal_timestamps_and_oddities_are_strings(text: str) -> None:
    """Sexagesimal numbers, timestamps and YAML 1.1 value keys stay strings."""
    assert load_yaml(f"a: {text}") == {"a": text}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("-3", -3),
        ("0x10", 16),
        ("0o17", 15),
        ("017", 15),  # yaml.v3 still reads a leading 0 as octal
        ("0b11", 3),
        ("1_000", 1000),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("08", 8.0),  # not octal, so yaml.v3 reads it as a float
    ],
)
def test_numbers(text: str, value: object) -> None:
    """Numbers resolve as Go's yaml.v3 resolves them."""
    result = load_yaml(f"a: {text}")["a"]
    assert result == value
    assert type(result) is type(value)


def test_infinity_and_nan() -> None:
    """.inf and .nan are floats."""
    data = load_yaml("a: .inf\nb: -.Inf\nc: .NaN")
    assert data["a"] == math.inf
    assert data["b"] == -math.inf
    assert math.isnan(data["c"])


@pytest.mark.parametrize("text", ["~", "null", "Null", "NULL", ""])
def test_nulls(text: str) -> None:
    """Null spellings and empty values are None."""
    assert load_yaml(f"a: {text}") == {"a": None}


def test_quoted_scalars_are_strings() -> None:
    """Quoting keeps numbers and booleans as strings: version: '3'."""
    assert load_yaml("version: '3'\nb: \"true\"") == {"version": "3", "b": "true"}


def test_anchors_aliases_and_merge_keys() -> None:
    """Anchors, aliases and << merge keys work."""
    data = load_yaml("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: *b\n")
    assert data["c"] == {"x": 1, "y": 3}
    assert data["d"] == {"x": 1, "y": 2}


def test_empty_documents_are_none() -> None:
    """An empty file or one with only comments has no data."""
    assert load_yaml("") is None
    assert load_yaml("# nothing\n") is None


def test_unsafe_tags_are_refused() -> None:
    """The loader is safe: Python object tags are errors."""
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: !!python/object/apply:os.system ['true']")


def test_multiple_documents_are_refused() -> None:
    """A config is one document."""
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: 1\n---\nb: 2\n")


def test_safe_loader_is_untouched() -> None:
    """Our resolvers do not leak into PyYAML's own SafeLoader."""
    assert yaml.SafeLoader.yaml_implicit_resolvers is not YAML12Loader.yaml_implicit_resolvers
    assert yaml.safe_load("a: off") == {"a": False}
