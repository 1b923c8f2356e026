"""Rules that target and count, over real HTTP: the four built-ins, counters under 32 threads, reset."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from mock_api.service.scopes import READ
from scenario_http import NEW_PETITION, TIMEOUT, Api
from support import running_server

pytestmark = pytest.mark.slow  # a real server in a subprocess

NOT_FOUND = {"detail": "Not Found"}
UNAVAILABLE = {"detail": "Service Unavailable"}
THROTTLED = {"detail": "Too Many Requests"}
# The portal's example student, with fields the worker accepts (the same as NEW_PETITION's but the netid).
KDF_PETITION = {**NEW_PETITION, "netid": "f006kdf"}
FAILURE_MESSAGE = "Petition did not update successfully. "
# Rules for the tests of user files, under the server's --scenarios-dir.
USER_FILES = {
    "five_times": [{"match": {"method": "GET", "path": "/api/petition_types"}, "times": 5,
                    "effects": [{"respond": 503}]}],
    "post_counts_for_its_task": [{"match": {"method": ["POST", "GET"], "path": ["/api/academic/petitions",
                                                                                 "/api/tasks/*"]},
                                  "per": "task", "after": 1, "times": 1, "effects": [{"respond": 404}]}],
    "last_query_value": [{"match": {"path": "/api/petition_types", "query": {"code": "Q4?"}},
                          "effects": [{"respond": 418}]}],
    "for_good": [{"match": {"path": "/api/**"}, "per": "token", "after": 1,
                  "effects": [{"throttle_for_good": {"retry_after": 2}}]}],
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenarios")
    for name, rules in USER_FILES.items():
        (path / f"{name}.yaml").write_text(yaml.safe_dump({"name": name, "description": "test", "rules": rules}),
                                           encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[Api]:
    with running_server("--scenarios-dir", str(folder)) as running:
        yield Api(running.url)


def outcome(got: requests.Response) -> tuple[int, object]:
    return got.status_code, got.json()


def completed(server: Api, location: str, auth: dict[str, str]) -> dict[str, object]:
    server.advance(1)
    task = server.get(location, auth).json()
    assert task["status"] == "complete"
    return dict(task)


def test_retry_then_succeed_503s_each_clients_first_post_only(server: Api) -> None:
    server.fresh("retry_then_succeed")
    writer, reader = server.token(), server.token("dev-readonly", (READ,))
    assert server.post_petition({}).status_code == 401  # no valid token: not counted
    assert outcome(server.post_petition(writer)) == (503, UNAVAILABLE)
    assert server.control("GET", "/tasks").json() == []  # the 503 queued nothing
    retried = server.post_petition(writer)
    assert (retried.status_code, retried.json()) == (202, {"status": "accepted"})
    assert server.post_petition(writer).status_code == 202
    # Another client's first POST is its own first: 503, then its retry answers as usual (403: no write scope).
    assert outcome(server.post_petition(reader)) == (503, UNAVAILABLE)
    assert server.post_petition(reader).status_code == 403
    assert len(server.control("GET", "/tasks").json()) == 2
    assert completed(server, retried.headers["Location"], writer)["message"] != FAILURE_MESSAGE


def test_first_poll_not_found_404s_each_tasks_first_poll(server: Api) -> None:
    server.fresh("first_poll_not_found")
    auth = server.token()
    first, second = server.submit(auth), server.submit(auth)
    assert outcome(server.get(first, auth)) == (404, NOT_FOUND)
    assert server.get(first, auth).json()["status"] == "accepted"
    assert outcome(server.get(second, auth)) == (404, NOT_FOUND)
    assert server.get(second, auth).status_code == 200
    assert str(completed(server, first, auth)["message"]).startswith("Petition created successfully.")


def test_one_student_fails_fails_f006kdf_only_wrapped_or_not(server: Api) -> None:
    server.fresh("one_student_fails")
    auth = server.token()
    failing = [server.submit_body(auth, {"petition": KDF_PETITION}), server.submit_body(auth, KDF_PETITION)]
    passing = server.submit(auth)
    # The same payload without the scenario (this request only) succeeds: the scenario is what fails it.
    control = server.submit_body(auth, {"petition": KDF_PETITION}, {"X-Mock-Scenario": "default"})
    for location in failing:
        task = completed(server, location, auth)
        assert (task["path"], task["message"]) == (f"/academic/petitions/{location.rsplit('/', 1)[1]}",
                                                   FAILURE_MESSAGE)
    for location in (passing, control):
        assert str(completed(server, location, auth)["message"]).startswith("Petition created successfully.")


def test_throttled_is_a_rate_limit_whose_retry_after_comes_true(server: Api) -> None:
    server.fresh("throttled")  # the clock frozen: the window moves only when the test advances it
    writer, reader = server.token(), server.token("dev-readonly", (READ,))
    assert [server.get("/api/petition_types/Q25", writer).status_code for _ in range(10)] == [200] * 10
    throttled = server.get("/api/petition_types/Q25", writer)
    assert outcome(throttled) == (429, THROTTLED)
    assert throttled.headers["Retry-After"] == "10"  # the whole window is left: no clock time has passed
    assert server.get("/api/petition_types/Q25", reader).status_code == 200  # another client: its own window
    assert server.get("/api/petition_types/Q25").status_code == 401  # no token: never counted, never throttled
    server.advance(6.5)
    again = server.post_petition(writer)
    assert (outcome(again), again.headers["Retry-After"]) == ((429, THROTTLED), "4")  # 3.5 s left, rounded up
    server.advance(float(again.headers["Retry-After"]))  # a client that waits as told...
    assert [server.get("/api/petition_types/Q25", writer).status_code for _ in range(11)] == [200] * 10 + [429]


def test_throttle_for_good_never_clears(server: Api, folder: Path) -> None:
    server.fresh(str(folder / "for_good.yaml"))
    auth = server.token()
    assert server.get("/api/petition_types/Q25", auth).status_code == 200
    for _ in range(2):
        refused = server.get("/api/petition_types/Q25", auth)
        assert (outcome(refused), refused.headers["Retry-After"]) == ((429, THROTTLED), "2")
        server.advance(3600)


def test_reset_starts_every_count_again(server: Api) -> None:
    server.fresh()
    auth = {**server.token(), "X-Mock-Scenario": "throttled"}  # counted under throttled, one request at a time
    statuses = [server.get("/api/petition_types/Q25", auth).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    assert server.control("POST", "/reset").status_code == 200
    auth = {**server.token(), "X-Mock-Scenario": "throttled"}
    assert server.get("/api/petition_types/Q25", auth).status_code == 200


def test_32_threads_meet_a_times_5_rule_exactly_5_times(server: Api, folder: Path) -> None:
    server.fresh(str(folder / "five_times.yaml"))
    auth = server.token()
    start = threading.Barrier(32, timeout=TIMEOUT)

    def one(_: int) -> int:
        start.wait()
        return server.get("/api/petition_types", auth).status_code
    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(one, range(32)))
    assert sorted(statuses) == [200] * 27 + [503] * 5


def test_per_task_counts_the_post_for_the_task_it_creates(server: Api, folder: Path) -> None:
    server.fresh(str(folder / "post_counts_for_its_task.yaml"))
    auth = server.token()
    location = server.submit(auth)  # the task's 1st counted request: let through (after: 1)
    assert outcome(server.get(location, auth)) == (404, NOT_FOUND)  # its 2nd
    assert server.get(location, auth).status_code == 200  # its 3rd: past times
    other = server.submit(auth)
    assert server.get(other, auth).status_code == 404


def test_a_repeated_query_parameter_is_matched_by_its_last_value(server: Api, folder: Path) -> None:
    server.fresh(str(folder / "last_query_value.yaml"))
    auth = server.token()
    assert server.get("/api/petition_types", auth, params=[("code", "Q41"), ("code", "x")]).status_code == 200
    assert server.get("/api/petition_types", auth, params=[("code", "x"), ("code", "Q41")]).status_code == 418
