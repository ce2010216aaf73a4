"""Typed sections: defaults, weak typing, limits and all-problems-at-once validation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from twisted.logger import LogLevel

from rr.config import load_dict
from rr.config._build import parse_pool
from rr.config._schema import (
    DynamicAllocatorConfig,
    EndureConfig,
    FileLoggerConfig,
    HTTPConfig,
    HTTPLimitsConfig,
    LogChannelConfig,
    LogsConfig,
    PoolConfig,
    RPCConfig,
    RRConfig,
    SupervisorConfig,
    UploadsConfig,
    cpu_count,
)
from rr.config._yaml import load_yaml
from rr.errors import ConfigError

if TYPE_CHECKING:
    from .conftest import CapturedLog

MIB = 1024 * 1024


def build(tree: dict[str, Any], *overrides: str) -> RRConfig:
    return load_dict({"version": "3", **tree}, overrides, environ={})


def problems_of(tree: dict[str, Any], *overrides: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        build(tree, *overrides)
    return caught.value.problems


def from_yaml(text: str) -> RRConfig:
    return load_dict(load_yaml(text), environ={})


# --- absent sections and defaults --------------------------------------------------------------


def test_minimal_config_defaults() -> None:
    """Absent sections: no server, http, rpc or status; default logs and endure."""
    config = build({})
    assert config.server is None
    assert config.http is None
    assert config.rpc is None
    assert config.status is None
    assert config.logs == LogsConfig()
    assert config.logs.root == LogChannelConfig(
        mode="development", level="debug", encoding="", output=("stderr",), err_output=("stderr",)
    )
    assert config.endure == EndureConfig(grace_period=30.0, log_level="error", watchdog_sec=0)
    assert config.raw == {"version": "3"}


def test_null_sections_are_absent() -> None:
    """`http:` or `server:` with no value count as absent."""
    config = from_yaml("version: '3'\nhttp:\nserver:\nrpc:\nstatus:\nlogs:\nendure:\n")
    assert (config.http, config.server, config.rpc, config.status) == (None, None, None, None)


def test_http_defaults() -> None:
    """An http section gets the pool, uploads and limits defaults."""
    config = build({"http": {"address": "0.0.0.0:8080"}})
    assert config.http == HTTPConfig(address="0.0.0.0:8080")
    assert config.http.internal_error_code == 500
    assert config.http.max_request_size == 1000 * MIB
    assert config.http.codec == "json"
    assert config.http.uploads == UploadsConfig()
    assert config.http.limits == HTTPLimitsConfig()
    assert config.http.pool == PoolConfig()


def test_pool_defaults() -> None:
    """A pool: CPU count workers, 60s timeouts, no supervisor or allocator."""
    pool = build({"http": {"pool": {}}}).http.pool  # type: ignore[union-attr]
    assert pool.num_workers == cpu_count()
    assert pool.command is None
    assert (pool.max_jobs, pool.max_queue_size) == (0, 0)
    assert pool.allocate_timeout == pool.reset_timeout == 60.0
    assert pool.destroy_timeout == pool.stream_timeout == 60.0
    assert pool.debug is False
    assert pool.supervisor is None
    assert pool.dynamic_allocator is None


def test_zero_means_default() -> None:
    """Zero num_workers, timeouts, request size and error code mean the defaults."""
    http = build(
        {
            "http": {
                "max_request_size": 0,
                "internal_error_code": 0,
                "pool": {"num_workers": 0, "allocate_timeout": "0", "destroy_timeout": 0},
            }
        }
    ).http
    assert http is not None
    assert http.max_request_size == 1000 * MIB
    assert http.internal_error_code == 500
    assert http.pool.num_workers == cpu_count()
    assert http.pool.allocate_timeout == 60.0
    assert http.pool.destroy_timeout == 60.0


# --- the full example --------------------------------------------------------------------------

FULL = """
version: '3'
rpc:
  listen: tcp://127.0.0.1:6001
