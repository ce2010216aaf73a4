# -*- test-case-name: tests.integration.test_reuseport -*-
"""Prototype: serve one config from N reactor processes that share the HTTP port.

One Python reactor is one core at most, and the benchmark shows rr's per-request Python
cost, not PHP, is what caps throughput on hello. This launcher binds ``http.address`` N
times with ``SO_REUSEPORT`` (the kernel spreads new connections across the sockets) and
starts N ordinary ``rr serve`` processes, each adopting one socket through the systemd
socket-activation protocol (``systemd:domain=INET:index=0``) and running its own worker
pool. It forwards SIGINT/SIGTERM to all of them and exits when they have all exited,
with the first non-zero exit code.

Usage: ``python -m rr.reuseport -n 2 -c .rr.yaml [-o key=value ...]``

Limits of the prototype: ``http.address`` must be a TCP host:port (not ``:0``); every
other listener of the config (rpc, metrics, ...) is opened by each process, so leave
them off; ``rr reset``/``rr workers`` see one process only.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

from rr.config import load
from rr.errors import ConfigError

if TYPE_CHECKING:
    from types import FrameType

# Runs in each child: make the inherited socket systemd's first descriptor (fd 3), claim
# it for this pid, then become an ordinary `rr serve`.
_CHILD = (
    "import os, runpy;"
    "os.dup2(int(os.environ.pop('RR_REUSEPORT_FD')), 3);"
    "os.environ['LISTEN_FDS'] = '1';"
    "os.environ['LISTEN_FDNAMES'] = 'http';"
    "os.environ['LISTEN_PID'] = str(os.getpid());"
    "runpy.run_module('rr.cli.main', run_name='__main__', alter_sys=True)"
)


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A listening TCP socket on ``host:port`` that other sockets may share (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host or "0.0.0.0", port))  # noqa: S104 - RR's ":8080" means every interface
    sock.listen(backlog)
    sock.setblocking(False)  # noqa: FBT003
    return sock


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rr.reuseport", description=__doc__)
    parser.add_argument("-n", "--reactors", type=int, default=2, help="reactor processes")
    parser.add_argument("-c", "--config", default=".rr.yaml")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    if args.reactors < 1:
        parser.error("--reactors must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Bind, spawn the reactors, forward signals, and wait for them all."""
    args = _args(argv)
    try:
        config = load(args.config, args.override)
    except ConfigError as exc:
        sys.stderr.write(f"rr.reuseport: {exc}\n")
        return 78
    if config.http is None or not config.http.address:
        sys.stderr.write("rr.reuseport: the config has no http.address\n")
        return 78
    address = config.http.address.removeprefix("tcp://")
    host, _, port_text = address.rpartition(":")
    host = host.strip("[]")
    if "://" in address or not port_text.isdigit() or int(port_text) == 0:
        sys.stderr.write(f"rr.reuseport: http.address must be host:port, got {address!r}\n")
        return 78
    port = int(port_text)
    family = "INET6" if ":" in host else "INET"
    overrides = [a for o in args.override for a in ("-o", o)]
    children: list[subprocess.Popen[bytes]] = []
    for _ in range(args.reactors):
        sock = bind(host, port)
        env = dict(os.environ, RR_REUSEPORT_FD=str(sock.fileno()))
        argv = [
            sys.executable, "-c", _CHILD, "serve", "-c", args.config, *overrides,
            "-o", f"http.address=systemd:domain={family}:index=0",
        ]  # fmt: skip
        children.append(subprocess.Popen(argv, env=env, pass_fds=(sock.fileno(),)))  # noqa: S603
        sock.close()

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    codes = [child.wait() for child in children]
    return next((code for code in codes if code), 0)


if __name__ == "__main__":
    sys.exit(main())
