"""docs/ci.md: its script run exactly as written (under dash), with its consumer test, as both CI jobs call it."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import ROOT

DOC = ROOT / "docs" / "ci.md"
SCRIPT = ROOT / "docs" / "ci" / "run-with-mock.sh"
TEST_COMMAND = "sh ci/run-with-mock.sh python -m pytest tests -q"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def _jobs() -> tuple[dict[str, Any], dict[str, Any]]:
    github, gitlab = (yaml.safe_load(block) for block in _blocks("yaml"))
    return github["jobs"]["contract"], gitlab["contract"]


def test_both_ci_jobs_install_the_same_way_and_call_the_script_unchanged() -> None:
    github, gitlab = _jobs()
    github_runs = [step["run"] for step in github["steps"] if "run" in step]
    assert github_runs == gitlab["script"]
    assert github_runs[1] == TEST_COMMAND
    assert github_runs[0].startswith('python -m pip install "mock_api @ git+https://')
    upload = next(step for step in github["steps"] if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == gitlab["artifacts"]["paths"][0]


def _consumer(tmp_path: Path, netid_filter: str) -> Path:
    """A consumer repository: the script copied to ci/, the doc's test in tests/ (its filter changed if asked)."""
    (tmp_path / "ci").mkdir()
    shutil.copyfile(SCRIPT, tmp_path / "ci" / "run-with-mock.sh")
    (tmp_path / "tests").mkdir()
    test = _blocks("python")[0].replace('params={"netid": "f0027k4"}', f'params={{"{netid_filter}": "f0027k4"}}')
    if netid_filter != "netid":
        test = test.replace('[r["netid"] for r in rows.json()] == ["f0027k4", "f0027k4"]', "rows.json()")
    (tmp_path / "tests" / "test_consumer.py").write_text(test, encoding="utf-8")
    return tmp_path


def _run(workdir: Path) -> subprocess.CompletedProcess[str]:
    """The doc's command, with `sh` being dash (strict POSIX) and `python` this test run's interpreter."""
    bin_dir = workdir / "bin"
    bin_dir.mkdir()
    for name in ("python", "python3"):  # a wrapper, not a symlink: a venv's python finds its venv by its path
        (bin_dir / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (bin_dir / name).chmod(0o755)
    shell = shutil.which("dash") or "sh"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for name in [n for n in env if n.startswith("MOCK_API_")]:
        del env[name]
    return subprocess.run([shell, *TEST_COMMAND.split()[1:]], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=180)


@pytest.mark.slow
def test_the_script_passes_for_a_consumer_that_keeps_the_contract(tmp_path: Path) -> None:
    done = _run(_consumer(tmp_path, "netid"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout and done.stdout.endswith("mock_api strict mode: no contract violation\n")
    artifacts = tmp_path / "mock_api-artifacts"
    journal = json.loads((artifacts / "journal.json").read_text())
    assert [(e["method"], e["path"], e["status"]) for e in journal] == [
        ("POST", "/api/jwt", 200), ("GET", "/api/academic/petitions", 200)]
    assert json.loads((artifacts / "violations.json").read_text()) == []
    assert json.loads((artifacts / "coverage.json").read_text())["requests"] == 2
    snapshot = json.loads((artifacts / "snapshot.json").read_text())
    assert snapshot["format"] == "mock_api.snapshot/1" and [e["seq"] for e in snapshot["journal"]] == [1, 2]
    logged = [json.loads(line) for line in (artifacts / "server.log").read_text().splitlines()
              if line.startswith("{")]
    assert [(e["method"], e["status"]) for e in logged] == [("POST", 200), ("GET", 200)]


@pytest.mark.slow
def test_the_script_fails_on_a_violation_and_keeps_the_evidence(tmp_path: Path) -> None:
    done = _run(_consumer(tmp_path, "netd"))  # misspelt: the real API drops it and returns every petition
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed" in done.stdout  # the mock answered; only strict mode objects
    assert done.stdout.splitlines()[-2] == "mock_api strict mode: 1 contract violation(s) by the consumer:"
    assert done.stdout.splitlines()[-1].startswith("  1. [dropped_filter] GET /api/academic/petitions: 'netd' is not")
    violations = json.loads((tmp_path / "mock_api-artifacts" / "violations.json").read_text())
    assert [v["kind"] for v in violations] == ["dropped_filter"]


@pytest.mark.slow
def test_the_script_stops_with_the_log_when_the_mock_cannot_start(tmp_path: Path) -> None:
    workdir = _consumer(tmp_path, "netid")
    done = subprocess.run(["sh", "ci/run-with-mock.sh", "true"], cwd=workdir, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "MOCK_API_PYTHON": sys.executable,
                                           "MOCK_API_OPTIONS": "--scenario nope"})
    assert done.returncode == 2
    assert done.stderr.startswith("run-with-mock: mock_api exited before its ready line; its log:\n"
                                  "mock_api: error: bad scenario: unknown scenario 'nope'")
