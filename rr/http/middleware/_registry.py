# -*- test-case-name: tests.http.test_middleware -*-
"""Build the configured chain from ``http.middleware`` and the sections it reads.

The ``headers`` and ``static`` sections are left untyped by the config loader and read
here from the raw tree, so their owners keep their keys next to their code.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from twisted.logger import Logger

from rr.config._values import Section
from rr.errors import ConfigError
from rr.http.middleware._base import Pipeline
from rr.http.middleware.gzip import GzipMiddleware
from rr.http.middleware.headers import HeadersMiddleware
from rr.http.middleware.proxy_ip import ProxyIPMiddleware
from rr.http.middleware.sendfile import SendfileMiddleware
from rr.http.middleware.static import StaticMiddleware

if TYPE_CHECKING:
    from rr.config._schema import HTTPConfig
    from rr.http.middleware._base import Middleware

_log = Logger()

#: Names of other plugins' middleware: accepted, not implemented here.
_ELSEWHERE = frozenset(("http_metrics", "otel", "cache", "new_relic"))


def build_pipeline(
    http: HTTPConfig, raw: Mapping[str, object] | None = None, cwd: str | None = None
) -> Pipeline:
    """Build the chain for ``http.middleware`` (``raw``: the whole raw config tree).

    :raises ConfigError: a listed middleware's section is invalid (``static.dir`` missing).
    """
    cwd = cwd if cwd is not None else str(Path.cwd())
    node = raw.get("http") if raw is not None else None
    problems: list[tuple[str, str]] = []
    section = Section(node if isinstance(node, Mapping) else {}, "http", problems)
    names = [name.strip().lower() for name in http.middleware]
    static_section = section.section("static") if "static" in names else None
    static = StaticMiddleware.from_section(static_section) if static_section else None
    chain: list[Middleware] = []
    for name in names:
        headers = section.section("headers") if name == "headers" else None
        if name == "static" and static is not None:
            chain.append(static)
        elif headers is not None:
            chain.append(HeadersMiddleware.from_section(headers))
        elif name == "gzip":
            chain.append(GzipMiddleware())
        elif name == "sendfile":
            chain.append(SendfileMiddleware(cwd, [cwd, static.root] if static else [cwd]))
        elif name == "proxy_ip_parser" and http.trusted_subnets:
            chain.append(ProxyIPMiddleware(http.trusted_subnets, http.trusted_headers))
        else:
            what = "belongs to another plugin" if name in _ELSEWHERE else "is not configured"
            _log.warn("requested middleware {name} {what}, skipped",
                      name=name, what=what, rr_channel="http")
    if problems:
        raise ConfigError(problems)
    return Pipeline(chain)