server:
  on_init:
    command: "php artisan config:cache"
    exec_timeout: 20s
    exit_on_error: true
    user: www-data
    env:
      APP_ENV: production
  command: "php -d memory_limit=256M worker.php"
  user: www-data
  group: www-data
  env:
    APP_ENV: production
    DEBUG: false
    WORKERS: 4
    RATIO: 1.5
  relay: pipes
  relay_timeout: 60s
logs:
  mode: production
  level: info
  encoding: json
  line_ending: "\\r\\n"
  output: [ stdout ]
  err_output: [ stderr ]
  channels:
    server:
      mode: raw
      level: info
    http:
      level: warn
      file_logger_options:
        log_output: /var/log/rr/http.log
        max_size: 100
        max_age: 7
        max_backups: 5
        compress: true
    metrics:
http:
  address: 0.0.0.0:8080
  max_request_size: 64
  internal_error_code: 502
  access_logs: true
  raw_body: yes_is_not_a_bool_here_but_this_key_is_unused
  codec: proto
  middleware: [headers, gzip]
  trusted_subnets: ["10.0.0.0/8", "::1/128"]
  uploads:
    dir: /tmp/up
    forbid: [".php", ".exe"]
  pool:
    debug: false
    command: "php http-worker.php"
    num_workers: 8
    max_jobs: 1000
    max_queue_size: 512
    allocate_timeout: 60s
    reset_timeout: 1m
    stream_timeout: 30s
    destroy_timeout: 1h30m
    dynamic_allocator:
      max_workers: 16
      spawn_rate: 4
      idle_timeout: 30s
    supervisor:
      watch_tick: 5s
      ttl: 1h
      idle_ttl: 10m
      max_worker_memory: 256
      exec_ttl: 30s
status:
  address: 127.0.0.1:2114
  unavailable_status_code: 503
  check_timeout: 60
reload:
  interval: 1s
endure:
  grace_period: 45s
  log_level: warning
  watchdog_sec: 10
  print_graph: true
"""


def test_full_example() -> None:
    """Every core key of config-core.md §13.2 is read into the typed sections."""
    config = from_yaml(
        FULL.replace("  raw_body: yes_is_not_a_bool_here_but_this_key_is_unused\n", "")
    )
    assert config.rpc == RPCConfig(listen="tcp://127.0.0.1:6001", listen_set=True)
    server = config.server
    assert server is not None
    assert server.command == ("php", "-d", "memory_limit=256M", "worker.php")
    assert (server.user, server.group, server.relay) == ("www-data", "www-data", "pipes")
    assert server.env == {"APP_ENV": "production", "DEBUG": "0", "WORKERS": "4", "RATIO": "1.5"}
    assert server.on_init is not None
    assert server.on_init.command == ("php", "artisan", "config:cache")
    assert server.on_init.exec_timeout == 20.0
    assert server.on_init.exit_on_error is True
    assert server.on_init.env == {"APP_ENV": "production"}
    assert server.on_init.user == "www-data"

    logs = config.logs
    assert logs.root == LogChannelConfig(
        mode="production",
        level="info",
        encoding="json",
        output=("stdout",),
        err_output=("stderr",),
        line_ending="\r\n",
    )
    assert logs.channels["server"] == LogChannelConfig(mode="raw", level="info")
    assert logs.channels["http"].level == "warn"
    assert logs.channels["http"].mode == "development"  # channels do not inherit the root
    assert logs.channels["http"].file_logger_options == FileLoggerConfig(
        log_output="/var/log/rr/http.log",
        max_size=100 * MIB,
        max_age=7,
        max_backups=5,
        compress=True,
    )
    assert logs.channels["metrics"] == LogChannelConfig()

    http = config.http
    assert http is not None
    assert http.address == "0.0.0.0:8080"
    assert http.max_request_size == 64 * MIB
    assert http.internal_error_code == 502
    assert http.access_logs is True
    assert http.codec == "proto"
    assert http.middleware == ("headers", "gzip")
    assert http.trusted_subnets == ("10.0.0.0/8", "::1/128")
    assert http.uploads == UploadsConfig(dir="/tmp/up", forbid=(".php", ".exe"))
    pool = http.pool
    assert pool.command == ("php", "http-worker.php")
    assert (pool.num_workers, pool.max_jobs, pool.max_queue_size) == (8, 1000, 512)
    assert (pool.allocate_timeout, pool.reset_timeout) == (60.0, 60.0)
    assert (pool.stream_timeout, pool.destroy_timeout) == (30.0, 5400.0)
    assert pool.dynamic_allocator == DynamicAllocatorConfig(
        max_workers=16, spawn_rate=4, idle_timeout=30.0
    )
    assert pool.supervisor == SupervisorConfig(
        watch_tick=5.0, ttl=3600.0, idle_ttl=600.0, max_worker_memory=256 * MIB, exec_ttl=30.0
    )
    assert config.status is not None
    assert (config.status.address, config.status.check_timeout) == ("127.0.0.1:2114", 60)
    assert config.endure == EndureConfig(
        grace_period=45.0, log_level="warn", watchdog_sec=10, print_graph=True
    )
    assert config.raw["reload"] == {"interval": "1s"}


# --- rpc ---------------------------------------------------------------------------------------


def test_empty_rpc_section_listens_on_the_default() -> None:
    """`rpc: {}` is present: the default listener, but listen_set stays False."""
    assert build({"rpc": {}}).rpc == RPCConfig(listen="tcp://127.0.0.1:6001", listen_set=False)


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ("127.0.0.1:6001", "invalid socket DSN (tcp://:6001, unix://file.sock)"),
        ("tcp://a://b", "invalid socket DSN (tcp://:6001, unix://file.sock)"),
        ("udp://127.0.0.1:6001", "invalid Protocol 'udp': use tcp:// or unix://"),
    ],
)
def test_bad_rpc_listen(listen: str, message: str) -> None:
    """rpc.listen must be a tcp:// or unix:// DSN."""
    assert problems_of({"rpc": {"listen": listen}}) == [("rpc.listen", message)]


