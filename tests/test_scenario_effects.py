"""Effects through the Flask test client: seeded latency and status choices, task_not_found_for's window."""
from __future__ import annotations

from pathlib import Path

import yaml
from flask import Flask
from flask.testing import FlaskClient

from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.service.dataset import Dataset
from mock_api.service.scopes import READ
from mock_api.state import MockState
from support import bearer, token_for


def use(state: MockState, tmp_path: Path, *rules: dict[str, object]) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"name": "mine", "description": "test", "rules": list(rules)}), encoding="utf-8")
    state.set_scenario(str(path))


def test_random_delays_are_seeded_and_repeat_after_reset(state: MockState, client: FlaskClient,
                                                         tmp_path: Path) -> None:
    slept: list[float] = []
    state.sleep = slept.append
    use(state, tmp_path, {"match": {"path": "/api/petition_types/*"}, "effects": [{"delay": {"min": 0.1, "max": 0.3}}]})
    for _ in range(5):
        client.get("/api/petition_types/Q25")
    first, slept[:] = list(slept), []
    assert len(first) == 5 and len(set(first)) == 5 and all(0.1 <= s <= 0.3 for s in first)
    state.reset()
    use(state, tmp_path, {"match": {"path": "/api/petition_types/*"}, "effects": [{"delay": {"min": 0.1, "max": 0.3}}]})
    for _ in range(5):
        client.get("/api/petition_types/Q25")
    assert slept == first


def test_fixed_delay_sleeps_exactly_and_control_api_never_sleeps(state: MockState, client: FlaskClient,
                                                                   tmp_path: Path) -> None:
    slept: list[float] = []
    state.sleep = slept.append
    use(state, tmp_path, {"match": {"path": "**"}, "effects": [{"delay": 0.2}]})
    client.get("/api/petition_types/Q25")
    client.get("/_mock/health")
    assert slept == [0.2]


def test_probability_zero_never_and_one_always(state: MockState, client: FlaskClient, tmp_path: Path) -> None:
    use(state, tmp_path,
        {"match": {"path": "/api/petition_types/Q25", "probability": 0}, "effects": [{"respond": 500}]},
        {"match": {"path": "/api/petition_types/Q24", "probability": 1}, "effects": [{"respond": 502}]})
    assert {client.get("/api/petition_types/Q25").status_code for _ in range(20)} == {401}
    assert {client.get("/api/petition_types/Q24").status_code for _ in range(20)} == {502}


def test_rules_apply_in_order_and_the_first_answer_wins(state: MockState, client: FlaskClient, tmp_path: Path) -> None:
    use(state, tmp_path,
        {"match": {"path": "/api/**"}, "effects": [{"respond": {"status": 418, "body": {"first": True}}},
                                                     {"respond": 500}]},
        {"match": {"path": "/api/**"}, "effects": [{"respond": 503}]})
    got = client.get("/api/petition_types")
    assert (got.status_code, got.get_json()) == (418, {"first": True})


def test_task_not_found_for_counts_clock_seconds_from_creation(app: Flask, state: MockState, client: FlaskClient,
                                                               rw: dict[str, str], tmp_path: Path) -> None:
    posted = client.post("/api/academic/petitions", json={"petition": {"netid": "x"}}, headers=rw)
    location = posted.headers["Location"]
    use(state, tmp_path, {"match": {"path": "/api/tasks/*"}, "effects": [{"task_not_found_for": 3}]})
    assert client.get(location, headers=rw).status_code == 404
    state.clock.advance(2.9)
    assert client.get(location, headers=rw).get_json() == {"detail": "Not Found"}
    state.clock.advance(0.1)
    assert client.get(location, headers=rw).status_code == 200


def test_forbid_checks_the_token_first(state: MockState, client: FlaskClient, tmp_path: Path) -> None:
    use(state, tmp_path, {"match": {"path": "/api/petition_types"}, "effects": [{"forbid": ["a:b", "c:d"]}]})
    assert client.get("/api/petition_types", headers=bearer("forged")).get_json() == {"message": "Unauthorized"}
    got = client.get("/api/petition_types", headers=bearer(token_for(client, "dev-readonly", (READ,))))
    assert (got.status_code, got.get_json()) == (403, {"message": "Forbidden: missing scope a:b c:d",
                                                       "missing_scopes": ["a:b", "c:d"]})


def test_header_override_is_ignored_when_the_control_api_is_off(dataset: Dataset) -> None:
    app = create_app(state=MockState(MockConfig(control_api=False), dataset=dataset))
    client = app.test_client()
    assert client.get("/api/petition_types", headers={"X-Mock-Scenario": "unavailable"}).status_code == 401
    assert client.get("/api/petition_types", headers={"X-Mock-Scenario": "nope"}).status_code == 401
    assert client.get("/_mock/scenario").status_code == 404
