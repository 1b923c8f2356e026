"""POST petitions and task polling: the seed's accepted, successful and failed task shapes, exactly."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from support import SEED_PAYLOAD, bearer, post, submit, token_for

TASK_FIELDS = ["resource", "action", "resource_id", "payload", "requester", "status", "request_date",
               "completed_date", "path", "worker_data", "id", "message"]
REQUESTER = {"sub": "f0057pn", "name": "DPLAN API", "email": "DPLAN.API@dartmouth.edu",
             "scope": f"{READ},{WRITE}", "exp": "1732141853", "iat": "1732131053"}


def test_post_is_202_accepted_with_a_task_location(client: FlaskClient, rw: dict[str, str]) -> None:
    response = post(client, rw, {"petition": SEED_PAYLOAD})
    assert response.status_code == 202
    assert response.get_json() == {"status": "accepted"}
    assert re.fullmatch(r"/api/tasks/[0-9a-f]{24}", response.headers["Location"])


def test_incomplete_task_has_the_seed_shape(client: FlaskClient, rw: dict[str, str]) -> None:
    location = submit(client, rw, SEED_PAYLOAD)
    task = client.get(location, headers=rw).get_json()
    assert list(task) == TASK_FIELDS
    assert task == {
        "resource": "academic.petitions", "action": "POST", "resource_id": None,
        "payload": {**SEED_PAYLOAD, "user_netid": "F006S0B"}, "requester": REQUESTER, "status": "accepted",
        "request_date": "2024-11-20T19:30:53Z", "completed_date": None, "path": None, "worker_data": {},
        "id": location.rsplit("/", 1)[1], "message": None}
    assert list(task["payload"]) == list(SEED_PAYLOAD) and list(task["requester"]) == list(REQUESTER)


def test_successful_task_has_the_seed_shape(client: FlaskClient, rw: dict[str, str], state: MockState) -> None:
    location = submit(client, rw, SEED_PAYLOAD)
    state.clock.advance(1.0)
    task = client.get(location, headers=rw).get_json()
    assert list(task) == TASK_FIELDS
    mongo_id = task["path"].rsplit("/", 1)[1]
    assert re.fullmatch(r"[0-9a-f]{24}", mongo_id) and mongo_id != task["id"]
    assert task["path"] == f"/academic/petitions/{mongo_id}"
    assert task["message"] == f"Petition created successfully. mongo id {mongo_id} "
    assert task["status"] == "complete"
    assert task["request_date"] == "2024-11-20T19:30:53Z"
    assert task["completed_date"] == "2024-11-20T19:30:54.000000"
    assert (task["resource_id"], task["worker_data"]) == (None, {})


def test_task_completes_after_one_second_of_clock_time(client: FlaskClient, rw: dict[str, str],
                                                       state: MockState) -> None:
    location = submit(client, rw, SEED_PAYLOAD)
    state.clock.advance(0.999)
    assert client.get(location, headers=rw).get_json()["status"] == "accepted"
    state.clock.advance(0.001)
    assert client.get(location, headers=rw).get_json()["status"] == "complete"


def test_new_petition_is_readable_everywhere(client: FlaskClient, rw: dict[str, str], state: MockState) -> None:
    location = submit(client, rw, SEED_PAYLOAD)
    state.clock.advance(1)
    path = client.get(location, headers=rw).get_json()["path"]
    expected = {"id": "2911310-Q41-24W-2023-2024", "netid": "f006s0b", "petition_code": "Q41",
                "petition_name": "Individual Degree Plan", "origin_code": "UREG", "origin_name": "UG - Registrar",
                "school": "UG", "decision": "2023-2024", "grade_term": "24W",
                "effective_date": "2024-11-20T05:00:00Z", "cache_date": "2024-11-20T19:30:54Z"}
    assert client.get(f"/api{path}", headers=rw).get_json() == expected
    assert client.get(f"/api/academic/petitions/{expected['id']}", headers=rw).get_json() == expected
    assert client.get("/api/students/f006s0b/petitions", headers=rw).get_json() == [expected]
    assert client.get("/api/academic/petitions", query_string={"netid": "f006s0b"}, headers=rw).get_json() == [expected]


def test_petition_is_written_even_if_nobody_polls(client: FlaskClient, rw: dict[str, str], state: MockState) -> None:
    submit(client, rw, SEED_PAYLOAD)
    state.clock.advance(2)
    assert len(client.get("/api/students/f006s0b/petitions", headers=rw).get_json()) == 1


def failed_shape(task: dict[str, Any]) -> None:
    assert list(task) == TASK_FIELDS
    assert task["status"] == "complete"
    assert task["path"] == f"/academic/petitions/{task['id']}"
    assert task["message"] == "Petition did not update successfully. "
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", task["completed_date"])


BAD_PAYLOADS = {
    "missing field": {k: v for k, v in SEED_PAYLOAD.items() if k != "school"},
    "unknown student": {**SEED_PAYLOAD, "netid": "f00zzzz"},
    "not a petition code": {**SEED_PAYLOAD, "petition_code": "A05"},
    "unknown code": {**SEED_PAYLOAD, "petition_code": "Q99"},
    "unknown origin": {**SEED_PAYLOAD, "origin_code": "NOPE"},
    "unknown school": {**SEED_PAYLOAD, "school": "XX"},
    "number for string": {**SEED_PAYLOAD, "decision": 5},
    "empty string": {**SEED_PAYLOAD, "user_netid": ""},
    "decision too long": {**SEED_PAYLOAD, "decision": "X" * 31},
    "duplicate of a fixture": {**SEED_PAYLOAD, "netid": "f0027k4", "petition_code": "Q25", "decision": "APPV",
                               "grade_term": "24W=L"},
    "a list": [1, 2],
    "a string": "petition",
}


@pytest.mark.parametrize("name", list(BAD_PAYLOADS))
def test_bad_payload_is_accepted_then_the_task_fails(client: FlaskClient, rw: dict[str, str], state: MockState,
                                                     name: str) -> None:
    before = client.get("/api/academic/petitions", headers=rw).headers["X-Count"]
    location = submit(client, rw, BAD_PAYLOADS[name])
    state.clock.advance(1)
    failed_shape(client.get(location, headers=rw).get_json())
    assert client.get("/api/academic/petitions", headers=rw).headers["X-Count"] == before


def test_body_without_petition_wrapper_is_the_payload_and_fails(client: FlaskClient, rw: dict[str, str],
                                                                 state: MockState) -> None:
    response = post(client, rw, SEED_PAYLOAD)
    assert response.status_code == 202
    state.clock.advance(1)
    task = client.get(response.headers["Location"], headers=rw).get_json()
    assert task["payload"] == {**SEED_PAYLOAD, "user_netid": "F006S0B"}  # unwrapped form is what was sent
    assert task["status"] == "complete"


def test_second_identical_post_fails_as_a_duplicate(client: FlaskClient, rw: dict[str, str], state: MockState) -> None:
    first, second = submit(client, rw, SEED_PAYLOAD), submit(client, rw, SEED_PAYLOAD)
    state.clock.advance(1)
    assert client.get(first, headers=rw).get_json()["message"].startswith("Petition created successfully.")
    failed_shape(client.get(second, headers=rw).get_json())
    assert len(client.get("/api/students/f006s0b/petitions", headers=rw).get_json()) == 1


def test_control_api_says_why_a_task_failed(client: FlaskClient, rw: dict[str, str], state: MockState) -> None:
    submit(client, rw, BAD_PAYLOADS["unknown school"])
    state.clock.advance(1)
    [task] = client.get("/_mock/tasks").get_json()
    assert task["failure_reason"] == "unknown school 'XX'"


def test_write_needs_the_write_scope(client: FlaskClient, ro: dict[str, str]) -> None:
    response = post(client, ro, {"petition": SEED_PAYLOAD})
    assert response.status_code == 403
    assert client.get("/_mock/tasks").get_json() == []


@pytest.mark.parametrize(("kwargs", "status", "detail"), [
    ({"data": "{not json", "content_type": "application/json"}, 400, "Request body is not valid JSON"),
    ({"data": b"\xff\xfe{}", "content_type": "application/json"}, 400, "Request body is not valid JSON"),
    ({"data": "", "content_type": "application/json"}, 400, "Request body is not valid JSON"),
    ({"data": "[" * 100000 + "]" * 100000, "content_type": "application/json"}, 400, "Request body is not valid JSON"),
    ({"data": '{"petition": {}}', "content_type": "text/plain"}, 415, "Content-Type must be application/json"),
    ({"data": '{"petition": {}}'}, 415, "Content-Type must be application/json"),
    ({"data": "x" * (1024 * 1024 + 1), "content_type": "application/json"}, 413,
     "Request body is larger than 1048576 bytes"),
])
def test_unparseable_bodies_are_refused_and_queue_nothing(client: FlaskClient, rw: dict[str, str], kwargs: Any,
                                                          status: int, detail: str) -> None:
    response = post(client, rw, **kwargs)
    assert (response.status_code, response.get_json()) == (status, {"detail": detail})
    assert client.get("/_mock/tasks").get_json() == []


def test_json_with_charset_is_accepted(client: FlaskClient, rw: dict[str, str]) -> None:
    response = post(client, rw, data='{"petition": {}}', content_type="application/json; charset=utf-8")
    assert response.status_code == 202


def test_tasks_are_the_requesters_own(client: FlaskClient, rw: dict[str, str]) -> None:
    location = submit(client, rw, SEED_PAYLOAD)
    other = bearer(token_for(client, "dev-readonly", (READ,)))
    no_scope = bearer(token_for(client, "dev-noscopes", ()))
    assert client.get(location, headers=other).status_code == 404
    assert client.get(location, headers=rw).status_code == 200
    # Polling needs a valid token but no scope.
    rw_no_scope = bearer(token_for(client, "dev-readwrite", ()))
    assert client.get(location, headers=rw_no_scope).status_code == 200
    assert client.get(location, headers=no_scope).status_code == 404
    assert client.get(location).status_code == 401


@pytest.mark.parametrize("task_id", ["673e4c82185254cacb8d2967", "nothex", "673e4c82185254cacb8d296",
                                     "673E4C82185254CACB8D2967Z", "0" * 24])
def test_unknown_or_malformed_task_is_404(client: FlaskClient, rw: dict[str, str], task_id: str) -> None:
    response = client.get(f"/api/tasks/{task_id}", headers=rw)
    assert (response.status_code, response.get_json()) == (404, {"detail": "Not Found"})


def test_each_task_completes_exactly_once(client: FlaskClient, rw: dict[str, str], state: MockState) -> None:
    locations = [submit(client, rw, {**SEED_PAYLOAD, "decision": f"D{i}"}) for i in range(20)]
    state.clock.advance(1)
    first = [client.get(loc, headers=rw).get_json() for loc in locations]
    state.clock.advance(60)
    again = [client.get(loc, headers=rw).get_json() for loc in locations]
    assert first == again
    assert len({t["path"] for t in first}) == 20
    assert len(client.get("/api/students/f006s0b/petitions", headers=rw).get_json()) == 20


def test_a_held_task_shows_any_json_payload_as_posted_in_the_poll_and_the_control_api(
        client: FlaskClient, rw: dict[str, str], state: MockState) -> None:
    # A completed task is held as its JSON and an accepted one as its parts (service/tasks.py): the poll's
    # bytes, the control API's listing and the Python task must still give back every value as posted.
    body = ('{"petition":{"netid":"f006s0b","extra":{"b":[1,2.0,-0.0,true,null,"\\u00e9\\u2603\\ud83d\\ude00"],'
            '"a":18446744073709551617,"e":{}},"z":1e300,"list":[[],{"k":"v"}]}}')
    response = client.post("/api/academic/petitions", headers=rw, data=body, content_type="application/json")
    location = response.headers["Location"]
    task_id = location.rsplit("/", 1)[1]
    payload = {"netid": "f006s0b", "extra": {"b": [1, 2.0, -0.0, True, None, "é☃😀"], "a": 18446744073709551617,
                                             "e": {}}, "z": 1e300, "list": [[], {"k": "v"}]}
    expected = {"resource": "academic.petitions", "action": "POST", "resource_id": None, "payload": payload,
                "requester": REQUESTER, "status": "accepted", "request_date": "2024-11-20T19:30:53Z",
                "completed_date": None, "path": None, "worker_data": {}, "id": task_id, "message": None}

    def wire(value: Any) -> bytes:  # Starlette's JSONResponse: compact, UTF-8, no trailing newline
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()

    assert client.get(location, headers=rw).get_data() == wire(expected)
    state.clock.advance(1)
    expected.update(status="complete", completed_date="2024-11-20T19:30:54.000000",
                    path=f"/academic/petitions/{task_id}", message="Petition did not update successfully. ")
    polled = client.get(location, headers=rw).get_data()
    assert polled == wire(expected) and polled == client.get(location, headers=rw).get_data()
    reason = "missing fields: petition_code, origin_code, school, decision, grade_term, user_netid"
    listed = {**expected, "failure_reason": reason, "due_in_seconds": 0.0}
    for page in (client.get("/_mock/tasks"), client.get("/_mock/tasks?tail=1")):
        [task] = page.get_json()
        assert task == listed and list(task) == list(listed) and list(task["payload"]) == list(payload)
        assert [type(v) for v in task["payload"]["extra"]["b"]] == [int, float, float, bool, type(None), str]
    held = state.backend.task(task_id, state.clock.now())
    assert held == expected and wire(held) == wire(expected)



@pytest.mark.parametrize("names", [(1, True), (1.0, 1), (0.0, -0.0), (False, 0)])
def test_each_task_shows_its_own_tokens_claims_even_when_they_compare_equal(
        state: MockState, names: tuple[object, object]) -> None:
    # Tasks share one requester dict per token (backend._requester); a hand-made token may carry any JSON
    # claim, and values Python finds equal (1 == 1.0 == True, 0.0 == -0.0) are still different claims.
    backend = state.backend
    for name in names:
        claims = {"sub": "f0057pn", "name": name, "scope": f"{READ},{WRITE}", "exp": 4102444800, "iat": 1732131053}
        task_id = backend.submit({"petition": SEED_PAYLOAD}, claims, state.task_behaviour())
        found = backend.task_json(task_id, state.clock.now())
        assert found is not None
        assert f'"name":{json.dumps(name)},'.encode() in found[1], (name, found[1])
