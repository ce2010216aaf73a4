"""The loading pipeline: files, envfile, expansion, version, includes and -o overrides."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from twisted.logger import LogLevel

from rr.config import load, load_dict
from rr.config._loader import parse_override
from rr.config._schema import RRConfig
from rr.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from .conftest import CapturedLog

MISSING_VERSION = "rr configuration file should contain a version e.g: version: 3"


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The config directory, also the working directory (as `rr` chdirs there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- file formats ------------------------------------------------------------------------------


def test_yaml_file(workdir: Path) -> None:
    """A .yaml file is parsed and its path recorded as absolute."""
    path = write(workdir / ".rr.yaml", "version: '3'\nrpc:\n  listen: tcp://127.0.0.1:7000\n")
    config = load(".rr.yaml", environ={})
    assert config.path == path
    assert config.version == "3"
    assert config.rpc is not None
    assert config.rpc.listen == "tcp://127.0.0.1:7000"


def test_yml_extension(workdir: Path) -> None:
    """.yml is YAML too."""
    write(workdir / "rr.yml", "version: '3'\nlogs: {mode: off}\n")
    assert load("rr.yml", environ={}).logs.root.mode == "off"


def test_json_file(workdir: Path) -> None:
    """A .json file is parsed as JSON with the same rules."""
    tree = {"version": "3", "Server": {"Command": "php w.php"}, "http": {"address": ":8080"}}
    write(workdir / "rr.json", json.dumps(tree))
    config = load(str(workdir / "rr.json"), environ={})
    assert config.server is not None
    assert config.server.command == ("php", "w.php")
    assert config.http is not None
    assert config.http.address == ":8080"


def test_json_version_number_is_rejected(workdir: Path) -> None:
    """A JSON number version is not a string."""
    write(workdir / "rr.json", '{"version": 3}')
    with pytest.raises(ConfigError, match="actual type is: int"):
        load("rr.json", environ={})


@pytest.mark.parametrize("name", ["rr.toml", "rr", "rr.yaml.bak"])
def test_unsupported_extension(workdir: Path, name: str) -> None:
    """Other extensions are errors."""
    write(workdir / name, "version: '3'\n")
    with pytest.raises(ConfigError, match="unsupported config type"):
        load(name, environ={})


@pytest.mark.parametrize(
    ("name", "text"), [("e.yaml", ""), ("c.yaml", "# only\n"), ("e.json", " ")]
)
def test_empty_file_is_valid_with_version_override(workdir: Path, name: str, text: str) -> None:
    """An empty file plus -o version=3 is a valid, all-defaults config (Octane)."""
    write(workdir / name, text)
    config = load(name, ["version=3"], environ={})
    assert config == RRConfig(path=str(workdir / name), raw={"version": "3"})


def test_missing_file(workdir: Path) -> None:
    """A missing file is a ConfigError naming it."""
    with pytest.raises(ConfigError, match="cannot read config file"):
        load("nope.yaml", environ={})


def test_syntax_error(workdir: Path) -> None:
    """A YAML syntax error is a ConfigError."""
    write(workdir / "bad.yaml", "a: [1,\n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load("bad.yaml", environ={})


def test_top_level_must_be_a_map(workdir: Path) -> None:
    """A list at the top level is an error."""
    write(workdir / "list.yaml", "- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a map"):
        load("list.yaml", environ={})


# --- keys --------------------------------------------------------------------------------------


def test_keys_are_case_insensitive_at_every_depth() -> None:
    """Every key is lower-cased; HTTP.Address equals http.address."""
    config = load_dict(
        {"Version": "3", "HTTP": {"Address": ":8080", "POOL": {"Num_Workers": 2}}}, environ={}
    )
    assert config.http is not None
    assert config.http.address == ":8080"
    assert config.http.pool.num_workers == 2
    assert config.raw == {"version": "3", "http": {"address": ":8080", "pool": {"num_workers": 2}}}


def test_dotted_keys_are_paths(workdir: Path) -> None:
    """`a.b: 1` is `a: {b: 1}`, and it merges with a sibling map."""
    write(
        workdir / ".rr.yaml",
        "version: '3'\nhttp.pool.num_workers: 3\nhttp:\n  address: :80\n"
        "http.pool.max_jobs: 9\nRPC.Listen: tcp://127.0.0.1:1\n",
    )
    config = load(".rr.yaml", environ={})
    assert config.http is not None
    assert config.http.address == ":80"
    assert (config.http.pool.num_workers, config.http.pool.max_jobs) == (3, 9)
    assert config.rpc is not None
    assert config.rpc.listen == "tcp://127.0.0.1:1"


def test_maps_inside_lists_are_lower_cased() -> None:
    """Keys of maps inside lists are lower-cased too (no dot splitting there)."""
    config = load_dict({"version": "3", "x": [{"A.B": 1}]}, environ={})
    assert config.raw["x"] == [{"a.b": 1}]


# --- env expansion and envfile -----------------------------------------------------------------


def test_string_values_are_expanded(workdir: Path) -> None:
    """${VAR}, $VAR and ${VAR:-default} are expanded in every string, keys excepted."""
    write(
        workdir / ".rr.yaml",
        "version: '3'\n"
        "rpc: {listen: 'tcp://127.0.0.1:${RR_RPC_PORT:-6001}'}\n"
        "server:\n  command: php $SCRIPT\n  env: {KEY_$X: '${VALUE}'}\n"
        "http: {middleware: ['$MW', static]}\n",
    )
    environ = {"SCRIPT": "w.php", "VALUE": "v", "MW": "gzip"}
    config = load(".rr.yaml", environ=environ)
    assert config.rpc is not None
    assert config.rpc.listen == "tcp://127.0.0.1:6001"
    assert config.server is not None
    assert config.server.command == ("php", "w.php")
    assert config.server.env == {"KEY_$X": "v"}
    assert config.http is not None
    assert config.http.middleware == ("gzip", "static")


def test_envfile_is_loaded_before_expansion(
    workdir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """envfile is relative to the config file's directory and does not overwrite variables."""
    confdir = tmp_path_factory.mktemp("conf")
    write(confdir / ".env", "RR_PORT=7001\nAPP_ENV=from-file\nexport SCRIPT=w.php\n")
    write(
        confdir / ".rr.yaml",
        "version: '3'\nenvfile: .env\nrpc: {listen: 'tcp://127.0.0.1:${RR_PORT}'}\n"
        "server: {command: 'php ${SCRIPT}', env: {app_env: $APP_ENV}}\n",
    )
    environ = {"APP_ENV": "from-env"}
    config = load(str(confdir / ".rr.yaml"), environ=environ)
    assert config.rpc is not None
    assert config.rpc.listen == "tcp://127.0.0.1:7001"
    assert config.server is not None
    assert config.server.command == ("php", "w.php")
    assert config.server.env == {"APP_ENV": "from-env"}
    assert environ == {"APP_ENV": "from-env", "RR_PORT": "7001", "SCRIPT": "w.php"}


