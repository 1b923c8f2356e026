"""The core of the control API: health, reset after writes, the clock, the journal, the task list."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.service.dataset import Dataset
from mock_api.state import MockState
from support import SEED_PAYLOAD, bearer, submit, token_for


def test_health(client: FlaskClient) -> None:
    response = client.get("/_mock/health")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def test_reset_restores_fixture_state_after_writes(client: FlaskClient, rw: dict[str, str], state: MockState) -> None:
    before = client.get("/api/academic/petitions", headers=rw, query_string={"pagesize": 1000}).get_json()
    location = submit(client, rw, SEED_PAYLOAD)
    state.clock.advance(1)
    assert client.get("/api/students/f006s0b/petitions", headers=rw).get_json() != []
    assert client.post("/_mock/reset").get_json() == {"status": "reset"}
    rw = bearer(token_for(client))
    assert client.get("/api/academic/petitions", headers=rw, query_string={"pagesize": 1000}).get_json() == before
    assert client.get(location, headers=rw).status_code == 404
    assert client.get("/_mock/tasks").get_json() == []
    journal = [e["path"] for e in client.get("/_mock/requests").get_json()]
    assert journal == ["/api/jwt", "/api/academic/petitions", location]  # only what came after the reset
    # The id sequence restarts: the same calls after reset give the same ids.
    assert submit(client, rw, SEED_PAYLOAD) == location


def test_reset_restores_the_start_up_clock(client: FlaskClient, state: MockState) -> None:
    start = client.get("/_mock/clock").get_json()
    client.post("/_mock/clock/advance", json={"seconds": 500})
    client.post("/_mock/reset")
    assert client.get("/_mock/clock").get_json() == start


def test_clock_advance_freeze_unfreeze(client: FlaskClient) -> None:
    start = client.get("/_mock/clock").get_json()
    assert start == {"now": "2024-11-20T19:30:53.000000Z", "epoch": 1732131053.0, "frozen": True}
    moved = client.post("/_mock/clock/advance", json={"seconds": 30.5}).get_json()
    assert moved == {"now": "2024-11-20T19:31:23.500000Z", "epoch": 1732131083.5, "frozen": True}
    running = client.post("/_mock/clock/unfreeze").get_json()
    assert running["frozen"] is False and running["epoch"] >= 1732131083.5
    frozen = client.post("/_mock/clock/freeze").get_json()
    assert frozen["frozen"] is True
    assert client.get("/_mock/clock").get_json() == frozen


@pytest.mark.parametrize("body", [{"seconds": -1}, {"seconds": "5"}, {"seconds": True}, {}, [], {"seconds": None}])
def test_clock_advance_refuses_bad_bodies(client: FlaskClient, body: object) -> None:
    response = client.post("/_mock/clock/advance", json=body)
    assert response.status_code == 400
    assert response.get_json() == {"detail": 'body must be {"seconds": N} with N a number >= 0'}
    assert client.get("/_mock/clock").get_json()["epoch"] == 1732131053.0


def test_control_mutations_are_post_only(client: FlaskClient) -> None:
    for path in ("/_mock/reset", "/_mock/clock/advance", "/_mock/clock/freeze", "/_mock/clock/unfreeze"):
        assert client.get(path).status_code == 405
    assert client.post("/_mock/requests").status_code == 405


def test_journal_records_requests_without_secrets(client: FlaskClient, rw: dict[str, str]) -> None:
    client.post("/api/academic/petitions?x=1&x=2", headers=rw, json={"petition": SEED_PAYLOAD})
    entries = client.get("/_mock/requests").get_json()
    assert [e["path"] for e in entries] == ["/api/jwt", "/api/academic/petitions"]
    jwt_call, post = entries
    assert jwt_call["headers"]["Authorization"] == "***"
    assert post["headers"]["Authorization"] == "Bearer ***"
    assert rw["Authorization"].split()[1] not in str(entries)
    assert (post["method"], post["query"], post["status"], post["seq"]) == ("POST", {"x": ["1", "2"]}, 202, 2)
    assert post["body"] == '{"petition": {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", ' \
        '"school": "UG", "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}}'
    assert post["time"] == "2024-11-20T19:30:53.000000Z"
    assert client.get("/_mock/requests").get_json() == entries  # control calls are not journaled


def test_control_api_can_be_turned_off(dataset: Dataset) -> None:
    app = create_app(state=MockState(MockConfig(control_api=False), dataset=dataset))
    response = app.test_client().post("/_mock/reset")
    assert (response.status_code, response.get_json()) == (404, {"detail": "Not Found"})


def test_clock_stops_where_object_ids_still_work(client: FlaskClient, rw: dict[str, str]) -> None:
    # ObjectIds hold the time in 4 bytes (until 2106-02-07): the clock may go to 2100, not past it.
    too_far = client.post("/_mock/clock/advance", json={"seconds": 3_000_000_000})
    assert (too_far.status_code, too_far.get_json()) == (
        400, {"detail": "the clock cannot be advanced past 2100-01-01T00:00:00Z"})
    to_the_limit = 4_102_444_800 - 1732131053 - 1  # a second before 2100-01-01, from the frozen start
    assert client.post("/_mock/clock/advance", json={"seconds": to_the_limit}).status_code == 200
    headers = bearer(token_for(client))
    location = client.post("/api/academic/petitions", headers=headers, json={"petition": {
        **SEED_PAYLOAD, "decision": "LATE"}}).headers["Location"]
    client.post("/_mock/clock/advance", json={"seconds": 1})
    task = client.get(location, headers=headers).get_json()
    assert (task["status"], task["completed_date"]) == ("complete", "2100-01-01T00:00:00.000000")
    assert task["message"].startswith("Petition created successfully.")