def test_rpc_empty_host_warns(captured_log: CapturedLog) -> None:
    """tcp://:6001 is accepted but PHP cannot dial it, so a warning is logged."""
    config = build({"rpc": {"listen": "tcp://:6001"}})
    assert config.rpc is not None
    assert config.rpc.listen == "tcp://:6001"
    assert any("empty host" in message for message in captured_log.messages(LogLevel.warn))


def test_rpc_unix_listen() -> None:
    """unix:// listeners are accepted."""
    assert build({"rpc": {"listen": "unix:///run/rr.sock"}}).rpc == RPCConfig(
        listen="unix:///run/rr.sock", listen_set=True
    )


# --- server ------------------------------------------------------------------------------------


def test_server_without_command() -> None:
    """A server section without command is an error."""
    assert problems_of({"server": {"user": "x"}}) == [
        ("server.command", "command should not be empty")
    ]
    assert problems_of({"server": {"command": "  "}}) == [
        ("server.command", "command should not be empty")
    ]


def test_on_init_without_command() -> None:
    """on_init needs its own command."""
    assert problems_of({"server": {"command": "php w.php", "on_init": {"exec_timeout": "1s"}}}) == [
        ("server.on_init.command", "on_init command should not be empty")
    ]


def test_on_init_defaults() -> None:
    """on_init: 60s timeout, no exit on error."""
    server = build({"server": {"command": "php w.php", "on_init": {"command": "php i.php"}}}).server
    assert server is not None
    assert server.on_init is not None
    assert (server.on_init.exec_timeout, server.on_init.exit_on_error) == (60.0, False)


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("php worker.php", ("php", "worker.php")),
        (["php worker.php"], ("php", "worker.php")),
        (["php", "worker.php"], ("php", "worker.php")),
        (["php", "my worker.php"], ("php", "my worker.php")),
        ("php,worker.php", ("php", "worker.php")),
    ],
)
def test_server_command_forms(command: object, argv: tuple[str, ...]) -> None:
    """Commands split per config-core.md §7."""
    server = build({"server": {"command": command}}).server
    assert server is not None
    assert server.command == argv


def test_pool_command_override() -> None:
    """-o http.pool.command=a,b gives a two-element pool command."""
    http = build({"http": {}}, "http.pool.command=php,w.php").http
    assert http is not None
    assert http.pool.command == ("php", "w.php")