def test_envfile_absolute_path(workdir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """An absolute envfile path is used as written."""
    other = tmp_path_factory.mktemp("env")
    write(other / "x.env", "A=1\n")
    write(workdir / ".rr.yaml", f"version: '3'\nenvfile: {other / 'x.env'}\n")
    environ: dict[str, str] = {}
    load(".rr.yaml", environ=environ)
    assert environ == {"A": "1"}


def test_missing_envfile_is_an_error(workdir: Path) -> None:
    """A missing envfile is reported under the envfile key."""
    write(workdir / ".rr.yaml", "version: '3'\nenvfile: nope.env\n")
    with pytest.raises(ConfigError) as caught:
        load(".rr.yaml", environ={})
    assert [path for path, _ in caught.value.problems] == ["envfile"]


def test_load_dict_envfile_is_relative_to_path(tmp_path: Path) -> None:
    """load_dict resolves envfile against the directory of ``path``."""
    write(tmp_path / "e.env", "B=2\n")
    environ: dict[str, str] = {}
    load_dict({"version": "3", "envfile": "e.env"}, environ=environ, path=str(tmp_path / "x.yaml"))
    assert environ == {"B": "2"}


# --- version -----------------------------------------------------------------------------------


def test_missing_version() -> None:
    """A config without version is rejected with upstream's sentence."""
    with pytest.raises(ConfigError) as caught:
        load_dict({"rpc": {}}, environ={})
    assert caught.value.problems == [("version", MISSING_VERSION)]


def test_null_version_counts_as_missing() -> None:
    """`version:` with no value is missing."""
    with pytest.raises(ConfigError, match="should contain a version"):
        load_dict({"version": None}, environ={})


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(3, "int"), (3.0, "float64"), (True, "bool"), ([3], "[]interface {}")],
)
def test_non_string_version(value: object, type_name: str) -> None:
    """An unquoted version is rejected with its Go type name."""
    with pytest.raises(ConfigError) as caught:
        load_dict({"version": value}, environ={})
    assert caught.value.problems == [
        ("version", f'version should be a string: `version: "3"`, actual type is: {type_name}')
    ]


