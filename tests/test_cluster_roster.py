"""The supervisor's control app and its delete over fake workers: shapes, statuses, the order of answers."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_api.cluster.supervisor import Cluster, front_hosts
from mock_api.config import VERSION
from mock_api.contract.spec import check_response
from mock_api.http.roster import WorkerView, create_roster_app

SESSION = {"name": "s1", "created": "2026-12-07T06:00:00.000000Z", "last_used": "2026-12-07T06:00:01.000000Z",
           "requests": 3, "tasks": 1}
REFUSED = {"detail": "X-Mock-Control-Token is missing or wrong"}
UNUSED_DEFAULT = {**SESSION, "name": "default", "requests": 0, "tasks": 0}


class Roster:
    def __init__(self, workers: list[WorkerView]) -> None:
        self.workers = workers
        self.ended: list[str] = []

    def snapshot(self) -> list[WorkerView]:
        return self.workers

    def end(self, name: str) -> tuple[int, dict[str, Any]]:
        self.ended.append(name)
        return 200, {"status": "ended", "name": name}


def client(workers: list[WorkerView], token: str | None = None) -> FlaskClient:
    return create_roster_app(Roster(workers), token).test_client()


def test_the_cluster_view_is_200_when_all_are_up_and_503_with_the_same_shape_otherwise() -> None:
    up = WorkerView(4001, 11, True, 0, [UNUSED_DEFAULT, SESSION])
    got = client([up]).get("/_mock/cluster")
    assert (got.status_code, got.get_data(as_text=True)) == (200, (
        '{"workers":[{"port":4001,"pid":11,"up":true,"restarts":0,"sessions":[{"name":"default","requests":0},'
        '{"name":"s1","requests":3}]}]}'))
    down = client([up, WorkerView(4002, 12, False, 2)]).get("/_mock/cluster")
    assert down.status_code == 503 and down.content_type == "application/json"
    assert down.get_json()["workers"][1] == {"port": 4002, "pid": 12, "up": False, "restarts": 2, "sessions": []}


@pytest.mark.parametrize("path", ["/_mock/cluster", "/_mock/health", "/_mock/sessions", "/_mock/nothing"])
def test_every_answer_says_nosniff_and_another_sites_origin_is_a_403(path: str) -> None:
    roster = client([WorkerView(4001, 11, True, 0)])
    own = roster.get(path, headers={"Origin": "http://localhost"})  # the test client's Host is localhost
    assert own.status_code in (200, 404) and own.headers["X-Content-Type-Options"] == "nosniff"
    got = roster.delete("/_mock/sessions/s1", headers={"Origin": "https://evil.example"})
    assert (got.status_code, got.get_json()) == (403, {
        "detail": "Origin 'https://evil.example' may not call the control API: only this server's own pages may"})
    assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_the_processes_behind_a_loopback_front_answer_its_address_and_behind_any_other_any_host() -> None:
    assert front_hosts("127.0.0.2", True) == ("127.0.0.2",) and front_hosts("::1", True) == ("[::1]",)
    assert front_hosts("0.0.0.0", False) == ("*",)
    args = argparse.Namespace(workers=1, no_control=False, control_token=None, allowed_host=["mock.test"])
    made = Cluster(args, ["--quiet"], "/usr/sbin/nginx", Path("/nonexistent"), ("*",))
    assert made.hosts == ("mock.test", "*") and made.workers[0].options == ["--quiet", "--allowed-host=*"]


def test_health_names_the_down_ports() -> None:
    workers = [WorkerView(4001, 11, True, 0), WorkerView(4002, 12, False, 1), WorkerView(4003, 13, False, 0)]
    got = client(workers).get("/_mock/health")
    assert (got.status_code, got.get_json()) == (503, {"status": "degraded", "version": VERSION, "workers": 3,
                                                       "down": [4002, 4003]})
    fine = client(workers[:1]).get("/_mock/health")
    assert (fine.status_code, fine.get_json()) == (200, {"status": "ok", "version": VERSION, "workers": 1,
                                                         "down": []})
    for answer in (got, fine):  # openapi.yaml's ClusterHealth, one of /_mock/health's shapes
        assert check_response("GET", "/_mock/health", answer.status_code, dict(answer.headers.items()),
                              answer.get_data()) == []


def test_the_sessions_of_every_process_with_their_port_and_only_a_used_default() -> None:
    used_default = {**UNUSED_DEFAULT, "requests": 5}
    got = client([WorkerView(4001, 11, True, 0, [UNUSED_DEFAULT, SESSION]),
                  WorkerView(4002, 12, True, 0, [used_default])]).get("/_mock/sessions")
    assert got.get_json() == [{**SESSION, "port": 4001}, {**used_default, "port": 4002}]
    assert list(got.get_json()[0]) == ["name", "created", "last_used", "requests", "tasks", "port"]
    partial = client([WorkerView(4001, 11, True, 0, [SESSION]), WorkerView(4002, 12, False, 1)]).get("/_mock/sessions")
    assert (partial.status_code, partial.get_json()) == (503, {
        "detail": "not every process answers (down: ports [4002]): their sessions cannot be listed"})


def test_a_delete_goes_to_the_roster_and_its_answer_back() -> None:
    roster = Roster([])
    got = create_roster_app(roster, None).test_client().delete("/_mock/sessions/s-2")
    assert (got.status_code, got.get_json(), roster.ended) == (200, {"status": "ended", "name": "s-2"}, ["s-2"])


def test_its_paths_are_guarded_by_the_control_token_and_others_are_json_errors() -> None:
    api = client([WorkerView(4001, 11, True, 0)], token="t")
    for method, path in (("GET", "/_mock/cluster"), ("GET", "/_mock/sessions"), ("DELETE", "/_mock/sessions/a")):
        refused = api.open(path, method=method)
        assert (refused.status_code, refused.get_json()) == (401, REFUSED)
    assert api.get("/_mock/cluster", headers={"X-Mock-Control-Token": "t"}).status_code == 200
    open_api = client([])
    assert (open_api.post("/_mock/cluster").status_code, open_api.post("/_mock/cluster").get_json()) == (
        405, {"detail": "Method Not Allowed"})
    assert open_api.get("/_mock/elsewhere").get_json() == {"detail": "Not Found"}


@dataclass
class FakeWorker:
    """A worker's answers to DELETE /_mock/sessions/{name}: None when it does not answer."""

    port: int
    answers: dict[str, tuple[int, Any] | None]

    def ask(self, method: str, path: str) -> tuple[int, Any] | None:
        assert method == "DELETE"
        return self.answers.get(path.rsplit("/", 1)[1], (404, {"detail": "no session named ..."}))


