"""Serve a PHP worker from inside an existing Twisted program."""

from __future__ import annotations

import sys
from pathlib import Path

from twisted.internet import defer, task
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.internet.endpoints import TCP4ServerEndpoint

from rr.config import load_dict
from rr.service import makeService

HERE = Path(__file__).resolve().parent
WORKER = HERE.parents[1] / "tests" / "php" / "hello.php"


def main(reactor_: object) -> object:
    # The host application has its own web site on :8081 ...
    root = Resource()
    TCP4ServerEndpoint(reactor_, 8081, interface="127.0.0.1").listen(Site(root))
    # ... and serves PHP through txrr on :8080.
    config = load_dict({
        "version": "3",
        "server": {"command": f"php {WORKER}"},
        "http": {"address": "127.0.0.1:8080", "pool": {"num_workers": 2}},
    })
    rr = makeService(config, reactor_)
    rr.startService()
    d = rr.whenReady()
    d.addCallback(lambda _: print("txrr ready on http://127.0.0.1:8080", file=sys.stderr))
    reactor_.addSystemEventTrigger("before", "shutdown", rr.stopService)
    return defer.Deferred()  # run until interrupted


if __name__ == "__main__":
    task.react(main)
