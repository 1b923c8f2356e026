"""The one CLI: subcommands, --version, help that says `mock-api`, every serve option from MOCK_API_<OPTION>."""
from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mock_api import __version__
from mock_api.cli import build_parser, main
from mock_api.cli.env import apply_defaults, is_switch, settable, variable
from mock_api.cli.serve import lasting_objects
from support import ROOT, assert_one_line_usage_error, run_cli


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"mock-api {__version__}\n"


def test_help_names_mock_api_and_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: mock-api [-h] [--version] COMMAND ...")
    for command in ("serve", "verify", "scenarios", "violations"):
        assert f"\n    {command}" in out
    assert "python -m" not in out


@pytest.mark.parametrize(("argv", "usage"), [
    (["serve", "--help"], "usage: mock-api serve [-h]"),
    (["verify", "--help"], "usage: mock-api verify [-h]"),
    (["scenarios", "--help"], "usage: mock-api scenarios [-h]"),
    (["violations", "--help"], "usage: mock-api violations [-h] FILE"),
])
def test_each_command_has_its_own_help(argv: list[str], usage: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith(usage)


def test_scenarios_command_is_the_list_scenarios_alias(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    listed = capsys.readouterr().out
    assert main(["--list-scenarios"]) == 0
    assert capsys.readouterr().out == listed
    assert listed.splitlines()[1].startswith("default ")


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    done = subprocess.run(f"'{sys.executable}' -m mock_api scenarios | head -1", shell=True, cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.stdout.startswith("broken_connections ") and done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_violations_command_prints_and_exits_for_ci(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "violations.json"
    saved.write_text(json.dumps([{"kind": "payload", "method": "POST", "path": "/api/academic/petitions",
                                  "message": "POST /api/academic/petitions payload misses 'netid'", "count": 1}]))
    assert main(["violations", str(saved)]) == 1
    assert capsys.readouterr().out == ("mock_api strict mode: 1 contract violation(s) by the consumer:\n"
                                       "  1. [payload] POST /api/academic/petitions payload misses 'netid'\n")
    saved.write_text("[]")
    assert main(["violations", str(saved)]) == 0
    assert capsys.readouterr().out == "mock_api strict mode: no contract violation\n"
    assert main(["violations", str(tmp_path / "none.json")]) == 2
    assert capsys.readouterr().err.startswith(f"mock_api: error: cannot read violations from {tmp_path}/none.json")


def test_the_old_contract_module_still_works_and_knows_help() -> None:
    done = subprocess.run([sys.executable, "-m", "mock_api.contract", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m mock_api.contract [-h] FILE")
    missing = subprocess.run([sys.executable, "-m", "mock_api.contract"], cwd=ROOT, capture_output=True,
                             text=True, timeout=30)
    assert_one_line_usage_error(missing, "the following arguments are required: FILE")


def test_the_console_script_says_mock_api() -> None:
    script = shutil.which("mock-api", path=str(Path(sys.executable).parent))
    assert script is not None, "the mock-api console script is installed with the package"
    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("usage: mock-api ")


def _sample(action: argparse.Action, tmp_path: Path) -> tuple[str, Any]:
    """A value for the option's variable, and what the parsed option must then be."""
    if is_switch(action):
        return "true", True
    if action.choices is not None:
        choice = list(action.choices)[-1]
        return str(choice), choice
    if action.type is Path:
        return str(tmp_path), [tmp_path] if isinstance(action.default, list) else tmp_path
    if action.type is float:
        return "2.5", 2.5
    if action.type is None or action.type is str:  # a repeatable one (--allowed-host) parses to a list
        return "127.0.0.1", ["127.0.0.1"] if isinstance(action, argparse._AppendAction) else "127.0.0.1"
    return "7", 7  # int and the limits' whole numbers >= 1


SERVE_OPTIONS = [a.dest for a in settable(build_parser())]


def test_every_serve_option_has_a_variable() -> None:
    assert {"port", "host", "seed", "students", "strict", "quiet", "log_format", "control_token", "journal_limit",
            "scenarios_dir"} <= set(SERVE_OPTIONS)
    assert "list_scenarios" not in SERVE_OPTIONS and "help" not in SERVE_OPTIONS


@pytest.mark.parametrize("dest", SERVE_OPTIONS)
def test_each_variable_sets_its_option_and_a_flag_wins(dest: str, tmp_path: Path) -> None:
    parser = build_parser()
    action = next(a for a in settable(parser) if a.dest == dest)
    text, expected = _sample(action, tmp_path)
    apply_defaults(parser, {variable(action): text})
    assert getattr(parser.parse_args([]), dest) == expected
    if action.dest == "port":
        assert parser.parse_args(["--port", "9"]).port == 9


def test_a_flag_wins_over_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_API_PORT", "8123")
    monkeypatch.setenv("MOCK_API_SCENARIO", "flaky")
    args = build_parser().parse_args(["--port", "0"])
    assert (args.port, args.scenario) == (0, "flaky")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("MOCK_API_PORT", "eighty", "env MOCK_API_PORT='eighty': wants a whole number (it sets --port)"),
    ("MOCK_API_TASK_SECONDS", "soon", "env MOCK_API_TASK_SECONDS='soon': wants a number (it sets --task-seconds)"),
    ("MOCK_API_STRICT", "maybe", "env MOCK_API_STRICT='maybe': wants 1/true/yes/on or 0/false/no/off "
                                 "(it sets --strict)"),
    ("MOCK_API_LOG_FORMAT", "xml", "env MOCK_API_LOG_FORMAT='xml': wants one of text, json (it sets --log-format)"),
    ("MOCK_API_JOURNAL_LIMIT", "0", "env MOCK_API_JOURNAL_LIMIT='0': wants a whole number >= 1 "
                                    "(it sets --journal-limit)"),
])
def test_a_bad_variable_is_one_line_naming_it(name: str, value: str, message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "mock_api", "--port", "0"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, env={**os.environ, name: value})
    assert_one_line_usage_error(done, message)


def test_a_value_error_of_a_subcommand_is_one_line() -> None:
    assert_one_line_usage_error(run_cli("verify", "--base-url", "ftp://x", "--api-key", "k"),
                                "--base-url must start with http:// or https://")


def test_lasting_objects_pauses_the_collector_then_freezes_what_was_built() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with lasting_objects():
            assert not gc.isenabled()
            built = [[n] for n in range(1000)]
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(built)
        frozen = gc.get_freeze_count()
        with pytest.raises(ValueError), lasting_objects():  # a failed build: collector back on, nothing frozen
            raise ValueError("bad fixtures")
        assert gc.isenabled() and gc.get_freeze_count() == frozen
        gc.disable()  # `python -m mock_api` pauses it while it imports the command line: left paused
        with lasting_objects():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()  # this test process's objects go back to the collector


@pytest.mark.parametrize("word", ["frobnicate", "serv", "0"])
def test_an_unknown_command_names_itself_and_lists_the_commands(word: str) -> None:
    message = (f"unknown command {word!r}: the commands are serve, verify, scenarios, violations, show "
               "(serve is the default; `mock-api --help` says more)")
    assert_one_line_usage_error(run_cli(word, "--port", "0"), message)
    if word == "frobnicate":  # the line reference.md quotes, as the CLI says it
        assert f"`mock_api: error: {message}`" in (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")


def test_every_option_of_every_group_is_settable_from_the_environment() -> None:
    # The limits are added through an argument group: the parser records those too (no private argparse list).
    options = {a.option_strings[0] for a in settable(build_parser())}
    assert {"--port", "--journal-limit", "--max-sessions", "--threads"} <= options
    assert "--help" not in options and "--list-scenarios" not in options
