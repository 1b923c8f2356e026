"""Every built-in scenario over real HTTP, on one shared `python -m mock_api` switched by PUT /_mock/scenario."""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from mock_api.service.scopes import READ, WRITE
from scenario_http import NEW_ID, Api
from support import running_server

pytestmark = pytest.mark.slow  # a real server in a subprocess

FORBIDDEN_WRITE = {"message": f"Forbidden: missing scope {WRITE}", "missing_scopes": [WRITE]}
FORBIDDEN_READ = {"message": f"Forbidden: missing scope {READ}", "missing_scopes": [READ]}


@pytest.fixture(scope="module")
def server() -> Iterator[Api]:
    with running_server() as running:
        yield Api(running.url)


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.mark.lenient("default is the start-up scenario")
def test_default_is_active_and_tasks_take_the_configured_second(server: Api) -> None:
    server.fresh()
    assert server.control("GET", "/scenario").json() == {
        "name": "default", "startup": "default", "source": "built-in",
        "description": "The real API as documented; tasks complete after --task-seconds (default 1 s) of clock time"}
    auth = server.token()
    location = server.submit(auth)
    assert server.get(location, auth).json()["status"] == "accepted"
    server.advance(1)
    task = server.get(location, auth).json()
    assert task["status"] == "complete" and task["message"].startswith("Petition created successfully.")


def test_instant_tasks_complete_on_the_first_poll(server: Api) -> None:
    server.fresh("instant_tasks")
    auth = server.token()
    task = server.get(server.submit(auth), auth).json()
    assert task["status"] == "complete"
    assert task["completed_date"].startswith(task["request_date"].rstrip("Z"))
    assert server.get(f"/api/academic/petitions/{NEW_ID}", auth).status_code == 200


def test_slow_task_stays_accepted_for_30_clock_seconds_without_sleeping(server: Api) -> None:
    server.fresh("slow_tasks")
    auth = server.token()
    location = server.submit(auth)
    server.advance(29.5)
    pending = server.get(location, auth).json()
    assert (pending["status"], pending["path"], pending["message"]) == ("accepted", None, None)
    server.advance(0.5)
    task = server.get(location, auth).json()
    assert task["status"] == "complete"
    assert epoch(task["completed_date"] + "Z") - epoch(task["request_date"]) == pytest.approx(30, abs=1)


def test_failing_tasks_end_with_the_seed_failure_shape_and_write_nothing(server: Api) -> None:
    server.fresh("failing_tasks")
    auth = server.token()
    location = server.submit(auth)
    server.advance(1)
    task = server.get(location, auth).json()
    task_id = location.rsplit("/", 1)[1]
    assert task["status"] == "complete"
    assert task["path"] == f"/academic/petitions/{task_id}"
    assert task["message"] == "Petition did not update successfully. "
    assert server.get(f"/api/academic/petitions/{NEW_ID}", auth).status_code == 404


def test_forbidden_write_refuses_a_full_scope_token_but_still_401s_without_one(server: Api) -> None:
    server.fresh("forbidden_write")
    auth = server.token()
    refused = server.post_petition(auth)
    assert refused.status_code == 403 and refused.json() == FORBIDDEN_WRITE
    assert server.post_petition({}).status_code == 401
    assert server.get("/api/academic/petitions/2907841-Q25-24W=L-APPV", auth).status_code == 200
    assert server.control("GET", "/tasks").json() == []


def test_read_forbidden_refuses_every_read_but_not_writes_or_polls(server: Api) -> None:
    server.fresh("read_forbidden")
    auth = server.token()
    for path in ("/api/academic/petitions", "/api/academic/petitions/",
                 "/api/academic/petitions/2907841-Q25-24W=L-APPV", "/api/students/f0027k4/petitions",
                 "/api/petition_types", "/api/petition_types/Q25"):
        got = server.get(path, auth)
        assert (got.status_code, got.json()) == (403, FORBIDDEN_READ), path
    assert server.get("/api/academic/petitions").status_code == 401
    location = server.submit(auth)
    assert server.get(location, auth).status_code == 200