def test_server_env_stringification() -> None:
    """server.env keys are upper-cased; bools become 1/0, numbers plain, null empty."""
    config = from_yaml(
        "version: '3'\nserver:\n  command: php\n  env:\n"
        "    Foo: true\n    bar: off\n    n: 8080\n    f: 2.50\n    z:\n"
    )
    assert config.server is not None
    assert config.server.env == {"FOO": "1", "BAR": "off", "N": "8080", "F": "2.5", "Z": ""}


def test_server_env_rejects_nested_maps() -> None:
    """A map value in server.env is an error (dots in env names become nesting)."""
    problems = problems_of({"server": {"command": "php", "env": {"A.B": "x"}}})
    assert problems == [("server.env", "a: expected a string, got map[string]interface {}")]


def test_server_relay_forms() -> None:
    """relay accepts pipes, tcp:// and unix://; anything else is an error."""
    for relay in ("pipes", "PIPES", "tcp://127.0.0.1:7000", "unix://rr.sock"):
        server = build({"server": {"command": "php", "relay": relay}}).server
        assert server is not None
        assert server.relay == ("pipes" if relay == "PIPES" else relay)
    assert [p for p, _ in problems_of({"server": {"command": "php", "relay": "socket"}})] == [
        "server.relay"
    ]


def test_relay_timeout_is_accepted_and_ignored(captured_log: CapturedLog) -> None:
    """The deprecated relay_timeout is logged at debug, never an error."""
    build({"server": {"command": "php", "relay_timeout": "not a duration"}})
    assert any("relay_timeout" in m for m in captured_log.messages(LogLevel.debug))


# --- pool limits -------------------------------------------------------------------------------


def test_num_workers_limit() -> None:
    """More than 500 workers is an error; 500 is fine."""
    assert build({"http": {"pool": {"num_workers": 500}}}).http.pool.num_workers == 500  # type: ignore[union-attr]
    assert problems_of({"http": {"pool": {"num_workers": 501}}}) == [
        ("http.pool.num_workers", "number of workers can't be more than 500")
    ]


def test_dynamic_allocator_caps_and_defaults(captured_log: CapturedLog) -> None:
    """max_workers and spawn_rate are capped at 100; idle_timeout below 1s becomes 60s."""
    allocator = build(
        {
            "http": {
                "pool": {
                    "dynamic_allocator": {
                        "max_workers": 200,
                        "spawn_rate": 101,
                        "idle_timeout": "500ms",
                    }
                }
            }
        }
    ).http.pool.dynamic_allocator  # type: ignore[union-attr]
    assert allocator == DynamicAllocatorConfig(max_workers=100, spawn_rate=100, idle_timeout=60.0)
    assert len(captured_log.messages(LogLevel.warn)) == 2
    empty = build({"http": {"pool": {"dynamic_allocator": {}}}}).http.pool.dynamic_allocator  # type: ignore[union-attr]
    assert empty == DynamicAllocatorConfig(max_workers=10, spawn_rate=5, idle_timeout=60.0)


def test_supervisor_defaults_and_idle_ttl_rounding(captured_log: CapturedLog) -> None:
    """An empty supervisor ticks every 5s; a sub-second idle_ttl is rounded up to 1s."""
    assert build({"http": {"pool": {"supervisor": {}}}}).http.pool.supervisor == SupervisorConfig()  # type: ignore[union-attr]
    supervisor = build(
        {"http": {"pool": {"supervisor": {"idle_ttl": "300ms"}}}}
    ).http.pool.supervisor  # type: ignore[union-attr]
    assert supervisor is not None
    assert supervisor.idle_ttl == 1.0
    assert any("idle_ttl" in m for m in captured_log.messages(LogLevel.warn))


def test_sizes_are_mebibytes_without_suffix() -> None:
    """max_worker_memory is an integer MiB; `128MB` is an error."""
    problems = problems_of({"http": {"pool": {"supervisor": {"max_worker_memory": "128MB"}}}})
    assert problems == [("http.pool.supervisor.max_worker_memory", "invalid integer '128MB'")]