def test_yaml_unquoted_version(workdir: Path) -> None:
    """`version: 3` in YAML is an int and rejected."""
    write(workdir / ".rr.yaml", "version: 3\n")
    with pytest.raises(ConfigError, match="actual type is: int"):
        load(".rr.yaml", environ={})


def test_version_override_replaces_a_bad_version() -> None:
    """-o version=3 is the effective version."""
    assert load_dict({"version": 3}, ["version=3"], environ={}).version == "3"


def test_client_mode_assumes_version_3() -> None:
    """Client commands assume "3" when version is missing, but still reject a non-string."""
    config = load_dict({"rpc": {"listen": "tcp://127.0.0.1:6001"}}, environ={}, client=True)
    assert config.version == "3"
    with pytest.raises(ConfigError, match="actual type is: int"):
        load_dict({"version": 3, "rpc": {}}, environ={}, client=True)


def test_client_mode_file(workdir: Path) -> None:
    """load(client=True) accepts a file without version."""
    write(workdir / ".rr.yaml", "rpc:\n  listen: tcp://127.0.0.1:6001\n")
    assert load(".rr.yaml", environ={}, client=True).version == "3"


def test_client_mode_ignores_problems_outside_rpc() -> None:
    """Client commands only dial rpc, so a bad http section does not stop them."""
    tree = {"version": "3", "rpc": {}, "http": {"pool": {"allocate_timeout": "60"}}, "server": {}}
    config = load_dict(tree, environ={}, client=True)
    assert config.rpc is not None
    with pytest.raises(ConfigError):
        load_dict(tree, environ={})
    with pytest.raises(ConfigError) as caught:
        load_dict({"rpc": {"listen": "6001"}}, environ={}, client=True)
    assert caught.value.problems[0][0] == "rpc.listen"


@pytest.mark.parametrize("version", ["2.7", "4", "3.0"])
def test_other_versions_warn(version: str, captured_log: CapturedLog) -> None:
    """Any version but "3" is read as 3 with a warning."""
    assert load_dict({"version": version}, environ={}).version == version
    warnings = captured_log.messages(LogLevel.warn)
    assert len(warnings) == 1
    assert version in warnings[0]


def test_version_3_does_not_warn(captured_log: CapturedLog) -> None:
    """The current version logs no warning."""
    load_dict({"version": "3"}, environ={})
    assert captured_log.messages(LogLevel.warn) == []


# --- include -----------------------------------------------------------------------------------


def test_includes_merge_leaves_in_order(workdir: Path) -> None:
    """Included files override leaf values in list order; other keys keep the root's values."""
    write(
        workdir / ".rr.yaml",
        "version: '3'\ninclude: [a.yaml, b.yaml]\n"
        "http:\n  address: :80\n  middleware: [gzip, static]\n  pool: {num_workers: 1, max_jobs: 5}\n",
    )
    write(workdir / "a.yaml", "version: '3'\nhttp:\n  pool: {num_workers: 2}\n  middleware: [a]\n")
    write(workdir / "b.yaml", "version: '3'\nhttp:\n  pool: {num_workers: 3}\nrpc: {}\n")
    config = load(".rr.yaml", environ={})
    assert config.http is not None
    assert config.http.address == ":80"
    assert config.http.pool.num_workers == 3
    assert config.http.pool.max_jobs == 5
    assert config.http.middleware == ("a",)  # lists are replaced, not concatenated
    assert config.rpc is not None


def test_include_string_is_split_on_whitespace(workdir: Path) -> None:
    """`include: "a.yaml b.yaml"` names two files."""
    write(workdir / ".rr.yaml", "version: '3'\ninclude: a.yaml  b.yaml\n")
    write(workdir / "a.yaml", "version: '3'\nstatus: {address: ':1'}\n")
    write(workdir / "b.yaml", "version: '3'\nStatus: {ADDRESS: ':2'}\n")
    config = load(".rr.yaml", environ={})
    assert config.status is not None
    assert config.status.address == ":2"


