"""The Makefile's test targets: the gates run before the suite, test-fast leaves slow tests out, profiles."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

# Stands in for the venv's python: prints the Hypothesis profile it was given and its arguments.
FAKE_PYTHON = '#!/bin/sh\necho "${HYPOTHESIS_PROFILE:-unset} $*"\n'
OUTER = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "HYPOTHESIS_PROFILE", "PYTEST_ARGS", "PESSIMISTIC_TESTS"}


def make(tmp_path: Path, target: str, **env: str) -> list[str]:
    """The commands `make TARGET` runs, through a fake venv whose install stamp is up to date."""
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".runtime").touch()
    (venv / ".installed").touch()
    fake = venv / "python"
    fake.write_text(FAKE_PYTHON, encoding="utf-8")
    fake.chmod(0o755)
    # Without what an outer make (make test runs this test) or the caller set: only the Makefile's defaults.
    environ = {k: v for k, v in os.environ.items() if k not in OUTER} | env
    done = subprocess.run(["make", "--no-print-directory", "-s", target, f"VENV={venv}", f"PY={fake}"], cwd=ROOT,
                          env=environ, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.splitlines()


def test_make_test_runs_ruff_and_mypy_before_both_passes_of_the_suite_then_the_tally(tmp_path: Path) -> None:
    *gates_and_suite, pessimistic, tally = make(tmp_path, "test")
    results = tmp_path / "venv" / "test-results"
    assert gates_and_suite == ["ci -m ruff check mock_api tests benchmarks", "ci -m mypy",
                               f"ci -m pytest --junitxml={results}/main.xml"]
    prefix = f"ci -m pytest --mock-api-scenario pessimistic --junitxml={results}/pessimistic.xml "
    assert pessimistic.startswith(prefix)
    http_level = {str(path.relative_to(ROOT)) for path in ROOT.glob("tests/test_*http*.py")}
    assert set(pessimistic.removeprefix(prefix).split()) == http_level | {"tests/test_cli.py", "tests/test_verify.py"}
    # Both runs' exit statuses are kept for the tally, which prints the one closing line.
    assert tally == f"ci tests/tally.py {results}/main {results}/pessimistic"
    assert (results / "main.status").read_text() == "0\n" == (results / "pessimistic.status").read_text()


def test_make_test_fast_leaves_out_slow_tests_under_the_dev_profile(tmp_path: Path) -> None:
    assert make(tmp_path, "test-fast") == ["dev -m pytest -m not slow"]


@pytest.mark.parametrize("target", ["test", "test-fast"])
def test_hypothesis_profile_in_the_environment_wins(tmp_path: Path, target: str) -> None:
    profile = "dev" if target == "test" else "ci"
    assert {line.split()[0] for line in make(tmp_path, target, HYPOTHESIS_PROFILE=profile)} == {profile}


@pytest.mark.parametrize("profile, counts", [("ci", "100 300 15"), ("dev", "20 20 15")])
def test_the_dev_profile_caps_every_test_and_ci_keeps_the_pinned_counts(profile: str, counts: str) -> None:
    # conftest.py registers and loads the profile; examples() is what tests that pin a count call.
    code = ("import conftest, support; from hypothesis import settings; "
            "print(settings().max_examples, support.examples(300), support.examples(15))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "tests", capture_output=True, text=True,
                          env={**os.environ, "HYPOTHESIS_PROFILE": profile}, timeout=60, check=True)
    assert done.stdout == counts + "\n"
