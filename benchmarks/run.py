"""Runs every benchmarks/bench_*.py in its own process, in name order; prints what each one reports.

Usage: python benchmarks/run.py [NAME ...]   (NAME: e.g. reads, pipeline, startup, soak; default: all)
Environment: BENCH_SECONDS (load duration per measurement, default 5), BENCH_STUDENTS (default ~100,000
petitions), BENCH_SERVERS (e.g. "mock_api,waitress"), BENCH_THREADS (server threads, default 8),
BENCH_NO_WRK=1 (use the Python load generator).
Figures are ratios measured in the same run: absolute numbers vary with the machine and its load.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH_TIMEOUT = 900  # seconds per script: every loop inside is bounded, this bounds a hung server too


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in argv or s.stem in argv]
    failed = []
    for script in scripts:
        print(f"\n### {script.name}", flush=True)
        started = time.perf_counter()
        try:
            code = subprocess.run([sys.executable, str(script)], cwd=HERE, timeout=BENCH_TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            code = -1
        verdict = "ok" if code == 0 else f"FAILED ({code})"
        print(f"### {script.name}: {verdict} in {time.perf_counter() - started:.0f} s", flush=True)
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed or not scripts else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