def cluster(*workers: FakeWorker) -> Cluster:
    args = argparse.Namespace(workers=len(workers), no_control=False, control_token=None, allowed_host=[])
    made = Cluster(args, [], "/usr/sbin/nginx", Path("/nonexistent"))
    made.workers = list(workers)  # type: ignore[arg-type]
    return made


KEPT = (400, {"detail": "the default session cannot be ended; POST /_mock/reset resets it"})
ENDED = (200, {"status": "ended", "name": "default"})


@pytest.mark.parametrize(("first", "second", "expected"), [
    ({"default": KEPT}, {"default": ENDED}, ENDED),  # a lost default on the second process is ended
    ({"default": KEPT}, {"default": KEPT}, KEPT),
    ({}, {}, (404, {"detail": "no session named 'x'"})),
    ({"x": None}, {}, (503, {"detail": "no process that is up holds session 'x'; down: ports [4001]"})),
    ({"x": None}, {"x": (400, {"detail": "bad"})}, (400, {"detail": "bad"})),
])
def test_a_delete_is_asked_of_every_process_and_a_200_wins(first: dict[str, Any], second: dict[str, Any],
                                                           expected: tuple[int, Any]) -> None:
    name = next(iter(first), next(iter(second), "x"))
    assert cluster(FakeWorker(4001, first), FakeWorker(4002, second)).end(name) == expected