def test_weak_typing_from_strings() -> None:
    """Strings fill ints (with base prefixes), bools and durations."""
    http = build(
        {
            "http": {
                "access_logs": "t",
                "pool": {"num_workers": "0x10", "max_jobs": "010", "debug": "TRUE"},
            }
        }
    ).http
    assert http is not None
    assert (http.pool.num_workers, http.pool.max_jobs, http.pool.debug) == (16, 8, True)
    assert http.access_logs is True


def test_parse_pool_for_other_plugins() -> None:
    """parse_pool builds jobs.pool & co from the raw tree, naming problems by path."""
    config = build({"jobs": {"pool": {"num_workers": "2", "max_jobs": 3}}})
    jobs = config.raw["jobs"]
    assert isinstance(jobs, dict)
    assert parse_pool(jobs["pool"], "jobs.pool").num_workers == 2
    assert parse_pool(None, "jobs.pool") == PoolConfig()
    with pytest.raises(ConfigError) as caught:
        parse_pool({"allocate_timeout": "5"}, "jobs.pool")
    assert caught.value.problems == [
        ("jobs.pool.allocate_timeout", "invalid duration '5': missing unit")
    ]
    with pytest.raises(ConfigError) as caught:
        parse_pool("x", "jobs.pool")
    assert caught.value.problems == [("jobs.pool", "expected a map, got string")]


# --- http --------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [99, 600, -1])
def test_internal_error_code_range(code: int) -> None:
    """internal_error_code must be 100-599."""
    assert [p for p, _ in problems_of({"http": {"internal_error_code": code}})] == [
        "http.internal_error_code"
    ]


def test_codec_values() -> None:
    """codec is json (default) or proto."""
    assert build({"http": {"codec": "JSON"}}).http.codec == "json"  # type: ignore[union-attr]
    assert problems_of({"http": {"codec": "msgpack"}}) == [
        ("http.codec", 'codec must be "json" or "proto", got \'msgpack\'')
    ]


def test_trusted_subnets_are_validated() -> None:
    """Invalid CIDRs are reported with their index."""
    problems = problems_of({"http": {"trusted_subnets": ["10.0.0.0/8", "nope", "10.0.0.1"]}})
    assert [p for p, _ in problems] == ["http.trusted_subnets.1", "http.trusted_subnets.2"]


def test_http_address_is_validated() -> None:
    """A bad http.address is reported at its path."""
    assert [p for p, _ in problems_of({"http": {"address": "8080"}})] == ["http.address"]


def test_http_limits() -> None:
    """http.limits (txrr's own) are read as durations and ints."""
    limits = build(
        {"http": {"limits": {"read_header_timeout": "5s", "max_header_count": 10}}}
    ).http.limits  # type: ignore[union-attr]
    assert limits.read_header_timeout == 5.0
    assert limits.max_header_count == 10
    assert limits.write_timeout == HTTPLimitsConfig().write_timeout


# --- logs, status, endure ----------------------------------------------------------------------


def test_logs_mode_off_from_yaml() -> None:
    """`mode: off` is the string off (YAML 1.2), not a boolean."""
    assert from_yaml("version: '3'\nlogs: {mode: OFF}").logs.root.mode == "off"


def test_log_level_rules() -> None:
    """Levels are case-insensitive; an invalid level falls back to the mode's default."""
    assert build({"logs": {"level": "ERROR"}}).logs.root.level == "error"
    assert build({"logs": {"level": "warning"}}).logs.root.level == "warn"
    assert build({"logs": {"level": "loud"}}).logs.root.level == "debug"
    assert build({"logs": {"mode": "production", "level": "loud"}}).logs.root.level == "info"
    assert build({"logs": {"mode": "production"}}).logs.root.level == "debug"


def test_log_outputs_and_line_endings() -> None:
    """A string output is a list; empty line_ending is \\n; skip_line_ending is a bool."""
    root = build(
        {
            "logs": {
                "output": "stdout",
                "err_output": "a.log,b.log",
                "line_ending": "",
                "skip_line_ending": "1",
            }
        }
    ).logs.root
    assert root.output == ("stdout",)
    assert root.err_output == ("a.log", "b.log")
    assert root.line_ending == "\n"
    assert root.skip_line_ending is True