def test_include_paths_are_relative_to_the_working_directory(
    workdir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Includes resolve against the working directory, not the config file's."""
    confdir = tmp_path_factory.mktemp("elsewhere")
    write(confdir / ".rr.yaml", "version: '3'\ninclude: [inc.yaml]\n")
    write(workdir / "inc.yaml", "version: '3'\nrpc: {listen: 'tcp://127.0.0.1:9'}\n")
    config = load(str(confdir / ".rr.yaml"), environ={})
    assert config.rpc is not None
    assert config.rpc.listen == "tcp://127.0.0.1:9"


def test_included_files_are_expanded_and_not_recursive(workdir: Path) -> None:
    """Included strings are env-expanded; their own include key is ignored."""
    write(workdir / ".rr.yaml", "version: '3'\ninclude: [a.yaml]\n")
    write(workdir / "a.yaml", "version: '3'\ninclude: [nope.yaml]\nserver: {command: php $W}\n")
    config = load(".rr.yaml", environ={"W": "w.php"})
    assert config.server is not None
    assert config.server.command == ("php", "w.php")
    assert config.raw["include"] == ["a.yaml"]


def test_include_version_must_match(workdir: Path) -> None:
    """Each included file must carry the root's version string."""
    write(workdir / ".rr.yaml", "version: '3'\ninclude: [a.yaml, b.yaml, c.yaml]\n")
    write(workdir / "a.yaml", "version: '2.7'\n")
    write(workdir / "b.yaml", "rpc: {}\n")
    write(workdir / "c.yaml", "version: '3'\nrpc: {}\n")
    with pytest.raises(ConfigError) as caught:
        load(".rr.yaml", environ={})
    assert [path for path, _ in caught.value.problems] == ["include", "include"]
    assert all(
        "version in included file must be the same as in root" in message
        for _, message in caught.value.problems
    )


def test_missing_include_is_reported(workdir: Path) -> None:
    """An unreadable include is a problem under `include`."""
    write(workdir / ".rr.yaml", "version: '3'\ninclude: [gone.yaml]\n")
    with pytest.raises(ConfigError) as caught:
        load(".rr.yaml", environ={})
    assert caught.value.problems[0][0] == "include"
    assert "gone.yaml" in caught.value.problems[0][1]


def test_include_from_override(workdir: Path) -> None:
    """-o include="a b" is split on whitespace and processed."""
    write(workdir / ".rr.yaml", "version: '3'\n")
    write(workdir / "a.yaml", "version: '3'\nrpc: {}\n")
    write(workdir / "b.yaml", "version: '3'\nstatus: {address: ':3'}\n")
    config = load(".rr.yaml", ['include="a.yaml b.yaml"'], environ={})
    assert config.rpc is not None
    assert config.status is not None


# --- -o overrides ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "parsed"),
    [
        ("a.b=c", ("a.b", "c")),
        ("a=b=c", ("a", "b=c")),
        ("  a = b ", ("a", "b")),
        ('"a=b"', ("a", 'b"')),
        ("'a=b'", ("a", "b'")),
        ("`a=b", ("a", "b")),
        ('a="b c"', ("a", "b c")),
        ("a='x'", ("a", "x")),
        ('a="he said \\"hi\\""', ("a", 'he said "hi"')),  # one quote off each end
        ('a="x', ("a", "x")),
        ("a='it''s'", ("a", "it''s")),
        ("a=`v`", ("a", "v")),
        ("a=\t\nv\n", ("a", "v")),
        ('a=""', ("a", "")),
    ],
)
def test_override_parsing(flag: str, parsed: tuple[str, str]) -> None:
    """-o flags are split and unquoted as upstream does (rpc-and-cli.md §4.4)."""
    assert parse_override(flag) == parsed


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("novalue", "invalid flag `novalue`"),
        ("=x", "key should not be empty"),
        ("  =x", "key should not be empty"),
        ("a=", "value should not be empty"),
        ("http.pool.debug=  ", "value should not be empty"),
    ],
)
def test_override_errors(flag: str, message: str) -> None:
    """Malformed -o flags are reported with upstream's messages, all at once."""
    with pytest.raises(ConfigError) as caught:
        load_dict({"version": "3"}, [flag, "also-bad"], environ={})
    assert caught.value.problems == [
        (f"-o {flag}", message),
        ("-o also-bad", "invalid flag `also-bad`"),
    ]


def test_overrides_win_over_includes_and_file(workdir: Path) -> None:
    """-o is applied after includes, so it wins over both."""
    write(
        workdir / ".rr.yaml",
        "version: '3'\ninclude: [a.yaml]\nhttp: {address: ':1', pool: {num_workers: 1}}\n",
    )
    write(workdir / "a.yaml", "version: '3'\nhttp: {address: ':2', pool: {num_workers: 2}}\n")
    config = load(".rr.yaml", ["http.pool.num_workers=7", "HTTP.Address=:3"], environ={})
    assert config.http is not None
    assert config.http.address == ":3"
    assert config.http.pool.num_workers == 7


