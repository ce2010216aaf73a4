# -*- test-case-name: tests.config.test_load -*-
"""The loading pipeline: file, envfile, expansion, version, includes, ``-o``, typed sections.

The order follows rpc-and-cli.md §4.5, except that ``-o`` overrides are applied after the
includes so that the command line always wins. Problems found anywhere in the pipeline are
collected and raised together as one ``ConfigError``; only an unreadable root file stops early.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from dotenv import dotenv_values
from twisted.logger import Logger

from rr.config._build import build_config
from rr.config._expand import expand, expand_tree
from rr.config._values import go_type_name, to_str
from rr.config._yaml import load_yaml
from rr.errors import ConfigError

if TYPE_CHECKING:
    from rr.config._schema import RRConfig

_log = Logger()

CURRENT_VERSION = "3"
_MISSING_VERSION = "rr configuration file should contain a version e.g: version: 3"
_QUOTES = " \"'`"
_TRIM = " \t\n"
# Problems that matter to client commands (rr reset, rr workers...), which only dial rpc.
_CLIENT_SECTIONS = frozenset({"", "version", "include", "envfile", "rpc"})

Problems = list[tuple[str, str]]


# --- reading -----------------------------------------------------------------------------------


def read_file(path: str) -> dict[str, Any]:
    """Parse a config file by its extension (.yaml, .yml, .json); an empty file is ``{}``.

    :raises ConfigError: when the file is missing, unsupported or not a map of keys.
    """
    extension = os.path.splitext(path)[1].lower()  # noqa: PTH122
    if extension not in (".yaml", ".yml", ".json"):
        raise ConfigError(
            [("", f"unsupported config type {extension or '(none)'} of {path}: use .yaml or .json")]
        )
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise ConfigError([("", f"cannot read config file {path}: {reason}")]) from None
    try:
        if extension == ".json":
            data = json.loads(text) if text.strip() else None
        else:
            data = load_yaml(text)
    except (ValueError, yaml.YAMLError) as error:
        raise ConfigError([("", f"cannot parse {path}: {error}")]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([("", f"{path}: the top level must be a map, got {go_type_name(data)}")])
    return data


# --- the raw tree ------------------------------------------------------------------------------


def _key(key: object) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, str | int | float) or key is None:
        return to_str(key).lower()
    return str(key).lower()


def set_path(tree: dict[str, Any], keys: Sequence[str], value: Any) -> None:
    """Set the leaf at ``keys``, creating (or replacing non-map) parents; maps are merged."""
    node = tree
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    leaf = keys[-1]
    if isinstance(value, dict) and isinstance(node.get(leaf), dict):
        merge_into(node[leaf], value)
    else:
        node[leaf] = value


def merge_into(base: dict[str, Any], overlay: Mapping[str, Any]) -> None:
    """Leaf-merge ``overlay`` into ``base``: maps merge key by key, anything else replaces."""
    for key, value in overlay.items():
        set_path(base, [key], value)


def normalize(node: Any, *, split: bool = True) -> Any:
    """Copy ``node`` with every map key lower-cased and dotted keys split into nested maps.

    Inside lists keys are only lower-cased: a dotted path cannot reach into a list.
    """
    if isinstance(node, Mapping):
        result: dict[str, Any] = {}
        for key, value in node.items():
            name = _key(key)
            set_path(result, name.split(".") if split else [name], normalize(value, split=split))
        return result
    if isinstance(node, list | tuple):
        return [normalize(item, split=False) for item in node]
    return node


# --- pipeline steps ----------------------------------------------------------------------------


def parse_override(flag: str) -> tuple[str, str]:
    """Split one ``-o key=value`` flag as RoadRunner does (rpc-and-cli.md §4.4).

    :returns: the key as written and the unquoted value (not yet expanded).
    :raises ValueError: with upstream's message.
    """
    if "=" not in flag:
        raise ValueError(f"invalid flag `{flag}`")
    key, _, value = flag.lstrip(_QUOTES).partition("=")
    key, value = key.strip(_TRIM), value.strip(_TRIM)
    if not key:
        raise ValueError("key should not be empty")
    if not value:
        raise ValueError("value should not be empty")
    quote = value[0]
    if quote in "\"'`":
        value = value[1:-1] if len(value) > 1 and value.endswith(quote) else value[1:]
        value = value.replace("\\" + quote, quote)
    return key, value


def _parse_overrides(
    overrides: Sequence[str], environ: Mapping[str, str], problems: Problems
) -> list[tuple[list[str], str]]:
    parsed: list[tuple[list[str], str]] = []
    for flag in overrides:
        try:
            key, value = parse_override(flag)
        except ValueError as error:
            problems.append((f"-o {flag}", str(error)))
            continue
        parsed.append((key.lower().split("."), expand(value, environ)))
    return parsed


def _override(parsed: list[tuple[list[str], str]], key: str) -> str | None:
    values = [value for keys, value in parsed if keys == [key]]
    return values[-1] if values else None


def _load_envfile(
    tree: dict[str, Any], environ: MutableMapping[str, str], base_dir: str, problems: Problems
) -> None:
    value = tree.get("envfile")
    if value is None:
        return
    if not isinstance(value, str) or not value:
        problems.append(("envfile", f"expected a file name, got {go_type_name(value)}"))
        return
    path = Path(base_dir, value)  # an absolute value stays absolute
    if not path.is_file():
        problems.append(("envfile", f"cannot read {path}: no such file"))
        return
    try:
        values = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as error:
        problems.append(("envfile", f"cannot read {path}: {error}"))
        return
    for name, text in values.items():
        if text is not None and name not in environ:
            environ[name] = text


def _check_version(
    tree: dict[str, Any], parsed: list[tuple[list[str], str]], client: bool, problems: Problems
) -> str | None:
    override = _override(parsed, "version")
    version: object = override if override is not None else tree.get("version")
    if version is None:
        if client:
            return CURRENT_VERSION
        problems.append(("version", _MISSING_VERSION))
        return None
    if not isinstance(version, str):
        problems.append(
            (
                "version",
                'version should be a string: `version: "3"`, actual type is: '
                + go_type_name(version),
            )
        )
        return None
    if version == "2.7":
        _log.warn(
            "configuration version 2.7 is outdated: migrate the file to version 3; "
            "reading it as version 3"
        )
    elif version != CURRENT_VERSION:
        _log.warn(
            "unknown configuration version {version!r}; reading it as version 3", version=version
        )
    return version


def _include_list(
    tree: dict[str, Any], parsed: list[tuple[list[str], str]], problems: Problems
) -> list[str]:
    override = _override(parsed, "include")
    value = override if override is not None else tree.get("include")
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        files: list[str] = []
        for item in value:
            if isinstance(item, str) and item:
                files.append(item)
            else:
                problems.append(("include", f"expected file names, got {go_type_name(item)}"))
        return files
    problems.append(("include", f"expected a list of files, got {go_type_name(value)}"))
    return []


def _apply_includes(
    tree: dict[str, Any],
    files: list[str],
    version: str,
    environ: Mapping[str, str],
    problems: Problems,
) -> None:
    for name in files:
        path = str(Path.cwd() / name)
        try:
            included = expand_tree(normalize(read_file(path)), environ)
        except ConfigError as error:
            problems.extend(("include", message) for _, message in error.problems)
            continue
        if included.get("version") != version:
            message = "version in included file must be the same as in root"
            problems.append(("include", f"{path}: {message}"))
            continue
        included.pop("include", None)  # includes are not recursive
        merge_into(tree, included)


def _in_client_scope(path: str) -> bool:
    return path.startswith("-o") or path.split(".", 1)[0] in _CLIENT_SECTIONS


def run_pipeline(
    tree: Mapping[str, Any],
    overrides: Sequence[str],
    *,
    environ: MutableMapping[str, str],
    base_dir: str,
    path: str,
    client: bool,
) -> RRConfig:
    """Everything after reading the root file; see the module docstring for the order."""
    problems: Problems = []
    merged: dict[str, Any] = normalize(tree)
    _load_envfile(merged, environ, base_dir, problems)
    merged = expand_tree(merged, environ)
    parsed = _parse_overrides(overrides, environ, problems)
    version = _check_version(merged, parsed, client, problems)
    if version is not None:
        _apply_includes(merged, _include_list(merged, parsed, problems), version, environ, problems)
    for keys, value in parsed:
        set_path(merged, keys, value)
    config = build_config(merged, version=version or CURRENT_VERSION, path=path, problems=problems)
    if client:
        problems = [problem for problem in problems if _in_client_scope(problem[0])]
    if problems:
        raise ConfigError(problems)
    return config


def load(
    path: str,
    overrides: Sequence[str] = (),
    *,
    environ: MutableMapping[str, str] | None = None,
    client: bool = False,
) -> RRConfig:
    """Load a ``.rr.yaml`` (or ``.yml``/``.json``) file into a typed ``RRConfig``.

    Steps: parse by extension; load ``envfile`` (relative to the file's directory) into
    ``environ``; expand ``${VAR}`` in every string; check ``version``; merge ``include`` files
    (relative to the working directory); apply ``-o dotted.key=value`` overrides last; type and
    validate every section.

    :param overrides: ``-o`` flag values, in command-line order.
    :param environ: the environment for expansion, and where ``envfile`` writes (os.environ).
    :param client: client commands assume version "3" when it is missing, and only fail on
        problems in ``version``, ``include``, ``envfile``, ``rpc`` and ``-o``.
    :raises ConfigError: listing every problem found.
    """
    absolute = os.path.abspath(path)  # noqa: PTH100
    return run_pipeline(
        read_file(absolute),
        overrides,
        environ=os.environ if environ is None else environ,
        base_dir=os.path.dirname(absolute),  # noqa: PTH120
        path=absolute,
        client=client,
    )


def load_dict(
    tree: Mapping[str, Any],
    overrides: Sequence[str] = (),
    *,
    environ: MutableMapping[str, str] | None = None,
    path: str = "",
    client: bool = False,
) -> RRConfig:
    """Run the ``load`` pipeline on an in-memory tree (for tests and embedders).

    :param path: the file the tree stands for; ``envfile`` is relative to its directory (the
        working directory when empty).
    :raises ConfigError: listing every problem found.
    """
    absolute = os.path.abspath(path) if path else ""  # noqa: PTH100
    return run_pipeline(
        tree,
        overrides,
        environ=os.environ if environ is None else environ,
        base_dir=os.path.dirname(absolute) if absolute else os.getcwd(),  # noqa: PTH109, PTH120
        path=absolute,
        client=client,
    )
