# -*- test-case-name: tests.rpc.test_listener -*-
"""Opening ``rpc.listen``: the address checks and warnings an operator needs.

The RPC port has no authentication: whoever reaches it can reset workers. So a
non-loopback address is allowed but logged as a warning at startup (faults.md case 33),
and the port is opened without SO_REUSEPORT so that a second server on the same port
fails with "address already in use" instead of silently sharing it (rpc-and-cli.md §1.3).
A stale unix socket file is removed before binding, as RoadRunner does.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from typing import TYPE_CHECKING

from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

from rr.config._endpoints import to_endpoint
from rr.errors import RRError
from rr.rpc.server import RPCFactory

if TYPE_CHECKING:
    from twisted.internet.interfaces import IListeningPort

    from rr.config._schema import RPCConfig
    from rr.rpc.registry import RPCRegistry

__all__ = ["is_loopback", "open_rpc"]

_log = Logger(namespace="rr.rpc")


def is_loopback(listen: str) -> bool:
    """True for ``unix://`` and TCP addresses only this host can reach."""
    scheme, _, rest = listen.partition("://")
    if scheme != "tcp":
        return True
    host = rest.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # empty host (all interfaces) or a host name


def _remove_stale_socket(listen: str) -> None:
    scheme, _, path = listen.partition("://")
    if scheme != "unix":
        return
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):  # noqa: PTH116
            os.unlink(path)  # noqa: PTH108
    except FileNotFoundError:
        pass


async def open_rpc(reactor: object, config: RPCConfig, registry: RPCRegistry) -> IListeningPort:
    """Listen on ``config.listen`` and serve ``registry``; logs where and any exposure."""
    description = to_endpoint(config.listen, path="rpc.listen")
    if description.startswith("unix:"):
        description += ":lockfile=0"
    _remove_stale_socket(config.listen)
    try:
        port: IListeningPort = await serverFromString(reactor, description).listen(
            RPCFactory(registry, disabled=config.disabled_methods)
        )
    except CannotListenError as exc:
        # not a BootError: as for any port that cannot bind, rr serve exits 1 (rpc-and-cli.md 1.2)
        raise RRError(f"rpc.listen {config.listen}: {exc.socketError}") from exc
    if not is_loopback(config.listen):
        _log.warn(
            "RPC is listening on {listen}, which is reachable from other hosts: the RPC port has "
            "no authentication and anyone who reaches it can reset or remove workers; bind it "
            "to 127.0.0.1 or a unix socket",
            listen=config.listen,
            rr_channel="rpc",
        )
    _log.info("RPC server is listening on {listen}", listen=config.listen, rr_channel="rpc")
    return port
