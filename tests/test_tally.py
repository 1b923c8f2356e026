"""`make test`'s closing line (tests/tally.py): both pytest runs counted in one line; any failed run fails it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

TALLY = ROOT / "tests" / "tally.py"
SUITE = '<testsuites><testsuite name="pytest" tests="{tests}" failures="{failures}" errors="{errors}" ' \
        'skipped="{skipped}"></testsuite></testsuites>'


def _run(tmp_path: Path, name: str, status: int | None, tests: int = 0, failures: int = 0, errors: int = 0,
         skipped: int = 0, report: bool = True) -> str:
    run = tmp_path / name
    if report:
        run.with_suffix(".xml").write_text(SUITE.format(tests=tests, failures=failures, errors=errors,
                                                        skipped=skipped), encoding="utf-8")
    if status is not None:
        run.with_suffix(".status").write_text(f"{status}\n", encoding="utf-8")
    return str(run)


def _tally(*runs: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TALLY), *runs], capture_output=True, text=True, timeout=30)


def test_two_passing_runs_end_with_one_line_counting_both(tmp_path: Path) -> None:
    done = _tally(_run(tmp_path, "main", 0, tests=200, skipped=3), _run(tmp_path, "pessimistic", 0, tests=120))
    assert (done.returncode, done.stdout, done.stderr) == (0, "317 passed, 0 failed, 3 skipped\n", "")


def test_without_skips_the_line_is_the_plain_closing_line(tmp_path: Path) -> None:
    done = _tally(_run(tmp_path, "main", 0, tests=5), _run(tmp_path, "pessimistic", 0, tests=2))
    assert (done.returncode, done.stdout) == (0, "7 passed, 0 failed\n")


@pytest.mark.parametrize(("second", "line"), [
    ({"status": 1, "tests": 10, "failures": 2}, "13 passed, 2 failed"),
    ({"status": 1, "tests": 10, "errors": 1}, "14 passed, 1 failed"),
    ({"status": 5, "tests": 0}, "5 passed, 0 failed"),  # collected nothing: pytest's exit 5
    ({"status": 2, "report": False}, "5 passed, 0 failed"),  # interrupted before it wrote a report
    ({"status": None, "tests": 3}, "8 passed, 0 failed"),  # no status written: not a pass
])
def test_a_failed_or_empty_run_fails_the_tally(tmp_path: Path, second: dict[str, object], line: str) -> None:
    done = _tally(_run(tmp_path, "main", 0, tests=5), _run(tmp_path, "pessimistic", **second))  # type: ignore[arg-type]
    assert (done.returncode, done.stdout) == (1, line + "\n")


def test_no_test_passed_at_all_fails(tmp_path: Path) -> None:
    done = _tally(_run(tmp_path, "main", 0, tests=0))
    assert (done.returncode, done.stdout) == (1, "0 passed, 0 failed\n")
