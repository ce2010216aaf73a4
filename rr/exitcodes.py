# -*- test-case-name: tests.cli.test_main -*-
"""Process exit statuses of ``rr``, sysexits-style.

Twisted's own ``ExitStatus`` is private, so the few codes ``rr`` uses live here. Scripts
and supervisors can tell a bad command line (64) from a bad config (78) from a server
that could not start its workers (69).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of the ``rr`` command (values from BSD ``sysexits.h``)."""

    #: Success: a command finished, help or ``--version`` was printed, a graceful stop.
    OK = 0
    #: Any other failure: RPC errors, a failed stop, a forced exit.
    FAILURE = 1
    #: EX_USAGE: the command line is wrong.
    USAGE = 64
    #: EX_UNAVAILABLE: the server could not boot (e.g. workers failed their handshake).
    UNAVAILABLE = 69
    #: EX_CONFIG: the configuration is invalid.
    CONFIG = 78
