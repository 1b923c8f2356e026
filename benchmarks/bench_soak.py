"""Soak: a hostile client's mix against `python -m mock_api` on loopback; RSS and control-read times.

First the timed mix of issue 23 (tests/hostile_mix.py, shared with the memory budget's test) at the defaults:
200 KB headers, junk scopes, 1,000 sessions, 60 KB and 1 MB POSTs, unfinished 1 MB bodies (SOAK_UNFINISHED=0
leaves them out) for SOAK_MIX_SECONDS (default 30; 0 skips it), RSS sampled before, during and after, control
reads timed and their pages sized.
Then the mix of issue 9: 8,000 requests with 240 KB headers, 5,000 token requests with 20 KB of junk scopes
(a wrong key, then a right one), 100,000 posted tasks (polled now and then, so that they complete).
Prints RSS before, during (after each phase, and the peak sampled every 0.2 s) and after, and the time
each control read takes. Targets: RSS < 400 MB throughout, every control read < 2 s.
Environment: SOAK_SCALE (default 1.0) scales issue 9's counts, e.g. 0.1 for a quick look; 0 skips them.
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

from _common import HOST, ROOT, free_port, machine, rss_mb, stop, token, wait_for_200

sys.path.insert(0, str(ROOT / "tests"))  # the hostile mix the memory budget's test replays: one copy of it
import hostile_mix

SCALE = float(os.environ.get("SOAK_SCALE", "1"))
MIX_SECONDS = float(os.environ.get("SOAK_MIX_SECONDS", "30"))
UNFINISHED = os.environ.get("SOAK_UNFINISHED", "1") != "0"
BIG_HEADERS, BIG_HEADER_BYTES = int(8000 * SCALE), 240 * 1024
JUNK_SCOPES, JUNK_SCOPE_BYTES = int(5000 * SCALE), 20 * 1024
TASKS = int(100_000 * SCALE)
CLIENTS = 4
POLL_EVERY = 200  # each client polls its latest task every this many posts: the worker runs meanwhile
RSS_TARGET_MB, READ_TARGET_S = 400.0, 2.0
CONTROL_READS = ("/_mock/requests", "/_mock/tasks", "/_mock/coverage", "/_mock/violations", "/_mock/clock",
                 "/_mock/requests?limit=100000", "/_mock/tasks?limit=100000")
# A petition for a student who does not exist: each task fails, and no petition is added to the data.
PAYLOAD = json.dumps({"petition": {"netid": "nobody", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                                   "decision": "APPV", "grade_term": "24W", "user_netid": "nobody"}}).encode()


class Peak:
    """Samples the server's RSS in a thread; the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return

    def close(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def in_parallel(count: int, send: Callable[[http.client.HTTPConnection, int], None]) -> int:
    """`count` calls of send spread over CLIENTS keep-alive connections; the number that failed."""
    failures = [0] * CLIENTS

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
        for number in range(slot, count, CLIENTS):
            try:
                send(conn, number)
            except (OSError, http.client.HTTPException):
                failures[slot] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
        conn.close()

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(failures)


def call(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def phases(auth: dict[str, str]) -> Iterator[tuple[str, Callable[[], int]]]:
    big = "h" * BIG_HEADER_BYTES
    junk = "%20".join(f"junk{n:05d}" + "j" * 90 for n in range(JUNK_SCOPE_BYTES // 100))

    def big_headers(conn: http.client.HTTPConnection, number: int) -> None:
        call(conn, "GET", f"/api/academic/petitions?netid=f0027k4&n={number}", headers={**auth, "X-Big": big})

    def junk_scopes(conn: http.client.HTTPConnection, number: int) -> None:
        key = "dev-readwrite" if number % 2 else f"wrong-key-{number}"
        call(conn, "POST", f"/api/jwt?scope={junk}{number}", headers={"Authorization": key})

    def tasks(conn: http.client.HTTPConnection, number: int) -> None:
        status, headers, _ = call(conn, "POST", "/api/academic/petitions", PAYLOAD,
                                  {**auth, "Content-Type": "application/json"})
        if status != 202:
            raise OSError(f"POST answered {status}")
        if number % POLL_EVERY < CLIENTS:
            call(conn, "GET", headers["Location"], headers=auth)

    yield f"{BIG_HEADERS:,} requests with {BIG_HEADER_BYTES // 1024} KB headers", lambda: in_parallel(
        BIG_HEADERS, big_headers)
    yield f"{JUNK_SCOPES:,} token requests with {JUNK_SCOPE_BYTES // 1024} KB of junk scopes", lambda: in_parallel(
        JUNK_SCOPES, junk_scopes)
    yield f"{TASKS:,} posted tasks", lambda: in_parallel(TASKS, tasks)


def control_reads() -> list[tuple[str, float, int]]:
    """(path, seconds, bytes) of each control read, on a fresh connection each."""
    times = []
    for path in CONTROL_READS:
        conn = http.client.HTTPConnection(HOST, PORT, timeout=120)
        started = time.perf_counter()
        status, _, body = call(conn, "GET", path)
        times.append((f"{path} ({status})", time.perf_counter() - started, len(body)))
        conn.close()
    return times


PORT = free_port()


def start(*args: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "mock_api", "--port", str(PORT), *args],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_for_200(PORT, "/_mock/health", time.perf_counter() + 120, process):
        stop(process)
        raise RuntimeError("mock_api did not start")
    return process


def timed_mix() -> None:
    """Issue 23's mix for MIX_SECONDS at the defaults (a 256 MiB memory budget)."""
    process = start()
    try:
        print(f"== soak, issue 23's mix for {MIX_SECONDS:.0f} s: python -m mock_api on {HOST} ({machine()})")
        print(f"  RSS before: {hostile_mix.rss_mb(process.pid):.0f} MB")
        outcome = hostile_mix.run(PORT, process.pid, MIX_SECONDS, unfinished=UNFINISHED)
        print("  RSS during (every ~1 s): " + " ".join(f"{mb:.0f}" for mb in outcome.rss[:-1]) + " MB")
        meets = outcome.peak_rss < hostile_mix.RSS_TARGET_MB
        print(f"  RSS after: {outcome.rss[-1]:.0f} MB; peak {outcome.peak_rss:.0f} MB (target < "
              f"{hostile_mix.RSS_TARGET_MB:.0f} MB: {'meets' if meets else 'MISSES'})")
        print(f"  answers: {dict(sorted(outcome.statuses.items()))}, {outcome.failures} failed calls, "
              f"{outcome.unfinished} bodies sent unfinished")
        print(f"  {outcome.reads} control reads, slowest {outcome.slowest_read * 1000:.0f} ms ({outcome.slowest_path}; "
              f"target < {hostile_mix.READ_TARGET_S:.0f} s: "
              f"{'meets' if outcome.slowest_read < hostile_mix.READ_TARGET_S else 'MISSES'}); largest page "
              f"{outcome.largest_page / 1e6:.1f} MB past its first item (bound {hostile_mix.PAGE_BYTES / 1e6:.1f} MB)")
        memory = outcome.memory
        print(f"  memory budget: {memory['used_bytes'] / 2**20:.0f} of {memory['budget_bytes'] / 2**20:.0f} MiB "
              f"held ({', '.join(f'{k} {v / 2**20:.1f}' for k, v in memory['stores'].items() if v)}); "
              f"{memory['reliefs']} reliefs dropped {memory['dropped']}")
    finally:
        stop(process)


def main() -> int:
    if MIX_SECONDS > 0:
        timed_mix()
    if SCALE > 0:
        phased()
    return 0


def phased() -> None:
    """Issue 9's mix, phase by phase."""
    process = start("--task-seconds", "0")
    worst_read, highest = 0.0, 0.0
    try:
        auth = {"Authorization": f"Bearer {token(PORT)}"}
        print(f"== soak: python -m mock_api on {HOST} ({machine()})")
        before = rss_mb(process.pid)
        print(f"  RSS before: {before:.0f} MB")
        peak = Peak(process.pid)
        for name, run in phases(auth):
            started = time.perf_counter()
            failed = run()
            after_phase = rss_mb(process.pid)
            highest = max(highest, after_phase)
            print(f"  {name}: {time.perf_counter() - started:.0f} s, {failed} failed; RSS {after_phase:.0f} MB")
            for path, seconds, size in control_reads():
                worst_read = max(worst_read, seconds)
                print(f"    {path}: {seconds * 1000:.0f} ms, {size / 1e6:.1f} MB")
        highest = max(highest, peak.close())
        after = rss_mb(process.pid)
        highest = max(highest, after)
        print(f"  RSS after: {after:.0f} MB; peak sampled during the run: {highest:.0f} MB "
              f"(target < {RSS_TARGET_MB:.0f} MB: {'meets' if highest < RSS_TARGET_MB else 'MISSES'})")
        print(f"  slowest control read: {worst_read * 1000:.0f} ms "
              f"(target < {READ_TARGET_S:.0f} s: {'meets' if worst_read < READ_TARGET_S else 'MISSES'})")
    finally:
        stop(process)


if __name__ == "__main__":
    sys.exit(main())
