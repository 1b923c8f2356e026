"""Strict mode: each kind of consumer contract violation is recorded, readable, listed, and cleared by reset."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_api.config import MockConfig
from mock_api.contract.strict import format_violations
from mock_api.http.app import create_app
from mock_api.service.dataset import Dataset
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from support import FROZEN_AT, bearer, token_for, validating

NEW_PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}


@pytest.fixture
def strict_state(dataset: Dataset) -> MockState:
    return MockState(MockConfig(frozen_clock_at=FROZEN_AT, strict=True), dataset=dataset)


@pytest.fixture
def strict(strict_state: MockState) -> Iterator[FlaskClient]:
    with validating(create_app(state=strict_state)).test_client() as test_client:
        yield test_client


def _violations(client: FlaskClient) -> list[dict[str, Any]]:
    got = client.get("/_mock/violations")
    assert got.status_code == 200
    return list(got.get_json())


def _kinds(client: FlaskClient) -> list[str]:
    return [v["kind"] for v in _violations(client)]


def test_a_well_behaved_consumer_has_no_violation(strict: FlaskClient) -> None:
    auth = bearer(token_for(strict, "dev-readwrite", (READ, WRITE)))
    assert strict.get("/api/academic/petitions/?netid=f0027k4&pagesize=5", headers=auth).status_code == 200
    posted = strict.post("/api/academic/petitions", json={"petition": NEW_PETITION}, headers=auth)
    assert strict.get(posted.headers["Location"], headers=auth).status_code == 200
    strict.post("/_mock/clock/advance", json={"seconds": 1})
    assert strict.get(posted.headers["Location"], headers=auth).get_json()["status"] == "complete"
    assert _violations(strict) == []


def test_a_dropped_filter_is_a_violation_not_an_error(strict: FlaskClient) -> None:
    auth = bearer(token_for(strict, "dev-readonly", (READ,)))
    got = strict.get("/api/academic/petitions?netd=f0027k4&pagesize=3", headers=auth)
    assert got.status_code == 200 and len(got.get_json()) == 3  # dropped: as if not given, as documented
    assert _violations(strict) == [{
        "kind": "dropped_filter", "method": "GET", "path": "/api/academic/petitions",
        "message": "GET /api/academic/petitions: 'netd' is not an attribute of the record; the real API silently "
                   "drops it and answers as if it were not given (documented in the API portal's introduction, "
                   "'Filtering and Paging'). Attributes: id, netid, petition_code, petition_name, origin_code, "
                   "origin_name, school, decision, grade_term, effective_date, cache_date",
        "count": 1, "first_seq": 2}]
    journal = strict.get("/_mock/requests").get_json()
    assert [e["query"] for e in journal if e["seq"] == 2] == [{"netd": ["f0027k4"], "pagesize": ["3"]}]


def test_petition_types_and_student_collections_check_their_own_attributes(strict: FlaskClient) -> None:
    auth = bearer(token_for(strict, "dev-readonly", (READ,)))
    strict.get("/api/petition_types?petition_code=Q*&netid=x", headers=auth)
    strict.get("/api/students/f0027k4/petitions?decision=APPV&petition_cod=Q25", headers=auth)
    assert [(v["path"], v["message"].split(":")[1].split(";")[0]) for v in _violations(strict)] == [
        ("/api/petition_types", " 'netid' is not an attribute of the record"),
        ("/api/students/f0027k4/petitions", " 'petition_cod' is not an attribute of the record")]


def test_payload_missing_and_unknown_fields(strict: FlaskClient) -> None:
    auth = bearer(token_for(strict))
    petition = {k: v for k, v in NEW_PETITION.items() if k != "grade_term"} | {"term": "24W"}
    got = strict.post("/api/academic/petitions", json={"petition": petition}, headers=auth)
    assert got.status_code == 202  # the real API accepts it; the task fails later
    messages = [v["message"] for v in _violations(strict)]
    assert messages == [
        "POST /api/academic/petitions payload $.petition: Additional properties are not allowed ('term' was "
        "unexpected) (documented on the portal's page for POST petitions, 'Academic Attendance API - POST'; the "
        "real API still answers 202 and the task fails later)",
        "POST /api/academic/petitions payload $.petition: 'grade_term' is a required property (documented on the "
        "portal's page for POST petitions, 'Academic Attendance API - POST'; the real API still answers 202 and "
        "the task fails later)"]


def test_unwrapped_payload_and_wrong_content_type(strict: FlaskClient) -> None:
    auth = bearer(token_for(strict))
    strict.post("/api/academic/petitions", json=NEW_PETITION, headers=auth)
    assert strict.post("/api/academic/petitions", data="netid=x", headers=auth,
                       content_type="application/x-www-form-urlencoded").status_code == 415
    found = _violations(strict)
    assert [v["kind"] for v in found] == ["payload", "payload", "content_type"]
    assert found[0]["message"].startswith("POST /api/academic/petitions payload $: Additional properties")
    assert found[1]["message"].startswith("POST /api/academic/petitions payload $: 'petition' is a required")
    assert found[2]["message"] == ("POST /api/academic/petitions sent Content-Type "
                                   "'application/x-www-form-urlencoded'; it requires application/json (documented "
                                   "on the portal's page for POST petitions, 'Academic Attendance API - POST')")


def test_a_call_with_a_token_lacking_its_scope(strict: FlaskClient) -> None:
    auth = bearer(token_for(strict, "dev-readwrite", (READ,)))  # the account holds write, but it was not asked
    assert strict.post("/api/academic/petitions", json={"petition": NEW_PETITION}, headers=auth).status_code == 403
    assert _violations(strict) == [{
        "kind": "scope", "method": "POST", "path": "/api/academic/petitions",
        "message": "POST /api/academic/petitions needs scope api:academic:petitions:write; the token carries "
                   "api:academic:petitions:read. Request it with POST /api/jwt?scope=... and check "
                   "accepted_scopes before calling (documented)",
        "count": 1, "first_seq": 2}]


def test_token_requested_without_scope_and_bearer_mistakes(strict: FlaskClient) -> None:
    got = strict.post("/api/jwt", headers={"Authorization": "dev-readonly"})
    assert got.status_code == 200 and got.get_json()["accepted_scopes"] == []
    strict.post("/api/jwt", query_string={"scope": READ}, headers={"Authorization": "Bearer dev-readonly"})
    strict.get("/api/academic/petitions", headers={"Authorization": got.get_json()["jwt"]})
    assert _kinds(strict) == ["no_scope_requested", "auth_header", "auth_header"]
    assert _violations(strict)[2]["message"] == ("GET /api/academic/petitions needs 'Authorization: Bearer {jwt}' "
                                                 "(documented)")


def test_an_expired_token(strict: FlaskClient) -> None:
    auth = bearer(token_for(strict, "dev-readonly", (READ,)))
    strict.post("/_mock/clock/advance", json={"seconds": 10800})
    assert strict.get("/api/academic/petitions", headers=auth).status_code == 401
    assert _kinds(strict) == ["expired_token"]


def test_polling_faster_than_the_rate_counts_per_task(strict: FlaskClient) -> None:
    auth = bearer(token_for(strict))
    location = strict.post("/api/academic/petitions", json={"petition": NEW_PETITION}, headers=auth).headers["Location"]
    for _ in range(3):  # the clock is frozen: three polls at the same instant
        strict.get(location, headers=auth)
    strict.post("/_mock/clock/advance", json={"seconds": 1})
    strict.get(location, headers=auth)  # a second later: fine
    task_id = location.rsplit("/", 1)[1]
    assert _violations(strict) == [{
        "kind": "poll_rate", "method": "GET", "path": location,
        "message": f"task {task_id} polled again within 1 s; poll at most once every 1 s (our choice: the real "
                   "rate is undocumented)", "count": 2, "first_seq": 4}]


def test_reset_clears_violations_and_format_is_readable(strict: FlaskClient, strict_state: MockState) -> None:
    auth = bearer(token_for(strict, "dev-readonly", (READ,)))
    strict.get("/api/academic/petitions?netd=1", headers=auth)
    strict.get("/api/academic/petitions?netd=1", headers=auth)
    text = format_violations(strict_state.violations.entries())
    assert text.splitlines()[0] == "mock_api strict mode: 1 contract violation(s) by the consumer:"
    assert text.splitlines()[1] == ("  1. [dropped_filter] (x2) GET /api/academic/petitions: 'netd' is not an "
                                    "attribute of the record; the real API silently drops it and answers as if it "
                                    "were not given (documented in the API portal's introduction, 'Filtering and "
                                    "Paging'). Attributes: id, netid, petition_code, petition_name, origin_code, "
                                    "origin_name, school, decision, grade_term, effective_date, cache_date")
    assert len(strict_state.violations) == 1 and strict_state.violations[0]["count"] == 2
    assert strict.post("/_mock/reset").status_code == 200
    assert _violations(strict) == [] and not strict_state.violations and format_violations([]) == ""


def test_without_strict_nothing_is_recorded(client: FlaskClient) -> None:
    auth = bearer(token_for(client, "dev-readonly", (READ,)))
    client.get("/api/academic/petitions?netd=1", headers=auth)
    assert _violations(client) == []


def test_cli_flag_turns_strict_mode_on() -> None:
    from mock_api.cli import build_parser, config_from_args

    assert config_from_args(build_parser().parse_args(["--strict"])).strict is True
    assert config_from_args(build_parser().parse_args([])).strict is False


def test_contract_main_prints_violations_and_exits_for_ci(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from mock_api.contract.strict import main

    saved = tmp_path / "violations.json"
    saved.write_text("[]")
    assert main([str(saved)]) == 0
    assert capsys.readouterr().out == "mock_api strict mode: no contract violation\n"
    saved.write_text('[{"kind": "poll_rate", "method": "GET", "path": "/api/tasks/x", "message": "too fast", '
                     '"count": 3, "first_seq": 2}]')
    assert main([str(saved)]) == 1
    assert capsys.readouterr().out.splitlines()[1] == "  1. [poll_rate] (x3) GET /api/tasks/x: too fast"
    assert main([str(tmp_path / "missing.json")]) == 2
    saved.write_text("{}")
    assert main([str(saved)]) == 2
    with pytest.raises(SystemExit) as stopped:
        main([])
    assert stopped.value.code == 2
