"""`make test`'s closing line: the JUnit reports of its pytest runs added up, and its exit status.

    python tests/tally.py RUN...   (each RUN: RUN.xml, pytest's --junitxml report, and RUN.status, its exit code)

Prints `N passed, N failed` (', N skipped' when some were) alone on the last line, and exits 1 when a run
failed, exited non-zero (pytest's 5: it collected no test) or left no report, or when no test passed at all.
"""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Count:
    """One run's outcome: tests passed, failed (failures and errors), skipped; the run's exit status."""

    passed: int
    failed: int
    skipped: int
    status: int


def count(run: Path) -> Count:
    """The counts of RUN.xml and the status in RUN.status; a missing or broken report counts as a failed run."""
    try:
        status = int(run.with_suffix(".status").read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        status = 1
    try:
        root = ElementTree.parse(run.with_suffix(".xml")).getroot()
    except (OSError, ElementTree.ParseError):
        return Count(0, 0, 0, status or 1)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return Count(tests - failed - skipped, failed, skipped, status)


def closing_line(counts: list[Count]) -> tuple[str, int]:
    """The one line and the exit status of the runs together."""
    passed, failed, skipped = (sum(getattr(c, name) for c in counts) for name in ("passed", "failed", "skipped"))
    line = f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")
    ok = failed == 0 and passed > 0 and all(c.status == 0 for c in counts)
    return line, 0 if ok else 1


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python tests/tally.py RUN... (RUN.xml and RUN.status each)", file=sys.stderr)
        return 2
    counts = [count(Path(run)) for run in argv]
    for run, found in zip(argv, counts, strict=True):
        if found.status != 0:
            print(f"tally: {run}: pytest exited {found.status}", file=sys.stderr)
    line, status = closing_line(counts)
    print(line, flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
