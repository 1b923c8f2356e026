"""The full write flow: POST a petition, poll its task until complete; flows per second under threads."""
from __future__ import annotations

import http.client
import json
import os
import threading
import time

from _common import DURATION, HOST, machine, serving, token

THREADS = 8
MAX_FLOWS_PER_THREAD = 20_000


def main() -> None:
    with serving("mock_api", "mock", task_seconds=0) as (port, _):
        auth = {"Authorization": f"Bearer {token(port)}", "Content-Type": "application/json"}
        counts, polls, failures = [0] * THREADS, [0] * THREADS, [0] * THREADS
        stop_at = time.perf_counter() + DURATION

        def worker(slot: int) -> None:
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            while time.perf_counter() < stop_at and counts[slot] < MAX_FLOWS_PER_THREAD:
                body = {"petition": {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG",
                                     "school": "UG", "decision": f"f{slot}-{counts[slot]}", "grade_term": "24W",
                                     "user_netid": "f006s0b"}}
                conn.request("POST", "/api/academic/petitions", body=json.dumps(body), headers=auth)
                response = conn.getresponse()
                response.read()
                location = response.getheader("Location") or ""
                for _ in range(100):
                    conn.request("GET", location, headers=auth)
                    task = json.loads(conn.getresponse().read())
                    polls[slot] += 1
                    if task.get("status") == "complete":
                        break
                if not task.get("message", "").startswith("Petition created"):
                    failures[slot] += 1
                counts[slot] += 1
            conn.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    flows = sum(counts)
    print(f"== write flow: POST then poll to completion, --task-seconds 0, {THREADS} client threads "
          f"(Python http.client), {os.environ.get('BENCH_SECONDS', '5')} s ({machine()})")
    print(f"  {flows / elapsed:,.0f} flows/s ({flows:,} flows, {sum(polls) / max(1, flows):.2f} polls each, "
          f"{sum(failures)} failed)")


if __name__ == "__main__":
    main()
