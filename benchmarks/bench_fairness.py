"""No request holds another: a fresh client's token + read latency while another client loops on a large read,
or pipelines 5,000 requests in one write, at ~100,000 petitions (issue 23, point 3: p99 < 30 ms).

Usage: python benchmarks/bench_fairness.py   (BENCH_SECONDS: how long each load runs, default 5)
"""
from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from collections.abc import Callable

from _common import DURATION, HOST, request, serving, token

LARGE_READ = "/api/academic/petitions?effective_date=>2000-01-01&pagesize=1000"
BURST = b"GET /api/tasks/000000000000000000000000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 5000
STUDENTS = int(os.environ.get("BENCH_STUDENTS", "84400"))


def large_reads(port: int, auth: dict[str, str], stop: threading.Event) -> None:
    while not stop.is_set():
        request(port, "GET", LARGE_READ, headers=auth)


def bursts(port: int, auth: dict[str, str], stop: threading.Event) -> None:
    while not stop.is_set():
        with socket.create_connection((HOST, port), timeout=30) as sock:
            sock.sendall(BURST)
            seen = 0
            while seen < 5000 and (chunk := sock.recv(1 << 16)):
                seen += chunk.count(b"HTTP/1.1 401")


def fresh_client(port: int) -> list[float]:
    """Token + read, one after the other, for DURATION seconds: each pair's time in ms."""
    took, deadline = [], time.monotonic() + DURATION
    while time.monotonic() < deadline:
        started = time.perf_counter()
        jwt = token(port)
        status, _, _ = request(port, "GET", "/api/academic/petitions?netid=f0027k4",
                               headers={"Authorization": f"Bearer {jwt}"})
        assert status == 200
        took.append((time.perf_counter() - started) * 1000)
    return took


def measure(port: int, load: Callable[[int, dict[str, str], threading.Event], None] | None) -> list[float]:
    stop = threading.Event()
    auth = {"Authorization": f"Bearer {token(port)}"}
    thread = None if load is None else threading.Thread(target=load, args=(port, auth, stop), daemon=True)
    if thread is not None:
        thread.start()
        time.sleep(0.5)
    try:
        return fresh_client(port)
    finally:
        stop.set()
        if thread is not None:
            thread.join(60)


def row(name: str, took: list[float]) -> str:
    cut = statistics.quantiles(took, n=100)
    return f"  {name:38s} {len(took):6,} pairs  p50 {statistics.median(took):6.1f} ms  p99 {cut[98]:6.1f} ms  " \
           f"max {max(took):6.1f} ms"


def main() -> None:
    print(f"== fairness: a fresh client's token + netid read, {STUDENTS:,} students, {DURATION:g} s each")
    with serving(students=STUDENTS) as (port, _):
        status, _, _ = request(port, "GET", LARGE_READ, headers={"Authorization": f"Bearer {token(port)}"})
        started = time.perf_counter()
        request(port, "GET", LARGE_READ, headers={"Authorization": f"Bearer {token(port)}"})
        print(f"  the large read alone: {(time.perf_counter() - started) * 1000:.1f} ms (status {status})")
        for name, load in (("alone", None), ("beside a client looping on the large read", large_reads),
                           ("beside a client pipelining 5,000 requests", bursts)):
            print(row(name, measure(port, load)), flush=True)


if __name__ == "__main__":
    main()