def test_log_encoding_and_channel_type() -> None:
    """Unknown encodings and non-map channels are errors."""
    problems = problems_of(
        {"logs": {"encoding": "xml", "channels": {"http": "loud", "rpc": {"level": "info"}}}}
    )
    assert [p for p, _ in problems] == ["logs.encoding", "logs.channels.http"]


def test_file_logger_defaults() -> None:
    """file_logger_options defaults follow the upstream code (100 MiB, 24 days, 10 backups)."""
    root = build({"logs": {"file_logger_options": {}}}).logs.root
    assert root.file_logger_options == FileLoggerConfig()
    assert root.file_logger_options.max_size == 100 * MIB


def test_status_requires_address() -> None:
    """status.address is required when the section exists."""
    assert problems_of({"status": {"check_timeout": 5}}) == [
        ("status.address", "address is required")
    ]
    status = build({"status": {"address": "127.0.0.1:2114"}}).status
    assert status is not None
    assert (status.unavailable_status_code, status.check_timeout) == (503, 60)


def test_status_check_timeout_is_integer_seconds() -> None:
    """check_timeout is a plain integer of seconds, not a duration."""
    assert build({"status": {"address": ":1", "check_timeout": "5"}}).status.check_timeout == 5  # type: ignore[union-attr]
    assert [p for p, _ in problems_of({"status": {"address": ":1", "check_timeout": "5s"}})] == [
        "status.check_timeout"
    ]


def test_endure_rules(captured_log: CapturedLog) -> None:
    """grace_period 0 is 30s; an invalid log_level warns and becomes error."""
    endure = build(
        {"endure": {"grace_period": "0s", "log_level": "verbose", "watchdog_sec": "3"}}
    ).endure
    assert endure == EndureConfig(grace_period=30.0, log_level="error", watchdog_sec=3)
    assert any("verbose" in m for m in captured_log.messages(LogLevel.warn))


# --- unknown keys and all problems at once -----------------------------------------------------


def test_unknown_keys_are_ignored_and_logged_at_debug(captured_log: CapturedLog) -> None:
    """Unknown keys do not fail the load; they are logged at debug with their path."""
    config = build({"http": {"addres": ":1", "pool": {"workers": 3}}, "unknown_plugin": {"a": 1}})
    assert config.raw["unknown_plugin"] == {"a": 1}
    debug = captured_log.messages(LogLevel.debug)
    assert any("http.addres" in m for m in debug)
    assert any("http.pool.workers" in m for m in debug)


def test_every_problem_is_reported_together() -> None:
    """One ConfigError lists all problems from -o, every section and every key, in one pass."""
    problems = problems_of(
        {
            "server": {"env": {"a": [1]}},
            "rpc": {"listen": "6001"},
            "http": {
                "address": "nope",
                "internal_error_code": 700,
                "max_request_size": "10MB",
                "pool": {
                    "allocate_timeout": "60",
                    "num_workers": 900,
                    "debug": "yes",
                    "supervisor": {"ttl": "1d"},
                },
            },
            "status": {},
            "logs": {"channels": {"http": {"encoding": "yaml"}}},
        },
        "broken-flag",
    )
    assert problems == [
        ("-o broken-flag", "invalid flag `broken-flag`"),
        ("server.command", "command should not be empty"),
        ("server.env", "a: expected a string, got []interface {}"),
        ("http.address", "missing port in address 'nope' (expected host:port)"),
        ("http.internal_error_code", "must be an HTTP status between 100 and 599, got 700"),
        ("http.max_request_size", "invalid integer '10MB'"),
        ("http.pool.num_workers", "number of workers can't be more than 500"),
        ("http.pool.allocate_timeout", "invalid duration '60': missing unit"),
        ("http.pool.debug", "invalid boolean 'yes': use true or false"),
        ("http.pool.supervisor.ttl", "invalid duration '1d': unknown unit 'd'"),
        ("rpc.listen", "invalid socket DSN (tcp://:6001, unix://file.sock)"),
        ("logs.channels.http.encoding", 'encoding must be "console" or "json", got \'yaml\''),
        ("status.address", "address is required"),
    ]
