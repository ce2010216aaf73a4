# -*- test-case-name: tests.config.test_build -*-
"""The merged raw tree becomes typed, frozen sections, with RoadRunner's defaults and limits.

Each builder reads one section through ``Section``, which records every bad value instead of
stopping at the first, so one run of the loader reports all problems. Zero-means-default rules,
caps and unit conversions (MiB to bytes) live here; the defaults themselves live in _schema.py.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from twisted.logger import Logger

from rr.config._endpoints import to_endpoint
from rr.config._metrics import build_metrics
from rr.config._schema import (
    Codec,
    DynamicAllocatorConfig,
    EndureConfig,
    FileLoggerConfig,
    HTTPConfig,
    HTTPLimitsConfig,
    LogChannelConfig,
    LogsConfig,
    OnInitConfig,
    PoolConfig,
    RPCConfig,
    RRConfig,
    ServerConfig,
    StatusConfig,
    SupervisorConfig,
    UploadsConfig,
    cpu_count,
)
from rr.config._ssl import build_ssl
from rr.config._values import Section, go_type_name
from rr.errors import ConfigError

_log = Logger()

MAX_NUM_WORKERS = 500
MAX_DYNAMIC_WORKERS = 100
MAX_SPAWN_RATE = 100
RPC_DEFAULT_LISTEN = RPCConfig().listen
_LOG_LEVELS = frozenset({"debug", "info", "warn", "error", "dpanic", "panic", "fatal"})
_ENDURE_LEVELS = frozenset({"debug", "info", "warn", "error"})
_DSN_HINT = "invalid socket DSN (tcp://:6001, unix://file.sock)"
# http keys typed elsewhere (TLS, static, headers, ...): read from RRConfig.raw by their owners.
_HTTP_UNTYPED = ("fcgi", "http2", "http3", "headers", "static")


def _check_endpoint(section: Section, key: str, address: str) -> None:
    try:
        to_endpoint(address, path=section.key_path(key))
    except ConfigError as error:
        section.problems.extend(error.problems)


def _status_code(section: Section, key: str, default: int) -> int:
    code = section.integer(key, unsigned=False) or default
    if not 100 <= code <= 599:  # noqa: PLR2004
        section.problem(key, f"must be an HTTP status between 100 and 599, got {code}")
        return default
    return code


def _env(section: Section, key: str) -> dict[str, str]:
    """Read a worker env map, upper-casing its keys (they were lower-cased on load)."""
    return {name.upper(): value for name, value in section.string_map(key).items()}


# --- server ------------------------------------------------------------------------------------


def _on_init(section: Section | None) -> OnInitConfig | None:
    if section is None:
        return None
    command = section.command("command")
    if not command:
        section.problem("command", "on_init command should not be empty")
    config = OnInitConfig(
        command=command,
        exec_timeout=section.duration("exec_timeout", 60.0),
        exit_on_error=section.boolean("exit_on_error"),
        env=_env(section, "env"),
        user=section.string("user"),
    )
    section.log_unknown()
    return config if command else None


def build_server(section: Section | None) -> ServerConfig | None:
    """Build ``server``; None when absent. A missing command is a problem."""
    if section is None:
        return None
    command = section.command("command")
    if not command:
        section.problem("command", "command should not be empty")
    relay = section.string("relay") or "pipes"
    if relay.lower() == "pipes":
        relay = "pipes"
    elif relay.startswith(("tcp://", "unix://")):
        _check_endpoint(section, "relay", relay)
    else:
        section.problem(
            "relay", f"relay must be pipes, tcp://host:port or unix://path, got {relay!r}"
        )
    if section.has("relay_timeout"):
        _log.debug("server.relay_timeout is deprecated and has no effect")
    section.ignore("relay_timeout")
    config = ServerConfig(
        command=command,
        user=section.string("user"),
        group=section.string("group"),
        env=_env(section, "env"),
        relay=relay,
        on_init=_on_init(section.section("on_init")),
    )
    section.log_unknown()
    return config if command else None


# --- pool --------------------------------------------------------------------------------------


def _supervisor(section: Section | None) -> SupervisorConfig | None:
    if section is None:
        return None
    idle_ttl = section.duration("idle_ttl")
    if 0 < idle_ttl < 1:
        _log.warn(
            "{path}: {value}s is below one second; using 1s",
            path=section.key_path("idle_ttl"),
            value=idle_ttl,
        )
        idle_ttl = 1.0
    config = SupervisorConfig(
        watch_tick=section.duration("watch_tick", 5.0),
        ttl=section.duration("ttl"),
        idle_ttl=idle_ttl,
        max_worker_memory=section.mebibytes("max_worker_memory"),
        exec_ttl=section.duration("exec_ttl"),
    )
    section.log_unknown()
    return config


def _capped(section: Section, key: str, default: int, cap: int) -> int:
    value = section.integer(key) or default
    if value > cap:
        _log.warn(
            "{path}: {value} is above the limit; using {cap}",
            path=section.key_path(key),
            value=value,
            cap=cap,
        )
        return cap
    return value


def _dynamic_allocator(section: Section | None) -> DynamicAllocatorConfig | None:
    if section is None:
        return None
    idle_timeout = section.duration("idle_timeout", 60.0)
    config = DynamicAllocatorConfig(
        max_workers=_capped(section, "max_workers", 10, MAX_DYNAMIC_WORKERS),
        spawn_rate=_capped(section, "spawn_rate", 5, MAX_SPAWN_RATE),
        idle_timeout=idle_timeout if idle_timeout >= 1 else 60.0,
    )
    section.log_unknown()
    return config


def build_pool(section: Section | None) -> PoolConfig:
    """Build ``<plugin>.pool``; all defaults when absent."""
    if section is None:
        return PoolConfig()
    num_workers = section.integer("num_workers")
    if num_workers > MAX_NUM_WORKERS:
        section.problem("num_workers", "number of workers can't be more than 500")
        num_workers = MAX_NUM_WORKERS
    config = PoolConfig(
        command=section.command("command") or None,
        num_workers=num_workers or cpu_count(),
        max_jobs=section.integer("max_jobs"),
        max_queue_size=section.integer("max_queue_size"),
        allocate_timeout=section.duration("allocate_timeout", 60.0),
        reset_timeout=section.duration("reset_timeout", 60.0),
        destroy_timeout=section.duration("destroy_timeout", 60.0),
        stream_timeout=section.duration("stream_timeout", 60.0),
        debug=section.boolean("debug"),
        supervisor=_supervisor(section.section("supervisor")),
        dynamic_allocator=_dynamic_allocator(section.section("dynamic_allocator")),
    )
    section.log_unknown()
    return config


def parse_pool(raw: object, path: str) -> PoolConfig:
    """Build a pool section of any plugin (``jobs.pool``, ``grpc.pool``...) from ``RRConfig.raw``.

    :param raw: the raw value of the pool key (None or a map).
    :param path: its dotted path, e.g. ``"jobs.pool"``.
    :raises ConfigError: listing every problem in the section.
    """
    problems: list[tuple[str, str]] = []
    parent, _, key = path.rpartition(".")
    config = build_pool(Section({key: raw}, parent, problems).section(key))
    if problems:
        raise ConfigError(problems)
    return config


# --- http --------------------------------------------------------------------------------------


def _codec(section: Section) -> Codec:
    codec = section.string("codec").lower() or "json"
    if codec == "proto":
        return "proto"
    if codec != "json":
        section.problem("codec", f'codec must be "json" or "proto", got {codec!r}')
    return "json"


def _subnets(section: Section) -> tuple[str, ...]:
    subnets: list[str] = []
    for index, text in enumerate(section.strings("trusted_subnets")):
        cidr = text.strip()
        if not cidr:
            continue
        try:
            if "/" not in cidr:
                raise ValueError(cidr)  # noqa: TRY301
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            section.problem(f"trusted_subnets.{index}", f"invalid CIDR {cidr!r}")
            continue
        subnets.append(cidr)
    return tuple(subnets)


def _uploads(section: Section | None) -> UploadsConfig:
    if section is None:
        return UploadsConfig()
    config = UploadsConfig(
        dir=section.string("dir"),
        forbid=section.strings("forbid"),
        allow=section.strings("allow"),
    )
    section.log_unknown()
    return config


def _limits(section: Section | None) -> HTTPLimitsConfig:
    defaults = HTTPLimitsConfig()
    if section is None:
        return defaults
    config = HTTPLimitsConfig(
        read_header_timeout=section.duration("read_header_timeout", defaults.read_header_timeout),
        read_body_timeout=section.duration("read_body_timeout", defaults.read_body_timeout),
        write_timeout=section.duration("write_timeout", defaults.write_timeout),
        idle_timeout=section.duration("idle_timeout", defaults.idle_timeout),
        max_header_size=section.integer("max_header_size") or defaults.max_header_size,
        max_header_count=section.integer("max_header_count") or defaults.max_header_count,
        max_uri_length=section.integer("max_uri_length") or defaults.max_uri_length,
    )
    section.log_unknown()
    return config


def build_http(section: Section | None) -> HTTPConfig | None:
    """Build ``http``; None when absent."""
    if section is None:
        return None
    address = section.string("address")
    if address:
        _check_endpoint(section, "address", address)
    section.ignore(*_HTTP_UNTYPED)
    config = HTTPConfig(
        address=address,
        internal_error_code=_status_code(section, "internal_error_code", 500),
        access_logs=section.boolean("access_logs"),
        max_request_size=section.mebibytes("max_request_size", 1000),
        raw_body=section.boolean("raw_body"),
        codec=_codec(section),
        middleware=section.strings("middleware"),
        trusted_subnets=_subnets(section),
        trusted_headers=section.strings("trusted_headers"),
        uploads=_uploads(section.section("uploads")),
        limits=_limits(section.section("limits")),
        ssl=build_ssl(section.section("ssl")),
        pool=build_pool(section.section("pool")),
    )
    section.log_unknown()
    return config


# --- rpc, status, endure -----------------------------------------------------------------------


def build_rpc(section: Section | None) -> RPCConfig | None:
    """Build ``rpc``; None when absent or null, the default listener for ``rpc: {}``."""
    if section is None:
        return None
    listen = section.string("listen")
    if listen:
        scheme, separator, rest = listen.partition("://")
        if not separator or "://" in rest:
            section.problem("listen", _DSN_HINT)
        elif scheme not in ("tcp", "unix"):
            section.problem("listen", f"invalid Protocol {scheme!r}: use tcp:// or unix://")
        else:
            _check_endpoint(section, "listen", listen)
            if scheme == "tcp" and rest.startswith(":"):
                _log.warn(
                    "rpc.listen {listen} has an empty host: PHP RPC clients cannot reach it; "
                    "use tcp://127.0.0.1:PORT",
                    listen=listen,
                )
    disabled = section.strings("disabled_methods")
    section.log_unknown()
    return RPCConfig(
        listen=listen or RPC_DEFAULT_LISTEN, listen_set=bool(listen), disabled_methods=disabled
    )


def build_status(section: Section | None) -> StatusConfig | None:
    """Build ``status``; None when absent. ``address`` is required."""
    if section is None:
        return None
    address = section.string("address")
    if address:
        _check_endpoint(section, "address", address)
    else:
        section.problem("address", "address is required")
    config = StatusConfig(
        address=address,
        unavailable_status_code=_status_code(section, "unavailable_status_code", 503),
        check_timeout=section.integer("check_timeout") or 60,
    )
    section.log_unknown()
    return config


def build_endure(section: Section | None) -> EndureConfig:
    """Build ``endure``; defaults when absent. An invalid log level is a warning, not an error."""
    if section is None:
        return EndureConfig()
    level = section.string("log_level").lower() or "error"
    level = "warn" if level == "warning" else level
    if level not in _ENDURE_LEVELS:
        _log.warn("endure.log_level {value!r} is not valid; using error", value=level)
        level = "error"
    config = EndureConfig(
        grace_period=section.duration("grace_period", 30.0),
        log_level=level,
        watchdog_sec=section.integer("watchdog_sec"),
        print_graph=section.boolean("print_graph"),
    )
    section.log_unknown()
    return config


# --- logs --------------------------------------------------------------------------------------


def _file_logger(section: Section | None) -> FileLoggerConfig | None:
    if section is None:
        return None
    config = FileLoggerConfig(
        log_output=section.string("log_output"),
        max_size=section.mebibytes("max_size", 100),
        max_age=section.integer("max_age") or 24,
        max_backups=section.integer("max_backups") or 10,
        compress=section.boolean("compress"),
    )
    section.log_unknown()
    return config


def _log_channel(section: Section | None) -> LogChannelConfig:
    if section is None:
        return LogChannelConfig()
    mode = section.string("mode").lower() or "development"
    level = section.string("level").lower() or "debug"
    level = "warn" if level == "warning" else level
    if level not in _LOG_LEVELS:
        # Upstream ignores an invalid level silently and keeps the mode's default.
        _log.debug(
            "{path}: unknown level {value!r} ignored", path=section.key_path("level"), value=level
        )
        level = "info" if mode in ("production", "raw") else "debug"
    encoding = section.string("encoding").lower()
    if encoding not in ("", "console", "json"):
        section.problem("encoding", f'encoding must be "console" or "json", got {encoding!r}')
        encoding = ""
    config = LogChannelConfig(
        mode=mode,
        level=level,
        encoding=encoding,
        output=section.strings("output") or ("stderr",),
        err_output=section.strings("err_output") or ("stderr",),
        line_ending=section.string("line_ending") or "\n",
        skip_line_ending=section.boolean("skip_line_ending"),
        file_logger_options=_file_logger(section.section("file_logger_options")),
    )
    section.log_unknown()
    return config


def build_logs(section: Section | None) -> LogsConfig:
    """Build ``logs``; development/debug to stderr when absent; channels get the same defaults."""
    if section is None:
        return LogsConfig()
    section.ignore("channels")
    root = _log_channel(section)
    channels: dict[str, LogChannelConfig] = {}
    channel_map = section.section("channels")
    if channel_map is not None:
        for name in channel_map.node:
            value = channel_map.get(name)
            if value is not None and not isinstance(value, dict):
                channel_map.problem(name, f"expected a map, got {go_type_name(value)}")
                continue
            channels[name] = _log_channel(channel_map.section(name))
    return LogsConfig(root=root, channels=channels)


# --- the whole config --------------------------------------------------------------------------


def build_config(
    tree: dict[str, Any], *, version: str, path: str, problems: list[tuple[str, str]]
) -> RRConfig:
    """Type every known section of the merged tree; problems are appended to ``problems``."""
    root = Section(tree, "", problems)
    return RRConfig(
        version=version,
        path=path,
        server=build_server(root.section("server")),
        http=build_http(root.section("http")),
        rpc=build_rpc(root.section("rpc")),
        logs=build_logs(root.section("logs")),
        endure=build_endure(root.section("endure")),
        status=build_status(root.section("status")),
        metrics=build_metrics(root.section("metrics")),
        raw=tree,
    )
