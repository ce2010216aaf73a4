# -*- test-case-name: tests.cli.test_args -*-
"""The ``rr`` command line, parsed like cobra/pflag parse RoadRunner's.

Global flags are *persistent*: Laravel Octane puts them before the subcommand
(``rr -c X -o a=b serve``), people usually put them after (rpc-and-cli.md §4.2).
argparse only knows options of the parser that is active, so every subcommand parser
repeats the global flags under ``sub_``-prefixed destinations and :func:`parse_args`
merges both levels: ``-o`` values accumulate (before, then after), a later scalar wins,
booleans are OR-ed. Abbreviated long options are refused (``--conf`` is not
``--config``) and ``--WorkDir`` is case-sensitive, as in pflag.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NoReturn

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["CLIArgs", "UsageProblem", "build_parser", "parse_args"]

JobsAction = Literal["pause", "resume", "destroy", "list"]


class UsageProblem(Exception):
    """The command line is wrong (exit 64)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CLIArgs:
    """The parsed command line.

    :ivar command: the subcommand, or ``None`` when there was none (print help).
    :ivar help_text: the root help, printed when there is no subcommand.
    """

    command: str | None
    config: str = ".rr.yaml"
    workdir: str | None = None
    overrides: tuple[str, ...] = ()
    dotenv: str | None = None
    silent: bool = False
    debug: bool = False
    pid: bool = False
    experimental: bool = False
    force: bool = False
    version: bool = False
    plugins: tuple[str, ...] = ()
    interactive: bool = False
    jobs_action: JobsAction | None = None
    pipelines: tuple[str, ...] = ()
    help_text: str = ""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become :class:`UsageProblem` (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise UsageProblem(message)


_BOOLS = (
    ("-s", "--silent", "silent", "print no console lines besides logs and errors"),
    ("-d", "--debug", "debug", "debug mode (accepted; txrr starts no pprof server)"),
    ("-p", "--pid", "pid", "write the process id to .pid in the working directory"),
    ("-e", "--enable-experimental", "experimental", "enable experimental features"),
    ("-f", "--force", "force", "force stop (rr stop)"),
)


def _add_globals(parser: argparse.ArgumentParser, prefix: str) -> None:
    """Add the persistent flags; subcommand copies are SUPPRESSed unless given."""
    top = not prefix
    group = parser.add_argument_group("global flags")
    group.add_argument(
        "-c", "--config", dest=prefix + "config",
        default=".rr.yaml" if top else argparse.SUPPRESS,
        help="config file (default .rr.yaml)",
    )
    group.add_argument(
        "-w", "--WorkDir", dest=prefix + "workdir",
        default=None if top else argparse.SUPPRESS,
        help="working directory (default: the config file's directory)",
    )
    group.add_argument(
        "-o", "--override", dest=prefix + "override", action="append",
        default=[] if top else argparse.SUPPRESS, metavar="KEY=VALUE",
        help="override a config value, dotted.key=value (repeatable)",
    )
    group.add_argument(
        "--dotenv", dest=prefix + "dotenv", default=None if top else argparse.SUPPRESS,
        help="load this .env file (the DOTENV_PATH variable wins)",
    )
    for short, long, dest, text in _BOOLS:
        group.add_argument(
            short, long, dest=prefix + dest, action="store_true",
            default=False if top else argparse.SUPPRESS, help=text,
        )


def build_parser() -> argparse.ArgumentParser:
    """Build the ``rr`` parser with its subcommands."""
    parser = _Parser(
        prog="rr",
        description="RoadRunner-compatible PHP application server (txrr).",
        allow_abbrev=False,
    )
    _add_globals(parser, "")
    parser.add_argument("-v", "--version", action="store_true", help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def sub(name: str, text: str) -> argparse.ArgumentParser:
        child = subparsers.add_parser(name, help=text, description=text, allow_abbrev=False)
        _add_globals(child, "sub_")
        return child

    sub("serve", "Start the server")
    sub("stop", "Stop the server started with rr serve -p (SIGTERM to the pid in .pid)")
    reset = sub("reset", "Reset workers of all or the given plugins")
    reset.add_argument("plugins", nargs="*", metavar="PLUGIN")
    workers = sub("workers", "Show the workers of all or the given plugins")
    workers.add_argument("plugins", nargs="*", metavar="PLUGIN")
    workers.add_argument("-i", "--interactive", action="store_true", help="redraw every second")
    jobs = sub("jobs", "Pause, resume, destroy or list jobs pipelines")
    for action in ("pause", "resume", "destroy"):
        jobs.add_argument(f"--{action}", action="store_true", help=f"{action} the pipelines")
    jobs.add_argument("--list", action="store_true", help="list the pipelines")
    jobs.add_argument("pipelines", nargs="?", default="", metavar="P1,P2")
    return parser


# pflag accepts "-so=value" (shorthand with "=" after boolean shorthands); argparse
# would keep the "=" in the value.
_COMBINED_EQ = re.compile(r"^-([sdpef]+)([cwo])=(.*)$", re.DOTALL)


def _normalize(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            out.extend(argv[i:])
            break
        match = _COMBINED_EQ.match(arg)
        out.append(f"-{match[1]}{match[2]}{match[3]}" if match else arg)
    return out


def _jobs_action(ns: argparse.Namespace) -> tuple[JobsAction | None, tuple[str, ...]]:
    chosen = [name for name in ("pause", "resume", "destroy", "list") if getattr(ns, name)]
    if len(chosen) != 1:
        raise UsageProblem(
            "command should be in form of: `rr jobs --pause pipeline1,pipeline2`, "
            "`rr jobs --resume …`, `rr jobs --destroy …` or `rr jobs --list`"
        )
    action: JobsAction = chosen[0]  # type: ignore[assignment]
    pipelines = tuple(p.strip() for p in str(ns.pipelines).split(",") if p.strip())
    if action != "list" and not pipelines:
        raise UsageProblem(f"rr jobs --{action} needs a comma-separated list of pipelines")
    return action, pipelines


def parse_args(argv: Sequence[str]) -> CLIArgs:
    """Parse ``argv`` (without the program name).

    :raises UsageProblem: unknown flag or command, missing value, bad ``jobs`` form.
    :raises SystemExit: ``-h``/``--help`` printed the help (code 0).
    """
    parser = build_parser()
    ns = parser.parse_args(_normalize(argv))
    values = vars(ns)

    def scalar(name: str) -> str | None:
        value = values.get("sub_" + name, values.get(name))
        return None if value is None else str(value)

    def flag(name: str) -> bool:
        return bool(values.get(name) or values.get("sub_" + name))

    overrides = (*values.get("override", []), *values.get("sub_override", []))
    command = values.get("command")
    action: JobsAction | None = None
    pipelines: tuple[str, ...] = ()
    if command == "jobs":
        action, pipelines = _jobs_action(ns)
    return CLIArgs(
        command=command,
        config=scalar("config") or "",
        workdir=scalar("workdir"),
        overrides=tuple(overrides),
        dotenv=scalar("dotenv"),
        silent=flag("silent"),
        debug=flag("debug"),
        pid=flag("pid"),
        experimental=flag("experimental"),
        force=flag("force"),
        version=bool(values.get("version")),
        plugins=tuple(values.get("plugins") or ()),
        interactive=bool(values.get("interactive")),
        jobs_action=action,
        pipelines=pipelines,
        help_text=parser.format_help(),
    )
