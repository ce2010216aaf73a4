# -*- test-case-name: tests.cli.test_main -*-
"""The ``rr`` console script: ``serve``, ``stop``, ``reset``, ``workers``, ``jobs``.

Behaves like RoadRunner's ``rr`` where tools depend on it (Laravel Octane: global flags
before the subcommand, ``--version`` shape, ``reset -s`` silence, two-signal stop; see
rpc-and-cli.md §4 and octane.md). Exit codes are sysexits-style (:mod:`rr.exitcodes`):
64 for a bad command line, 78 for a bad config, 69 when the server cannot boot, 1 else.

This module and ``rr.tap`` are the only places that use the global reactor.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from threading import Lock
from typing import IO, TYPE_CHECKING, cast

from twisted.logger import Logger

from rr.cli._args import CLIArgs, UsageProblem, parse_args
from rr.cli._render import (
    error_line,
    error_table,
    go_timestamp,
    jobs_table,
    pipelines_table,
    version_line,
    workers_table,
)
from rr.cli._serve import (
    STOP_SIGNALS,
    IServeReactor,
    ServeRunner,
    install_signal_handlers,
    sd_notify,
)
from rr.errors import BootError, ConfigError
from rr.exitcodes import ExitCode
from rr.tap import prepare

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import FrameType

    from twisted.internet.interfaces import IReactorFromThreads

    from rr.config._schema import RRConfig

__all__ = ["RPC_MISSING", "RPCUnavailableError", "main", "rpc_call"]

_log = Logger(namespace="rr.cli")

RPC_MISSING = "rpc service not specified in the configuration. Tip: add\n rpc:\n\tlisten: rpc_dsn"

#: Replaced in tests; ``rr stop -f`` waits this long between the two SIGTERMs.
_sleep: Callable[[float], None] = time.sleep


class RPCUnavailableError(Exception):
    """Raised when this build has no ``rr.rpc.client``."""


class _CommandError(Exception):
    """A failure to report as ``error: …`` with an exit code."""

    def __init__(self, message: str, code: int = ExitCode.FAILURE) -> None:
        super().__init__(message)
        self.code = code


def _colour(stream: IO[str]) -> bool:
    try:
        return stream.isatty() and "NO_COLOR" not in os.environ
    except (AttributeError, ValueError):
        return False


def _print_error(message: str) -> None:
    sys.stderr.write(error_line(message, colour=_colour(sys.stderr)) + "\n")
    sys.stderr.flush()


def _config_message(exc: ConfigError) -> str:
    """One line for every problem of a ConfigError."""
    if not exc.problems:
        return " ".join(str(exc).split())
    return "; ".join(f"{path}: {msg}" if path else msg for path, msg in exc.problems)


def _load_config(path: str, overrides: Sequence[str], *, client: bool) -> RRConfig:
    import rr.config  # noqa: PLC0415 - loaded only by commands that need a config

    return rr.config.load(path, overrides, client=client)


# -- the RPC seam -------------------------------------------------------------------


def rpc_call(listen: str, method: str, params: object) -> object:
    """Call ``method`` on the RPC listener at ``listen`` and return the decoded reply.

    The one place that reaches the RPC client (``rr.rpc.client.call``).

    :raises RPCUnavailableError: ``rr.rpc.client`` is not part of this build.
    """
    try:
        client = importlib.import_module("rr.rpc.client")
    except ImportError as exc:
        raise RPCUnavailableError("RPC client not available in this build") from exc
    call = cast("Callable[[str, str, object], object]", client.call)
    return call(listen, method, params)


def _client_listen(args: CLIArgs, path: str) -> str:
    config = _load_config(path, args.overrides, client=True)
    if config.rpc is None:
        raise _CommandError(RPC_MISSING)
    return config.rpc.listen


def _stderr_log(line: str, lock: Lock | None = None) -> None:
    """Write one Go ``log``-style line (``2006/01/02 15:04:05 msg``) to stderr."""
    text = go_timestamp(datetime.now().astimezone()) + line + "\n"
    if lock is None:
        sys.stderr.write(text)
        sys.stderr.flush()
        return
    with lock:
        sys.stderr.write(text)
        sys.stderr.flush()


# -- commands -------------------------------------------------------------------------


def _serve(args: CLIArgs, path: str) -> int:
    try:
        config = _load_config(path, args.overrides, client=False)
    except ConfigError as exc:
        raise _CommandError(
            "handle_serve_command: " + _config_message(exc), ExitCode.CONFIG
        ) from exc

    from twisted.internet import reactor as global_reactor  # noqa: PLC0415

    from rr.logging import start_logging  # noqa: PLC0415
    from rr.service import makeService  # noqa: PLC0415

    reactor = cast("IServeReactor", global_reactor)
    try:
        start_logging(config.logs)
    except OSError as exc:
        raise _CommandError(f"cannot open log output: {exc}") from exc
    if args.debug:
        _log.info("debug flag (-d) accepted; txrr starts no profiling server")
    try:
        service = makeService(config, global_reactor)
    except ConfigError as exc:
        raise _CommandError(_config_message(exc), ExitCode.CONFIG) from exc
    except BootError as exc:
        raise _CommandError(str(exc), ExitCode.UNAVAILABLE) from exc
    runner = ServeRunner(
        reactor,
        service,
        grace_period=config.endure.grace_period,
        watchdog_sec=config.endure.watchdog_sec,
        silent=args.silent,
        colour=_colour(sys.stderr),
    )

    def begin() -> None:
        install_signal_handlers(cast("IReactorFromThreads", global_reactor), runner.on_signal)
        runner.start()

    reactor.callWhenRunning(begin)
    reactor.run()  # default handlers: Twisted keeps reaping children (SIGCHLD)
    # run() restored the default handlers, which would kill us with the signal's number; a
    # signal that arrives while we exit is a second stop signal: forced, exit code 1.
    for number in STOP_SIGNALS:
        signal.signal(number, lambda *_: os._exit(ExitCode.FAILURE))
    return ExitCode.FAILURE if runner.exit_code is None else runner.exit_code


def _stop(args: CLIArgs, path: str) -> int:  # noqa: ARG001
    pid_file = Path(".pid")
    try:
        text = pid_file.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError as exc:
        raise _CommandError(
            f"no .pid file in {Path.cwd()}: start the server with `rr serve -p`"
        ) from exc
    try:
        pid = int(text.strip())
    except ValueError as exc:
        raise _CommandError(f"invalid process id in {pid_file.absolute()}: {text!r}") from exc
    if not args.silent:
        _stderr_log(f"stopping process with PID: {pid}")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError as exc:
        raise _CommandError(f"process {pid} is not running") from exc
    if args.force:
        _sleep(1.0)
        with contextlib.suppress(ProcessLookupError):  # gone within the second: fine
            os.kill(pid, signal.SIGTERM)
    sd_notify("STOPPING=1")
    return ExitCode.OK


def _plugins(args: CLIArgs, listen: str, method: str) -> list[str]:
    """The plugins named on the command line, or all of them as the server lists them."""
    if args.plugins:
        return list(args.plugins)
    try:
        reply = rpc_call(listen, method, True)  # noqa: FBT003
    except RPCUnavailableError:
        raise
    except Exception as exc:
        raise _CommandError(f"failed to get list of plugins: {exc}") from exc
    return [str(name) for name in reply] if isinstance(reply, list) else []


def _reset(args: CLIArgs, path: str) -> int:
    listen = _client_listen(args, path)
    plugins = _plugins(args, listen, "resetter.List")
    if not plugins:
        return ExitCode.OK
    lock = Lock()

    def reset_one(name: str) -> bool:
        if not args.silent:
            _stderr_log(f"resetting plugin: [{name}]", lock)
        try:
            rpc_call(listen, "resetter.Reset", name)
        except Exception as exc:  # noqa: BLE001
            with lock:
                _print_error(f"plugin {name}: {exc}")
            return False
        if not args.silent:
            _stderr_log(f"plugin reset: [{name}]", lock)
        return True

    with ThreadPoolExecutor(max_workers=len(plugins)) as executor:
        results = list(executor.map(reset_one, plugins))
    return ExitCode.OK if all(results) else ExitCode.FAILURE


def _yellow(text: str, colour: bool) -> str:
    return f"\x1b[33m{text}\x1b[0m" if colour else text


def _workers_report(listen: str, plugins: Sequence[str], colour: bool) -> str:
    now_ns = time.time_ns()
    out: list[str] = []
    for name in plugins:
        try:
            reply = rpc_call(listen, "informer.Workers", name)
        except RPCUnavailableError:
            raise
        except Exception as exc:  # noqa: BLE001
            out += [f"Workers of [{_yellow(name, colour)}]:",
                    error_table(["PID", "STATUS", "EXECS", "MEMORY", "CPU%", "CREATED"], str(exc))]
            continue
        workers = reply.get("workers") if isinstance(reply, dict) else None
        if not isinstance(workers, list) or not workers:
            continue
        out.append(f"Workers of [{_yellow(name, colour)}]:")
        out.append(workers_table(workers, now_ns=now_ns, service=name == "service", colour=colour))
    for name in plugins:
        try:
            states = rpc_call(listen, "informer.Jobs", name)
        except RPCUnavailableError:
            raise
        except Exception as exc:  # noqa: BLE001
            out += [f"Jobs of [{_yellow(name, colour)}]:",
                    error_table(["STATUS", "PIPELINE", "DRIVER", "QUEUE", "ACTIVE", "DELAYED",
                                 "RESERVED"], str(exc))]
            continue
        if isinstance(states, list) and states:
            out += [f"Jobs of [{_yellow(name, colour)}]:", jobs_table(states)]
    return "\n".join(out)


def _workers(args: CLIArgs, path: str) -> int:
    listen = _client_listen(args, path)
    plugins = _plugins(args, listen, "informer.List")
    colour = _colour(sys.stdout)
    if not args.interactive:
        report = _workers_report(listen, plugins, colour)
        if report:
            print(report)  # noqa: T201
        return ExitCode.OK

    def interrupt(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    sys.stdout.write("\x1b[2J")  # clear once, then redraw from the top-left every second
    try:
        while True:
            _sleep(1.0)
            sys.stdout.write("\x1b[H" + _workers_report(listen, plugins, colour) + "\x1b[J\n")
            sys.stdout.flush()
    except KeyboardInterrupt:
        return ExitCode.OK
    finally:
        signal.signal(signal.SIGTERM, previous)


_JOBS_METHODS = {
    "pause": "jobs.Pause",
    "resume": "jobs.Resume",
    "destroy": "jobs.Destroy",
    "list": "jobs.List",
}


def _jobs(args: CLIArgs, path: str) -> int:
    listen = _client_listen(args, path)
    action = args.jobs_action or "list"
    params: dict[str, object] = {} if action == "list" else {"pipelines": list(args.pipelines)}
    try:
        reply = rpc_call(listen, _JOBS_METHODS[action], params)
    except RPCUnavailableError:
        raise
    except Exception as exc:
        raise _CommandError(str(exc)) from exc
    if action == "list":
        names = reply.get("pipelines") if isinstance(reply, dict) else reply
        print(pipelines_table([str(n) for n in names] if isinstance(names, list) else []))  # noqa: T201
    elif not args.silent:
        print(pipelines_table(args.pipelines))  # noqa: T201
    return ExitCode.OK


_COMMANDS: dict[str, Callable[[CLIArgs, str], int]] = {
    "serve": _serve,
    "stop": _stop,
    "reset": _reset,
    "workers": _workers,
    "jobs": _jobs,
}


def _write_pid() -> None:
    Path(".pid").write_text(str(os.getpid()), encoding="ascii")


def _failure(exc: Exception, debug: bool) -> tuple[str, int]:
    """Return the ``error:`` text and exit code for an exception that ended a command."""
    if isinstance(exc, _CommandError):
        return str(exc), exc.code
    if isinstance(exc, ConfigError):
        return _config_message(exc), ExitCode.CONFIG
    if isinstance(exc, OSError | RPCUnavailableError):
        return str(exc), ExitCode.FAILURE
    if debug:
        traceback.print_exc()
    return f"{type(exc).__name__}: {exc}", ExitCode.FAILURE


def _dispatch(args: CLIArgs, command: str) -> int:
    """Run the pre-step and ``command``; turn every error into ``error: …`` and a code."""
    try:
        path = prepare(args.config, workdir=args.workdir, dotenv=args.dotenv)
        if args.pid:
            _write_pid()
    except ValueError as exc:  # empty config path
        _print_error(str(exc))
        return ExitCode.USAGE
    except OSError as exc:  # -w, the config directory, dotenv or .pid
        _print_error(str(exc))
        return ExitCode.FAILURE
    try:
        return _COMMANDS[command](args, path)
    except Exception as exc:  # noqa: BLE001 - one line; a traceback only with -d
        message, code = _failure(exc, args.debug)
        _print_error(message)
        return code


def run(argv: Sequence[str]) -> int:
    """Run ``rr`` with ``argv`` (without the program name) and return the exit code."""
    try:
        args = parse_args(argv)
    except UsageProblem as exc:
        _print_error(str(exc))
        return ExitCode.USAGE
    except SystemExit as exc:  # -h/--help
        return exc.code if isinstance(exc.code, int) else ExitCode.OK
    if args.version:
        print(version_line())  # noqa: T201
    elif args.command is None:
        sys.stdout.write(args.help_text)
    else:
        return _dispatch(args, args.command)
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point: ``rr [flags] COMMAND [args]``."""
    return int(run(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
