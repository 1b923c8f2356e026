"""Resident memory of the emulator holding 100,000 petitions, at start and after a mixed workload."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from _common import ROOT, STUDENTS_FOR_100K, free_port, machine, request, rss_mb, stop, token, wait_for_200

TARGET_MB = 200.0  # issue 12: RSS at ~100,000 petitions <= 200 MB
UNFILTERED_READS = 60  # each stores a found set of every petition (bounded by FOUND_SET_ITEM_BUDGET)


def main() -> None:
    students = int(os.environ.get("BENCH_STUDENTS", STUDENTS_FOR_100K))
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "mock_api", "--port", str(port), "--students", str(students),
                                "--task-seconds", "0"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_for_200(port, "/_mock/health", started + 300, process):
            raise RuntimeError("mock_api did not start")
        ready_s = time.perf_counter() - started
        at_start = rss_mb(process.pid)
        auth = {"Authorization": f"Bearer {token(port)}"}
        _, headers, _ = request(port, "GET", "/api/academic/petitions?pagesize=1", headers=auth)
        count = int(headers["X-Count"])
        for i in range(UNFILTERED_READS):
            request(port, "GET", f"/api/academic/petitions?pagesize=1000&page={i + 1}", headers=auth)
        for i in range(500):
            body = {"petition": {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                                 "decision": f"mem{i}", "grade_term": "24W", "user_netid": "f006s0b"}}
            request(port, "POST", "/api/academic/petitions", body, auth)
        for _ in range(2000):
            request(port, "GET", "/api/academic/petitions?netid=f0027k4", headers=auth)
        after = rss_mb(process.pid)
    finally:
        stop(process)
    print(f"== memory: python -m mock_api --students {students:,} ({machine()})")
    print(f"  {count:,} petitions, start to health 200 in {ready_s:.1f} s")
    print(f"  RSS at start {at_start:.0f} MB; after {UNFILTERED_READS} unfiltered reads, 500 writes and "
          f"2,000 netid reads {after:.0f} MB (target < {TARGET_MB:.0f} MB): "
          f"{'meets' if max(at_start, after) < TARGET_MB else 'MISSES'}")


if __name__ == "__main__":
    main()
