"""The twistd glue: rr.tap.Options, rr.tap.makeService and the tiny plugin module."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from twisted.application.service import IServiceMaker, Service
from twisted.internet.testing import MemoryReactor
from twisted.python import usage

from rr import tap
from rr.logging import RRLogObserver

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with a valid minimal config; cwd is restored afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DOTENV_PATH", raising=False)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / ".rr.yaml").write_text('version: "3"\n')
    return tmp_path / "app"


def parse(argv: list[str]) -> tap.Options:
    options = tap.Options()
    options.parseOptions(argv)
    return options


def test_options_parse_every_flag(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """-c, -o (repeatable, long and short), -w, --dotenv and --json-logs are understood."""
    monkeypatch.delenv("RR_TAP_T", raising=False)
    (app / ".env").write_text("RR_TAP_T=1\n")
    options = parse(["-c", ".rr.yaml", "-w", str(app), "-o", "a.b=1", "--override", "c=2",
                     "--override=d=3", "--dotenv", ".env", "--json-logs"])
    assert options["config"] == ".rr.yaml"
    assert options["workdir"] == str(app)
    assert options["override"] == ["a.b=1", "c=2", "d=3"]
    assert options["dotenv"] == ".env"
    assert options["json-logs"]
    assert os.environ["RR_TAP_T"] == "1"


def test_options_defaults(app: Path) -> None:
    """Default config is .rr.yaml; no overrides; plain logs."""
    os.chdir(app)
    options = parse([])
    assert options["config"] == ".rr.yaml"
    assert options["override"] == []
    assert options["workdir"] is None
    assert not options["json-logs"]


def test_post_options_runs_the_pre_step_and_loads(app: Path) -> None:
    """postOptions chdirs to the config's directory and loads the config (with -o)."""
    options = parse(["-c", "app/.rr.yaml", "-o", "rpc.listen=tcp://127.0.0.1:7001"])
    assert Path.cwd() == app
    assert options.config is not None
    assert options.config.rpc is not None
    assert options.config.rpc.listen == "tcp://127.0.0.1:7001"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-c", ""], "no configuration file provided"),
        (["-c", "app/.rr.yaml", "-o", "novalue"], "invalid flag `novalue`"),
        (["-c", "app/.rr.yaml", "--dotenv", "missing.env"], "missing.env"),
        (["-w", "/nonexistent/dir"], "/nonexistent/dir"),
        (["-c", "app/empty.yaml"], "version"),
    ],
)
def test_post_options_problems_are_usage_errors(app: Path, argv: list[str], message: str) -> None:
    """Every problem, including an invalid config, is a UsageError naming it."""
    (app / "empty.yaml").write_text("")
    with pytest.raises(usage.UsageError, match=re.escape(message)):
        parse(argv)


def test_make_service_builds_the_rr_service(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """makeService hands the loaded config and the reactor to rr.service.makeService."""
    built: list[tuple[Any, Any]] = []
    service = Service()
    monkeypatch.setattr("rr.service.makeService",
                        lambda config, reactor: built.append((config, reactor)) or service)
    options = parse(["-c", "app/.rr.yaml"])
    reactor = MemoryReactor()
    assert tap.makeService(options, reactor) is service
    assert built == [(options.config, reactor)]


def test_make_service_without_parsed_options_loads_itself(
    app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Options never parsed: makeService runs the pre-step and turns errors into UsageError."""
    monkeypatch.setattr("rr.service.makeService", lambda config, reactor: Service())
    options = tap.Options()
    options["config"] = "app/nope/.rr.yaml"
    with pytest.raises(usage.UsageError):
        tap.makeService(options, MemoryReactor())
    options["config"] = "app/.rr.yaml"
    assert isinstance(tap.makeService(options, MemoryReactor()), Service)


def test_json_logs_adds_a_production_observer(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--json-logs adds our observer (production JSON) to the global publisher."""
    added: list[object] = []
    monkeypatch.setattr("twisted.logger.globalLogPublisher.addObserver", added.append)
    monkeypatch.setattr("rr.service.makeService", lambda config, reactor: Service())
    tap.makeService(parse(["-c", "app/.rr.yaml"]), MemoryReactor())
    assert added == []  # no logs section: twistd's own logging only
    tap.makeService(parse(["-c", ".rr.yaml", "--json-logs"]), MemoryReactor())
    assert len(added) == 1
    assert isinstance(added[0], RRLogObserver)


def test_logs_section_adds_our_observer(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A logs section in the config also adds our observer under twistd."""
    (app / ".rr.yaml").write_text('version: "3"\nlogs:\n  mode: production\n  output: stdout\n')
    added: list[object] = []
    monkeypatch.setattr("twisted.logger.globalLogPublisher.addObserver", added.append)
    monkeypatch.setattr("rr.service.makeService", lambda config, reactor: Service())
    tap.makeService(parse(["-c", "app/.rr.yaml"]), MemoryReactor())
    assert len(added) == 1


def test_prepare_is_shared_with_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """prepare returns the absolute config path; empty path ValueError; missing dotenv OSError."""
    monkeypatch.chdir(tmp_path)
    env: dict[str, str] = {}
    assert tap.prepare("x.yaml", environ=env) == str(tmp_path / "x.yaml")
    with pytest.raises(ValueError, match="no configuration file provided"):
        tap.prepare("", environ=env)
    with pytest.raises(OSError, match=r"nope\.env"):
        tap.prepare("x.yaml", dotenv="nope.env", environ=env)


def test_plugin_module_imports_without_rr() -> None:
    """Importing the twistd plugin pulls in neither rr nor the reactor; it names rr.tap."""
    code = (
        "import sys\n"
        "import twisted.plugins.rr_twistd as p\n"
        "from twisted.application.service import IServiceMaker\n"
        "assert not any(m == 'rr' or m.startswith('rr.') for m in sys.modules), 'rr imported'\n"
        "assert 'twisted.internet.reactor' not in sys.modules, 'reactor imported'\n"
        "assert IServiceMaker.providedBy(p.roadrunner)\n"
        "print(p.roadrunner.tapname, p.roadrunner.module)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd="/", check=False,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "rr rr.tap\n"


def test_no_init_in_twisted_plugins() -> None:
    """twisted/plugins must not be a package (an __init__.py hides the plugin)."""
    assert not (ROOT / "twisted" / "plugins" / "__init__.py").exists()
    assert not (ROOT / "twisted" / "__init__.py").exists()


def test_service_maker_resolves_options_lazily() -> None:
    """The plugin's options/makeService are rr.tap's."""
    plugin = importlib.import_module("twisted.plugins.rr_twistd").roadrunner
    assert IServiceMaker.providedBy(plugin)
    assert plugin.options is tap.Options
    assert plugin.makeService is tap.makeService
