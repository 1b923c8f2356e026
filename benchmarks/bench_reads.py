"""Authenticated reads at 100,000 petitions vs a bare Flask JSON app, on our server and each candidate WSGI one."""
from __future__ import annotations

import importlib.util
import json
import os

from _common import CONNECTIONS, STUDENTS_FOR_100K, Load, load, load_tool, machine, request, serving, token

NETID = "f0027k4"  # the seed's student: two petitions
NEW_PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                "decision": "bench", "grade_term": "24W", "user_netid": "f006s0b"}
TARGET_RATIO, TARGET_P99_MS = 0.50, 20.0
WARM_UP_SECONDS = 2.0


def servers() -> list[str]:
    names = ["mock_api", "waitress", "werkzeug"]
    names += [name for name in ("gunicorn", "granian") if importlib.util.find_spec(name)]
    chosen = os.environ.get("BENCH_SERVERS")
    return [n for n in names if not chosen or n in chosen.split(",")]


def warm_then_load(port: int, path: str, headers: dict[str, str] | None = None) -> Load:
    """A short unmeasured run first: the first seconds fill the journal and found sets and grow the heap."""
    load(port, path, headers, duration=WARM_UP_SECONDS)
    return load(port, path, headers)


def measure(server: str, students: int) -> dict[str, Load]:
    with serving(server, "bare", ready_path="/json") as (port, _):
        bare = warm_then_load(port, "/json")
    with serving(server, "mock", students=students) as (port, _):
        auth = {"Authorization": f"Bearer {token(port)}"}
        status, headers, _ = request(port, "GET", "/api/academic/petitions?pagesize=1", headers=auth)
        count = int({k.lower(): v for k, v in headers.items()}["x-count"])  # granian sends lower-case names
        status, headers, _ = request(port, "POST", "/api/academic/petitions", {"petition": NEW_PETITION}, auth)
        assert status == 202, status
        netid = warm_then_load(port, f"/api/academic/petitions?netid={NETID}", auth)
        task = warm_then_load(port, {k.lower(): v for k, v in headers.items()}["location"], auth)
        status, _, body = request(port, "GET", f"/api/academic/petitions?netid={NETID}", headers=auth)
        assert status == 200 and len(json.loads(body)) == 2, body
    print(f"  {server:9s} bare Flask JSON  {bare.row()}")
    print(f"  {server:9s} petitions?netid= {netid.row()}   {netid.rps / bare.rps:5.0%} of bare  [{count:,} petitions]")
    print(f"  {server:9s} tasks/{{id}}       {task.row()}   {task.rps / bare.rps:5.0%} of bare", flush=True)
    return {"bare": bare, "netid": netid, "task": task}


def main() -> None:
    students = int(os.environ.get("BENCH_STUDENTS", STUDENTS_FOR_100K))
    print(f"== reads: GET with a bearer token, {CONNECTIONS} connections, {students:,} generated students "
          f"({machine()}; load: {load_tool()})", flush=True)
    results = {server: measure(server, students) for server in servers()}
    for server, got in results.items():
        ratio, p99 = got["netid"].rps / got["bare"].rps, got["netid"].p99_ms
        verdict = "meets" if ratio >= TARGET_RATIO and p99 < TARGET_P99_MS else "MISSES"
        print(f"  {server:9s} netid reads: {ratio:.0%} of bare Flask (target >= {TARGET_RATIO:.0%}), "
              f"p99 {p99:.1f} ms (target < {TARGET_P99_MS:.0f}): {verdict} the target")
    best = max(results, key=lambda s: results[s]["netid"].rps)
    print(f"  fastest server for the emulator in this run: {best}", flush=True)


if __name__ == "__main__":
    main()
