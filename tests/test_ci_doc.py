"""docs/ci.md: its workflow's shell steps, run as a CI would, against a tiny consumer test suite."""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import ROOT

GOOD_CONSUMER = '''
import os
import requests

BASE = os.environ["MOCK_API_URL"]
READ = "api:academic:petitions:read"


def test_reads_a_students_petitions():
    got = requests.post(f"{BASE}/api/jwt", params={"scope": READ},
                        headers={"Authorization": os.environ["MOCK_API_KEY"]}, timeout=10)
    assert READ in got.json()["accepted_scopes"]
    auth = {"Authorization": "Bearer " + got.json()["jwt"]}
    rows = requests.get(f"{BASE}/api/academic/petitions", params={"%s": "f0027k4"}, headers=auth, timeout=10)
    assert rows.status_code == 200 and rows.json()
'''


def _workflow() -> dict[str, Any]:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1, "docs/ci.md must hold exactly one yaml workflow"
    return dict(yaml.safe_load(blocks[0]))


def _job_env(job: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in job["env"].items()}


def _read_github_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


def run_workflow(workdir: Path) -> list[tuple[str, int]]:
    """Each run step in order, in bash with the job's env, skipping later steps after a failure unless
    `if: always()`, as Actions does. The install step is skipped: this checkout is already installed."""
    job = _workflow()["jobs"]["contract"]
    github_env = workdir / "github_env"
    github_env.touch()
    env = {**os.environ, **_job_env(job), "GITHUB_ENV": str(github_env),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    results: list[tuple[str, int]] = []
    failed = False
    for step in job["steps"]:
        if "run" not in step or step["name"].startswith("Install"):
            continue
        if failed and step.get("if") != "always()":
            continue
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=workdir, timeout=120,
                              env={**env, **_read_github_env(github_env)}, capture_output=True, text=True)
        results.append((step["name"], done.returncode))
        (workdir / f"step{len(results)}.log").write_text(done.stdout + done.stderr)
        failed = failed or done.returncode != 0
    return results


def _stop_server(workdir: Path) -> None:
    pid_file = workdir / "mock_api-artifacts" / "server.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)  # only the server this test started


@pytest.fixture
def consumer(tmp_path: Path) -> Any:
    (tmp_path / "tests").mkdir()

    def write(filter_name: str) -> Path:
        (tmp_path / "tests" / "test_consumer.py").write_text(GOOD_CONSUMER % filter_name)
        return tmp_path
    yield write
    _stop_server(tmp_path)


def test_the_install_step_installs_mock_api_and_the_tools() -> None:
    steps = {s.get("name"): s for s in _workflow()["jobs"]["contract"]["steps"]}
    assert steps["Install mock_api and the test tools"]["run"].split() == [
        "python", "-m", "pip", "install", '"mock_api', '@', '$MOCK_API_SOURCE"', "pytest", "requests"]


@pytest.mark.slow
def test_the_documented_steps_pass_for_a_consumer_that_keeps_the_contract(consumer: Any) -> None:
    workdir = consumer("netid")
    results = run_workflow(workdir)
    assert results == [("Start mock_api in the background", 0), ("Wait for the ready line", 0),
                       ("Run the consumer's tests against the mock", 0),
                       ("Collect the journal, violations and coverage", 0), ("Fail on contract violations", 0)]
    artifacts = workdir / "mock_api-artifacts"
    journal = json.loads((artifacts / "journal.json").read_text())
    assert [(e["method"], e["path"], e["status"]) for e in journal] == [
        ("POST", "/api/jwt", 200), ("GET", "/api/academic/petitions", 200)]
    assert json.loads((artifacts / "violations.json").read_text()) == []
    assert json.loads((artifacts / "coverage.json").read_text())["requests"] == 2


@pytest.mark.slow
def test_the_documented_steps_fail_on_a_violation_and_keep_the_evidence(consumer: Any) -> None:
    workdir = consumer("netd")  # misspelt: the real API drops it and returns every petition
    results = run_workflow(workdir)
    assert results[-1] == ("Fail on contract violations", 1)
    assert all(code == 0 for _, code in results[:-1])  # the mock answered; only strict mode objects
    violations = json.loads((workdir / "mock_api-artifacts" / "violations.json").read_text())
    assert [v["kind"] for v in violations] == ["dropped_filter"]
    log = (workdir / f"step{len(results)}.log").read_text()
    assert log.startswith("mock_api strict mode: 1 contract violation(s) by the consumer:\n"
                          "  1. [dropped_filter] GET /api/academic/petitions: GET /api/academic/petitions: 'netd'")
