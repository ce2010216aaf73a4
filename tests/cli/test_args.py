"""Parsing the rr command line the way cobra/pflag parse RoadRunner's."""

from __future__ import annotations

import pytest

from rr.cli._args import UsageProblem, parse_args


def test_defaults() -> None:
    """Without flags: config .rr.yaml, no workdir, no overrides, every boolean off."""
    args = parse_args(["serve"])
    assert args.command == "serve"
    assert args.config == ".rr.yaml"
    assert args.workdir is None
    assert args.overrides == ()
    assert args.dotenv is None
    assert not any([args.silent, args.debug, args.pid, args.experimental, args.force])
    assert not args.version


def test_no_command() -> None:
    """`rr` alone parses to no command (the caller prints help)."""
    args = parse_args([])
    assert args.command is None
    assert "serve" in args.help_text


def test_octane_command_line_with_flags_before_serve() -> None:
    """Octane's `rr -c X -o … -o … serve` puts every global flag before the subcommand."""
    args = parse_args([
        "-c", "/app/.rr.yaml", "-o", "version=3", "-o", "http.address=127.0.0.1:8000",
        "-o", "server.command=/usr/bin/php,/app/vendor/bin/roadrunner-worker",
        "-o", "logs.mode=production", "serve",
    ])
    assert args.command == "serve"
    assert args.config == "/app/.rr.yaml"
    assert args.overrides == (
        "version=3", "http.address=127.0.0.1:8000",
        "server.command=/usr/bin/php,/app/vendor/bin/roadrunner-worker", "logs.mode=production",
    )


def test_flags_after_the_subcommand() -> None:
    """Global flags after the subcommand work too."""
    args = parse_args(["serve", "-c", "x.yaml", "-w", "/srv", "-s", "-p", "--dotenv", ".env"])
    assert (args.config, args.workdir, args.silent, args.pid, args.dotenv) == (
        "x.yaml", "/srv", True, True, ".env")


def test_flags_on_both_sides_merge() -> None:
    """-o accumulates before then after; a later scalar wins; booleans are OR-ed."""
    args = parse_args(["-c", "a.yaml", "-o", "a=1", "-s", "serve", "-c", "b.yaml", "-o", "b=2"])
    assert args.config == "b.yaml"
    assert args.overrides == ("a=1", "b=2")
    assert args.silent


@pytest.mark.parametrize(
    "argv",
    [
        ["-o", "k=v", "serve"],
        ["-o=k=v", "serve"],
        ["-ok=v", "serve"],
        ["--override", "k=v", "serve"],
        ["--override=k=v", "serve"],
        ["serve", "-o=k=v"],
        ["serve", "-ok=v"],
    ],
)
def test_override_value_forms(argv: list[str]) -> None:
    """-o v, -o=v, -ov, --override v and --override=v all give the value v."""
    assert parse_args(argv).overrides == ("k=v",)


def test_combined_short_booleans() -> None:
    """Boolean shorthands combine (-sp), also with a trailing valued one (-so=v, -sov)."""
    args = parse_args(["-sp", "serve"])
    assert args.silent
    assert args.pid
    assert parse_args(["-so=k=v", "serve"]).overrides == ("k=v",)
    assert parse_args(["-sok=v", "serve"]).overrides == ("k=v",)
    args = parse_args(["stop", "-sf"])
    assert args.silent
    assert args.force


def test_workdir_long_form_is_case_sensitive() -> None:
    """--WorkDir is the long form of -w; --workdir and abbreviations are unknown."""
    assert parse_args(["--WorkDir", "/srv", "serve"]).workdir == "/srv"
    assert parse_args(["serve", "--WorkDir=/srv"]).workdir == "/srv"
    with pytest.raises(UsageProblem):
        parse_args(["--workdir", "/srv", "serve"])
    with pytest.raises(UsageProblem):
        parse_args(["--conf", "x.yaml", "serve"])


def test_every_long_flag() -> None:
    """Each global flag has its long form."""
    args = parse_args([
        "--config", "c.yaml", "--silent", "--debug", "--pid", "--enable-experimental",
        "--force", "serve",
    ])
    assert args.config == "c.yaml"
    assert args.silent
    assert args.debug
    assert args.pid
    assert args.experimental
    assert args.force


def test_version_flag() -> None:
    """-v and --version are root flags."""
    assert parse_args(["-v"]).version
    assert parse_args(["--version"]).version


def test_empty_config_is_kept_for_the_pre_step() -> None:
    """-c '' parses; the pre-step rejects it."""
    assert parse_args(["-c", "", "serve"]).config == ""


@pytest.mark.parametrize(
    "argv",
    [["bogus"], ["serve", "-x"], ["-x", "serve"], ["serve", "extra"], ["-c"], ["serve", "-v"]],
)
def test_usage_problems(argv: list[str]) -> None:
    """Unknown commands, flags, stray arguments and missing values are usage problems."""
    with pytest.raises(UsageProblem):
        parse_args(argv)


def test_reset_and_workers_take_plugins() -> None:
    """reset and workers take plugin names; workers has -i."""
    assert parse_args(["reset", "http", "jobs"]).plugins == ("http", "jobs")
    args = parse_args(["workers", "-i", "http", "-s"])
    assert args.command == "workers"
    assert args.plugins == ("http",)
    assert args.interactive
    assert args.silent
    assert parse_args(["workers", "--interactive"]).interactive


@pytest.mark.parametrize(
    ("argv", "action", "pipelines"),
    [
        (["jobs", "--pause", "a,b"], "pause", ("a", "b")),
        (["jobs", "--resume", "a"], "resume", ("a",)),
        (["jobs", "a, b", "--destroy"], "destroy", ("a", "b")),
        (["jobs", "--list"], "list", ()),
    ],
)
def test_jobs_actions(argv: list[str], action: str, pipelines: tuple[str, ...]) -> None:
    """rr jobs takes one of --pause/--resume/--destroy with a comma list, or --list."""
    args = parse_args(argv)
    assert args.jobs_action == action
    assert args.pipelines == pipelines


@pytest.mark.parametrize("argv", [["jobs"], ["jobs", "--pause"], ["jobs", "--pause", "--resume", "a"]])
def test_jobs_usage_problems(argv: list[str]) -> None:
    """No action, two actions, or no pipeline list is a usage problem."""
    with pytest.raises(UsageProblem):
        parse_args(argv)


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """-h prints help on stdout and exits 0, for the root and for subcommands."""
    for argv in (["-h"], ["serve", "--help"]):
        with pytest.raises(SystemExit) as exc:
            parse_args(argv)
        assert exc.value.code == 0
        assert "usage: rr" in capsys.readouterr().out
