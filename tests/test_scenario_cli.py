"""The CLI's scenario options: --list-scenarios, --scenario NAME|PATH, and its one-line errors (exit 2)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mock_api.cli import main
from support import ROOT


def test_list_scenarios_prints_each_name_and_description(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    assert names == ["broken_connections", "default", "expired_tokens", "failing_tasks", "first_poll_not_found",
                     "flaky", "forbidden_write", "instant_tasks", "latency", "one_student_fails", "pessimistic",
                     "read_forbidden", "retry_then_succeed", "slow_tasks", "stale_cache", "throttled", "unavailable"]
    assert "slow_tasks            Every POSTed task stays accepted for 30 s of clock time before it completes" in lines


def test_unknown_scenario_is_one_line_on_stderr_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--scenario", "nope", "--port", "0"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("mock_api: error: bad scenario: unknown scenario 'nope' (known: broken_connections, ")
    assert err.count("\n") == 1


def test_invalid_scenario_file_names_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ndescription: x\nrules:\n  - effects: [{delay: -1}]\n", encoding="utf-8")
    assert main(["--scenario", str(path), "--port", "0"]) == 2
    assert capsys.readouterr().err == (f"mock_api: error: bad scenario: {path}: rules[0].effects[0].delay.seconds: "
                                       "expected a number between 0 and 60\n")


def test_real_process_exits_2_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mock_api", "--scenario", str(tmp_path / "missing.yaml")],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr == f"mock_api: error: bad scenario: {tmp_path / 'missing.yaml'}: (file): not found\n"
    assert "Traceback" not in done.stderr and done.stdout == ""
