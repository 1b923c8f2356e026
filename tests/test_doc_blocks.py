"""Every shell block of the README and docs/ is run, against a fresh server, or marked with why it is not."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from support import ROOT, RunningServer, running_server

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = re.compile(r"(?:<!-- (?P<marker>[^\n]*?) -->\n)?```(?:sh|bash|shell|console)\n(?P<body>.*?)```", re.S)
# A block that must not run says why, right above it; the install block is run by tests/test_install.py.
NOT_RUN = "not run: "
RUN_ELSEWHERE = "run by tests/test_install.py"
BLOCK_SECONDS = 120


def shell_blocks() -> list[tuple[str, str | None, str]]:
    """(where, marker, body) of every shell block, `where` as FILE:LINE."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in SHELL.finditer(text):
            line = text.count("\n", 0, match.start("body"))
            found.append((f"{path.relative_to(ROOT)}:{line}", match.group("marker"), match.group("body")))
    return found


BLOCKS = shell_blocks()
RUNNABLE = [(where, body) for where, marker, body in BLOCKS if marker is None]


def test_every_block_is_run_or_says_why_not() -> None:
    assert len(RUNNABLE) >= 5  # the tour, the CLI, the scenario header, the clock, the control API
    for where, marker, _ in BLOCKS:
        if marker is not None:
            reason = marker.removeprefix(NOT_RUN)
            assert marker.startswith((NOT_RUN, RUN_ELSEWHERE)), f"{where}: unknown marker {marker!r}"
            assert marker.startswith(RUN_ELSEWHERE) or len(reason) > 20, f"{where}: say why it is not run"


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    # Strict mode on, as the README recommends: a documented pattern must not break the contract.
    with running_server("--quiet", "--strict") as running:
        yield running


def _run(body: str, url: str) -> subprocess.CompletedProcess[str]:
    """The block as a user pastes it, in bash: -e and pipefail so that no failing line goes unseen."""
    bin_dir = str(Path(sys.executable).parent)  # mock-api and python3 of this install come first
    env = {**os.environ, "MOCK_API_URL": url, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    # Its own process group: a block that leaves a child running (a server started with `&`) keeps the
    # output pipes open, so on the deadline the whole group is killed and the test fails instead of hanging.
    with subprocess.Popen(["bash", "-e", "-o", "pipefail", "-c", body], cwd=ROOT, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=BLOCK_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            stderr += f"\n(killed after {BLOCK_SECONDS} s: a block must finish by itself)"
            return subprocess.CompletedProcess(process.args, -signal.SIGKILL, stdout, stderr)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["", "/s/docs"], ids=["server", "session"])  # MOCK_API_URL a session's too
@pytest.mark.parametrize(("where", "body"), RUNNABLE, ids=[where for where, _ in RUNNABLE])
def test_block_runs(where: str, body: str, prefix: str, server: RunningServer) -> None:
    url = server.url + prefix
    requests.post(f"{url}/_mock/reset", timeout=10).raise_for_status()
    done = _run(body, url)
    assert done.returncode == 0, f"{where}:\n{done.stdout}\n{done.stderr}"
    assert "curl: (" not in done.stderr, f"{where}: {done.stderr}"
    violations = requests.get(f"{url}/_mock/violations", timeout=10).json()
    assert violations == [], f"{where}: strict mode objects: {violations}"


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["", "/s/tour"], ids=["server", "session"])
def test_the_tour_runs_twice_and_ends_with_the_new_petition(prefix: str, server: RunningServer) -> None:
    tour = next(body for where, body in RUNNABLE if where.startswith("README.md") and "2911310-Q41" in body)
    for _ in range(2):  # it resets first, so a second run creates the petition again instead of failing
        done = _run(tour, server.url + prefix)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert any('"status":"complete"' in line and "Petition created successfully" in line for line in lines)
        assert any(line.startswith('{"id":"2911310-Q41-24W-2023-2024","netid":"f006s0b"') for line in lines)
        journal = lines[lines.index("POST /api/jwt 200"):]
        assert journal[:5] == ["POST /api/jwt 200", "GET /api/academic/petitions/ 200",
                               "GET /api/academic/petitions 200", "GET /api/academic/petitions 200",
                               "POST /api/academic/petitions 202"]
        assert all(re.fullmatch(r"GET /api/tasks/[0-9a-f]{24} 200", line) for line in journal[5:-1])
        assert journal[-1] == "GET /api/academic/petitions/2911310-Q41-24W-2023-2024 200"


# Every example runs again inside a session, as under `mock_api_isolation = session` or a shared CI server:
# a URL joined wrongly (the session prefix doubled or lost) fails there.
PYTHON = re.compile(r"```python\n(?P<body>.*?)```", re.S)
# The pytest examples of the docs: every python block that names the fixture or a test (docs/ci.md's
# plain test reads MOCK_API_URL in a fixture, else the fixture's server: it runs here too).
PYTHON_TESTS = [(f"{path.relative_to(ROOT)}:{path.read_text(encoding='utf-8').count(chr(10), 0, m.start())}",
                 m.group("body")) for path in DOCS for m in PYTHON.finditer(path.read_text(encoding="utf-8"))
                if "def test_" in m.group("body")]


def test_every_python_example_of_the_docs_is_found() -> None:
    assert {where.split(":")[0] for where, _ in PYTHON_TESTS} >= {"README.md", "docs/reference.md", "docs/ci.md",
                                                                  "docs/sessions.md"}


@pytest.mark.slow
@pytest.mark.parametrize("isolation", ["reset", "session"])  # the plugin's two ways to isolate a test
@pytest.mark.parametrize(("where", "body"), PYTHON_TESTS, ids=[where for where, _ in PYTHON_TESTS])
def test_python_example_passes_in_strict_mode(where: str, body: str, isolation: str, pytester: pytest.Pytester,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("MOCK_API_")]:
        monkeypatch.delenv(name)  # the plugin's own server, not one a caller pointed MOCK_API_URL at
    pytester.makepyfile(test_example=body)
    result = pytester.runpytest("-p", "no:hypothesispytest", "-p", "no:cacheprovider", "--mock-api-strict",
                                "--mock-api-fail-on-error-responses", "-o", f"mock_api_isolation={isolation}")
    tests = body.count("\ndef test_") + body.startswith("def test_")
    assert result.ret == 0 and result.parseoutcomes() == {"passed": tests}, f"{where}:\n{result.stdout.str()}"