def test_expired_tokens_refuses_every_bearer_token_but_still_issues_them(server: Api) -> None:
    server.fresh("expired_tokens")
    auth = server.token()  # asserts POST /api/jwt still answers 200
    for got in (server.get("/api/academic/petitions", auth), server.post_petition(auth),
                server.get("/api/tasks/673e4c82185254cacb8d2967", auth)):
        assert (got.status_code, got.json()) == (401, {"message": "Unauthorized"})


def _statuses(server: Api, auth: dict[str, str], count: int) -> list[int]:
    return [server.get("/api/petition_types/Q25", auth).status_code for _ in range(count)]


def test_flaky_fails_a_seeded_fraction_the_same_way_after_each_reset(server: Api) -> None:
    server.fresh()
    auth = server.token()
    server.fresh("flaky")
    first = _statuses(server, auth, 60)
    assert set(first) <= {200, 500, 502, 503}
    assert 5 <= sum(s != 200 for s in first) <= 25
    assert len(set(first) - {200}) >= 2
    server.fresh("flaky")
    assert _statuses(server, auth, 60) == first


def test_flaky_tasks_can_404_only_in_their_first_two_seconds(server: Api) -> None:
    server.fresh()
    auth = server.token()
    location = server.submit(auth)
    server.control("PUT", "/scenario", {"name": "flaky"})
    young = [server.get(location, auth).status_code for _ in range(30)]
    assert 404 in young and 200 in young
    server.advance(2)
    old = [server.get(location, auth).status_code for _ in range(30)]
    assert 404 not in old and 200 in old


def test_latency_delays_api_responses_in_real_time(server: Api) -> None:
    server.fresh("latency")
    for _ in range(3):
        started = time.monotonic()
        assert server.get("/api/petition_types/Q25", server.token()).status_code == 200
        # Two delayed calls (token and read), each at least the scenario's 50 ms minimum.
        assert time.monotonic() - started >= 0.1


def test_stale_cache_hides_a_new_petition_until_the_next_hourly_refresh(server: Api) -> None:
    server.fresh("stale_cache")
    auth = server.token()
    location = server.submit(auth)
    server.advance(1)
    task = server.get(location, auth).json()
    assert task["message"].startswith("Petition created successfully.")
    assert server.get(f"/api/academic/petitions/{NEW_ID}", auth).status_code == 404
    assert server.get("/api/academic/petitions", auth, params={"netid": "f006s0b"}).json() == []
    server.advance(3600)
    record = server.get(f"/api/academic/petitions/{NEW_ID}", auth).json()
    assert record["netid"] == "f006s0b"
    assert epoch(record["cache_date"]) > epoch(task["completed_date"] + "Z")
    assert [r["id"] for r in server.get("/api/students/f006s0b/petitions", auth).json()] == [NEW_ID]


def test_unavailable_answers_503_everywhere_but_the_control_api(server: Api) -> None:
    server.fresh("unavailable")
    for got in (requests.post(f"{server.base}/api/jwt", headers={"Authorization": "dev-readwrite"}, timeout=10),
                server.get("/api/academic/petitions"), server.get("/no/such/path")):
        assert (got.status_code, got.json()) == (503, {"detail": "Service Unavailable"})
    assert server.control("GET", "/health").status_code == 200
    assert server.control("PUT", "/scenario", {"name": "default"}).status_code == 200
    assert server.get("/api/academic/petitions").status_code == 401


def test_broken_connections_produce_each_fault_and_the_server_survives(server: Api) -> None:
    server.fresh()
    auth = server.token()
    server.fresh("broken_connections")
    seen: dict[str, int] = {}
    for _ in range(60):
        try:
            got = server.get("/api/petition_types/Q25", auth)
            got.json()
            seen["ok"] = seen.get("ok", 0) + 1
        except requests.exceptions.ChunkedEncodingError:
            seen["truncated"] = seen.get("truncated", 0) + 1
        except requests.exceptions.ConnectionError as exc:
            kind = "reset" if "reset by peer" in str(exc) else "empty"
            seen[kind] = seen.get(kind, 0) + 1
    assert set(seen) == {"ok", "reset", "empty", "truncated"}, seen
    faults = [e["fault"] for e in server.control("GET", "/requests").json() if e["fault"]]
    assert sorted(set(faults)) == ["empty", "reset", "truncated"]
    assert len(faults) == 60 - seen["ok"]
