# -*- test-case-name: tests.config.test_load -*-
"""Typed, frozen config sections with RoadRunner's defaults, in one place.

Durations are float seconds, sizes are bytes, lists are tuples. The loader
(``_loader.py``) converts raw YAML/JSON values into these and reports every problem.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

Codec = Literal["json", "proto"]


def cpu_count() -> int:
    """Return the default ``num_workers``: the number of logical CPUs."""
    return os.cpu_count() or 1


@dataclass(frozen=True, slots=True, kw_only=True)
class OnInitConfig:
    """``server.on_init``: a command run once before any worker starts."""

    command: tuple[str, ...]
    exec_timeout: float = 60.0
    exit_on_error: bool = False
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """``server``: how worker processes are started."""

    command: tuple[str, ...]
    user: str = ""
    group: str = ""
    env: dict[str, str] = field(default_factory=dict)
    relay: str = "pipes"
    on_init: OnInitConfig | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorConfig:
    """``<plugin>.pool.supervisor``; present only when the section exists."""

    watch_tick: float = 5.0
    ttl: float = 0.0
    idle_ttl: float = 0.0
    max_worker_memory: int = 0  # bytes; 0 = off
    exec_ttl: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DynamicAllocatorConfig:
    """``<plugin>.pool.dynamic_allocator``; present only when the section exists."""

    max_workers: int = 10
    spawn_rate: int = 5
    idle_timeout: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolConfig:
    """``<plugin>.pool``: the same keys for every worker pool."""

    command: tuple[str, ...] | None = None  # None: use server.command
    num_workers: int = field(default_factory=cpu_count)
    max_jobs: int = 0
    max_queue_size: int = 0
    allocate_timeout: float = 60.0
    reset_timeout: float = 60.0
    destroy_timeout: float = 60.0
    stream_timeout: float = 60.0
    debug: bool = False
    supervisor: SupervisorConfig | None = None
    dynamic_allocator: DynamicAllocatorConfig | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadsConfig:
    """``http.uploads``."""

    dir: str = ""  # empty: the OS temp dir
    forbid: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class HTTPLimitsConfig:
    """``http.limits``: txrr's own client timeouts and caps (RoadRunner hard-codes these)."""

    read_header_timeout: float = 60.0
    read_body_timeout: float = 300.0
    write_timeout: float = 300.0
    idle_timeout: float = 75.0
    max_header_size: int = 1 << 20
    max_header_count: int = 100
    max_uri_length: int = 8192


ClientAuthType = Literal[
    "no_client_certs",
    "request_client_cert",
    "require_any_client_cert",
    "verify_client_cert_if_given",
    "require_and_verify_client_cert",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ACMEConfig:
    """``http.ssl.acme``: parsed so typos are reported; obtaining certificates is not built yet."""

    email: str = ""
    domains: tuple[str, ...] = ()
    cache_dir: str = "rr_cache_dir"
    challenge_type: str = "http-01"
    alt_http_port: int = 80
    alt_tlsalpn_port: int = 443
    use_production_endpoint: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SSLConfig:
    """``http.ssl``: the HTTPS listener (files are checked when the listener is built)."""

    address: str = "127.0.0.1:443"
    redirect: bool = False
    cert: str = ""
    key: str = ""
    root_ca: str = ""
    client_auth_type: ClientAuthType = "no_client_certs"
    acme: ACMEConfig | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HTTPConfig:
    """``http``: the HTTP front end."""

    address: str = ""
    internal_error_code: int = 500
    access_logs: bool = False
    max_request_size: int = 1000 * 1024 * 1024  # bytes
    raw_body: bool = False
    codec: Codec = "json"
    middleware: tuple[str, ...] = ()
    trusted_subnets: tuple[str, ...] = ()
    trusted_headers: tuple[str, ...] = ()
    uploads: UploadsConfig = field(default_factory=UploadsConfig)
    limits: HTTPLimitsConfig = field(default_factory=HTTPLimitsConfig)
    ssl: SSLConfig | None = None  # None: no HTTPS listener
    pool: PoolConfig = field(default_factory=PoolConfig)


@dataclass(frozen=True, slots=True, kw_only=True)
class RPCConfig:
    """``rpc``: the goridge RPC control port."""

    listen: str = "tcp://127.0.0.1:6001"
    listen_set: bool = False  # True when rpc.listen was written (then workers get RR_RPC)
    disabled_methods: tuple[str, ...] = ()  # txrr: "informer.AddWorker", "resetter.*"...


@dataclass(frozen=True, slots=True, kw_only=True)
class FileLoggerConfig:
    """``logs.file_logger_options`` (root or channel): a rotating JSON log file."""

    log_output: str = ""  # empty: the system temp dir
    max_size: int = 100 * 1024 * 1024  # bytes before rotation (configured in MiB)
    max_age: int = 24  # days to keep rotated files
    max_backups: int = 10
    compress: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class LogChannelConfig:
    """``logs`` or ``logs.channels.<name>``."""

    mode: str = "development"
    level: str = "debug"
    encoding: str = ""  # empty: the mode's default
    output: tuple[str, ...] = ("stderr",)
    err_output: tuple[str, ...] = ("stderr",)
    line_ending: str = "\n"
    skip_line_ending: bool = False
    file_logger_options: FileLoggerConfig | None = None  # set: log only to that file


@dataclass(frozen=True, slots=True, kw_only=True)
class LogsConfig:
    """``logs``."""

    root: LogChannelConfig = field(default_factory=LogChannelConfig)
    channels: dict[str, LogChannelConfig] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class EndureConfig:
    """``endure``: container options."""

    grace_period: float = 30.0
    log_level: str = "error"
    watchdog_sec: int = 0
    print_graph: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusConfig:
    """``status``: health and readiness endpoints."""

    address: str
    unavailable_status_code: int = 503
    check_timeout: int = 60


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectorConfig:
    """``metrics.collect.<name>`` (and the ``collector`` of a ``metrics.Declare`` RPC)."""

    type: Literal["counter", "gauge", "histogram", "summary"]
    help: str = ""
    namespace: str = ""
    subsystem: str = ""
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()  # histogram; empty: Prometheus' defaults
    objectives: tuple[tuple[float, float], ...] = ()  # summary: (quantile, allowed error)


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsConfig:
    """``metrics``: the Prometheus endpoint and the application collectors declared in config."""

    address: str = "127.0.0.1:2112"
    collect: dict[str, CollectorConfig] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RRConfig:
    """The whole configuration, after includes, env expansion and ``-o`` overrides.

    :ivar raw: the merged raw tree (lower-cased keys) for plugins not typed here yet.
    :ivar path: the config file's absolute path ("" when built in code).
    """

    version: str = "3"
    path: str = ""
    server: ServerConfig | None = None
    http: HTTPConfig | None = None
    rpc: RPCConfig | None = None
    logs: LogsConfig = field(default_factory=LogsConfig)
    endure: EndureConfig = field(default_factory=EndureConfig)
    status: StatusConfig | None = None
    metrics: MetricsConfig | None = None
    raw: dict[str, object] = field(default_factory=dict)
