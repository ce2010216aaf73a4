# -*- test-case-name: tests.test_tap -*-
"""twistd glue: ``twistd -n rr -c .rr.yaml -o http.address=:8080``.

``Options`` mirrors the ``rr`` command's global flags that matter for serving. Its
``postOptions`` runs the same pre-step as ``rr serve`` (rpc-and-cli.md §4.2: chdir,
absolute config path, dotenv) and loads the config, so that a bad config is reported
the way twistd reports option errors (usage text plus the message, no traceback);
``makeService`` then builds the service tree (and does the loading itself if it is
handed options that were never parsed).

Logging under twistd: twistd has already begun logging (``--logfile``, ``--syslog``…)
by the time ``makeService`` runs, so its observer keeps receiving every event. Ours
is *added* to ``globalLogPublisher`` only when the config has a ``logs`` section or
``--json-logs`` is given, so ``logs.*`` (formats, channels, outputs) applies then too.

:func:`prepare` is shared with the ``rr`` command; it raises ``ValueError`` for a bad
argument and ``OSError`` for a missing directory or dotenv file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from twisted.python import usage

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    from twisted.application.service import IService

    from rr.config._schema import RRConfig

__all__ = ["Options", "load_dotenv", "makeService", "prepare"]


def load_dotenv(path: str, environ: MutableMapping[str, str]) -> None:
    """Load a ``.env`` file into ``environ`` without overwriting existing variables.

    :raises FileNotFoundError: the file does not exist.
    """
    from dotenv import dotenv_values  # noqa: PLC0415 - only needed with --dotenv

    if not Path(path).is_file():
        raise FileNotFoundError(f"open {path}: no such file or directory")
    for key, value in dotenv_values(path).items():
        if value is not None and key not in environ:
            environ[key] = value


def prepare(
    config: str,
    *,
    workdir: str | None = None,
    dotenv: str | None = None,
    environ: MutableMapping[str, str] | None = None,
) -> str:
    """Run steps 1-4 of the common pre-step and return the absolute config path.

    1. an empty config path is an error; 2. ``chdir(workdir)`` if given; 3. make the
    config path absolute and, without ``workdir``, ``chdir`` to its directory; 4. load
    the dotenv file (``DOTENV_PATH`` wins over ``dotenv``), relative to the new cwd.

    :raises ValueError: the config path is empty.
    :raises OSError: ``workdir`` or the config's directory cannot be entered, or the
        dotenv file is missing.
    """
    env = os.environ if environ is None else environ
    if not config:
        raise ValueError("no configuration file provided")
    if workdir:
        os.chdir(workdir)
    path = Path(config).absolute()
    if not workdir:
        os.chdir(path.parent)
    dotenv_path = env.get("DOTENV_PATH") or dotenv
    if dotenv_path:
        load_dotenv(dotenv_path, env)
    return str(path)


class Options(usage.Options):
    """``twistd rr`` options (a subset of the ``rr`` command's global flags)."""

    synopsis = "[-c .rr.yaml] [-w DIR] [-o key=value ...] [--dotenv FILE] [--json-logs]"
    optParameters: ClassVar[list[list[str | None]]] = [
        ["config", "c", ".rr.yaml", "Configuration file (YAML or JSON)."],
        ["workdir", "w", None, "Change to this directory first (default: the config's directory)."],
        ["dotenv", None, None, "A .env file to load (the DOTENV_PATH variable wins)."],
    ]
    optFlags: ClassVar[list[list[str | None]]] = [
        ["json-logs", None, "Log production JSON lines, whatever logs.mode says."],
    ]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self["override"] = []

    def opt_override(self, value: str) -> None:
        """Override a config value: dotted.key=value (repeatable)."""
        self["override"].append(value)

    opt_o = opt_override

    #: The loaded configuration, set by :meth:`postOptions`.
    config: RRConfig | None = None

    def postOptions(self) -> None:
        """Check the flags, run the pre-step and load the configuration.

        :raises usage.UsageError: empty config path, an override without ``=``, a missing
            directory or dotenv file, or an invalid configuration.
        """
        if not self["config"]:
            raise usage.UsageError("no configuration file provided")
        for value in self["override"]:
            if "=" not in value:
                raise usage.UsageError(f"invalid flag `{value}`")
        self.config = _load(self)


def _load(options: Options) -> RRConfig:
    """Pre-step and config loading, with every failure as a UsageError."""
    from rr import config as rr_config  # noqa: PLC0415 - keep `twistd --help` light
    from rr.errors import ConfigError  # noqa: PLC0415

    try:
        path = prepare(options["config"], workdir=options["workdir"], dotenv=options["dotenv"])
        return rr_config.load(path, tuple(options["override"]))
    except (ValueError, OSError, ConfigError) as exc:
        raise usage.UsageError(str(exc)) from exc


def _install_log_observer(config: RRConfig, json_logs: bool) -> None:
    from twisted.logger import globalLogPublisher  # noqa: PLC0415

    from rr.logging import make_observer, production_json  # noqa: PLC0415

    if not json_logs and "logs" not in config.raw:
        return
    logs = production_json(config.logs) if json_logs else config.logs
    globalLogPublisher.addObserver(make_observer(logs))


def makeService(options: Options, reactor: object = None) -> IService:
    """Set up logging and build :func:`rr.service.makeService` (global reactor by default).

    :param reactor: for tests and embedders; twistd passes none.
    :raises usage.UsageError: the pre-step failed or the configuration is invalid (when
        ``postOptions`` has not loaded it already), or a log file cannot be opened.
    """
    from rr import service as rr_service  # noqa: PLC0415

    config = options.config if options.config is not None else _load(options)
    try:
        _install_log_observer(config, json_logs=bool(options["json-logs"]))
    except OSError as exc:
        raise usage.UsageError(f"cannot open log output: {exc}") from exc
    if reactor is None:
        from twisted.internet import reactor as global_reactor  # noqa: PLC0415

        reactor = global_reactor
    return rr_service.makeService(config, reactor)