def test_override_creates_sections() -> None:
    """-o rpc.listen=... creates the rpc section; later flags win."""
    config = load_dict(
        {"version": "3"},
        ["rpc.listen=tcp://127.0.0.1:1", "rpc.listen=tcp://127.0.0.1:2"],
        environ={},
    )
    assert config.rpc is not None
    assert config.rpc.listen == "tcp://127.0.0.1:2"
    assert config.rpc.listen_set


def test_override_replaces_a_scalar_parent() -> None:
    """Setting a.b when a is a scalar turns a into a map."""
    config = load_dict({"version": "3", "kv": "x"}, ["kv.memory.driver=memory"], environ={})
    assert config.raw["kv"] == {"memory": {"driver": "memory"}}


def test_override_values_are_expanded() -> None:
    """-o values go through env expansion."""
    config = load_dict({"version": "3"}, ["server.command=php ${SCRIPT:-worker.php}"], environ={})
    assert config.server is not None
    assert config.server.command == ("php", "worker.php")


def test_octane_style_overrides() -> None:
    """Octane's -o flags: a comma list command and list middleware, strings for every type."""
    config = load_dict(
        {},
        [
            "version=3",
            "server.command=/usr/bin/php,/app/vendor/bin/roadrunner-worker",
            "http.address=127.0.0.1:8000",
            "http.middleware=static,gzip",
            "http.pool.num_workers=4",
            "http.pool.max_jobs=500",
            "http.pool.supervisor.exec_ttl=30s",
            "http.pool.debug=true",
            "http.static.dir=public",
            "logs.mode=production",
            "logs.level=debug",
            "logs.output=stdout",
            "logs.encoding=json",
            "rpc.listen=tcp://127.0.0.1:6001",
        ],
        environ={},
    )
    assert config.server is not None
    assert config.server.command == ("/usr/bin/php", "/app/vendor/bin/roadrunner-worker")
    assert config.http is not None
    assert config.http.middleware == ("static", "gzip")
    assert config.http.pool.num_workers == 4
    assert config.http.pool.max_jobs == 500
    assert config.http.pool.debug is True
    assert config.http.pool.supervisor is not None
    assert config.http.pool.supervisor.exec_ttl == 30.0
    assert config.logs.root.output == ("stdout",)
    assert config.logs.root.encoding == "json"
    assert config.raw["http"] == {
        "address": "127.0.0.1:8000",
        "middleware": "static,gzip",
        "pool": {
            "num_workers": "4",
            "max_jobs": "500",
            "supervisor": {"exec_ttl": "30s"},
            "debug": "true",
        },
        "static": {"dir": "public"},
    }


def test_digits_only_duration_override_is_rejected() -> None:
    """-o http.pool.allocate_timeout=60 is an error: the string has no unit."""
    with pytest.raises(ConfigError) as caught:
        load_dict({"version": "3"}, ["http.pool.allocate_timeout=60"], environ={})
    assert caught.value.problems == [
        ("http.pool.allocate_timeout", "invalid duration '60': missing unit")
    ]


def test_load_dict_does_not_mutate_its_input() -> None:
    """The caller's tree is left as it was."""
    tree = {"Version": "3", "http": {"pool": {"num_workers": 1}}}
    load_dict(tree, ["http.pool.num_workers=2"], environ={})
    assert tree == {"Version": "3", "http": {"pool": {"num_workers": 1}}}


def test_environ_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit environ, os.environ is used."""
    monkeypatch.setenv("TXRR_TEST_PORT", "6123")
    config = load_dict({"version": "3", "rpc": {"listen": "tcp://127.0.0.1:$TXRR_TEST_PORT"}})
    assert config.rpc is not None
    assert config.rpc.listen == "tcp://127.0.0.1:6123"


def test_bad_envfile_and_include_types() -> None:
    """envfile must be a file name and include a list or string; both are reported together."""
    with pytest.raises(ConfigError) as caught:
        load_dict({"version": "3", "envfile": 5, "include": {"a": 1}}, environ={})
    assert caught.value.problems == [
        ("envfile", "expected a file name, got int"),
        ("include", "expected a list of files, got map[string]interface {}"),
    ]
    with pytest.raises(ConfigError) as caught:
        load_dict({"version": "3", "include": [1]}, environ={})
    assert caught.value.problems == [("include", "expected file names, got int")]


def test_non_utf8_file(workdir: Path) -> None:
    """A file that is not UTF-8 is a ConfigError, not a crash."""
    (workdir / "bin.yaml").write_bytes(b"version: '\xff'\n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load("bin.yaml", environ={})
