"""openapi.yaml: a valid OpenAPI 3.1 document, served, complete, and strict enough to catch a drifted response."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from mock_api.contract import spec
from mock_api.http.app import create_app
from mock_api.http.routes import ROUTES
from mock_api.service.records import PETITION_FIELDS, PETITION_TYPE_FIELDS
from mock_api.service.scopes import READ
from mock_api.service.tasks import TASK_FIELDS
from mock_api.state import MockState
from support import bearer, token_for, validating

NEW_PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}
SAMPLE = {"id": "2907841-Q25-24W=L-APPV", "netid": "f0027k4", "petition_code": "Q25",
          "petition_name": "Reduce Sr Yr Residence Req", "origin_code": "UREG", "origin_name": "UG - Registrar",
          "school": "UG", "decision": "APPV", "grade_term": "24W=L", "effective_date": "2021-03-02T05:00:00Z",
          "cache_date": "2022-05-07T23:49:22Z"}
JSON = {"Content-Type": "application/json", "X-Request-ID": "r1", "X-Count": "1"}


def test_document_is_valid_openapi_3_1() -> None:
    document = spec.load_spec()
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_served_at_openapi_json(client: FlaskClient) -> None:
    got = client.get("/openapi.json")
    assert got.status_code == 200 and got.mimetype == "application/json"
    assert got.get_json() == json.loads(json.dumps(spec.load_spec()))


def _rules(app: Flask) -> set[tuple[str, str]]:
    """The API's route table and the control API's Flask rules, as (method, path with {names})."""
    found = {(route.method, re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", route.rule)) for route in ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        template = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        found |= {(method, template) for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}
    return found


def _documented() -> set[tuple[str, str]]:
    """Every operation a process serves (not the supervisor's, `x-served-by: supervisor`: tests/test_cluster_*)."""
    return {(method.upper(), template) for template, item in spec.load_spec()["paths"].items()
            if "x-served-by" not in item for method in item if method in spec.METHODS}


def test_every_served_route_is_documented_and_every_documented_one_served(app: Flask) -> None:
    served = {(m, spec.match_path(t.replace("{key}", "x").replace("{netid}", "x").replace("{code}", "x")
                                  .replace("{task_id}", "x")) or t) for m, t in _rules(app)}
    assert served == _documented()


def test_record_field_order_is_pinned_by_the_document_and_the_code() -> None:
    schemas = spec.load_spec()["components"]["schemas"]
    assert tuple(schemas["Petition"]["properties"]) == PETITION_FIELDS == tuple(SAMPLE)
    assert tuple(schemas["PetitionType"]["properties"]) == PETITION_TYPE_FIELDS
    assert tuple(schemas["TaskBase"]["properties"]) == TASK_FIELDS
    assert all(schemas[name]["x-field-order"] for name in ("Petition", "PetitionType", "TaskBase", "Claims"))


def _problems(method: str, path: str, status: int, body: Any, headers: dict[str, str] | None = None) -> list[str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return [str(p) for p in spec.check_response(method, path, status, headers or JSON, raw)]


def test_the_seed_sample_conforms() -> None:
    assert _problems("GET", "/api/academic/petitions/", 200, [SAMPLE, {**SAMPLE, "grade_term": None}]) == []


@pytest.mark.parametrize(("change", "expected"), [
    (lambda r: {("name" if k == "petition_name" else k): v for k, v in r.items()},
     "$[0]: Additional properties are not allowed ('name' was unexpected)"),
    (lambda r: dict(reversed(list(r.items()))), "$[0]: fields out of order"),
    (lambda r: {**r, "cache_date": "2022-05-07T23:49:22.000000"}, "$[0].cache_date: does not match"),
    (lambda r: {**r, "grade_term": 24}, "$[0].grade_term: expected ['string', 'null'], got int"),
    (lambda r: {k: v for k, v in r.items() if k != "school"}, "$[0]: 'school' is a required property"),
])
def test_a_drifted_record_is_caught(change: Any, expected: str) -> None:
    problems = _problems("GET", "/api/academic/petitions", 200, [change(dict(SAMPLE))])
    assert problems and problems[0].startswith(f"body {expected}"), problems
    if "'name'" in expected:  # a rename is two problems: one field unexpected, one missing
        assert problems[1:] == ["body $[0]: 'petition_name' is a required property"]
    else:
        assert len(problems) == 1, problems


def test_a_drifted_status_header_or_media_type_is_caught() -> None:
    assert _problems("GET", "/api/academic/petitions/x", 500, {"detail": "boom"}) == [
        "status: 500 for GET /api/academic/petitions/x: undocumented status"]
    assert _problems("GET", "/api/nowhere", 200, []) == ["status: 200 for GET /api/nowhere: undocumented path"]
    assert _problems("POST", "/api/academic/petitions", 202, {"status": "accepted"}) == [
        "header Location: missing"]
    assert _problems("POST", "/api/academic/petitions", 202, {"status": "accepted"},
                     {**JSON, "Location": "/tasks/abc"}) == [
        "header Location: does not match ^/api/tasks/[0-9a-f]{24}$"]
    assert _problems("GET", "/api/academic/petitions", 200, [], {"Content-Type": "text/html"}) == [
        "header X-Request-ID: missing", "header Content-Type: expected application/json, got text/html"]
    assert _problems("GET", "/api/academic/petitions", 401, {"detail": "Unauthorized"}) == [
        "body $: Additional properties are not allowed ('detail' was unexpected)",
        "body $: 'message' is a required property"]


def test_task_variants_differ_only_by_values() -> None:
    task = {"resource": "academic.petitions", "action": "POST", "resource_id": None, "payload": {},
            "requester": {"sub": "f0057pn", "name": "DPLAN API", "email": "e", "scope": "s", "exp": "2", "iat": "1"},
            "status": "complete", "request_date": "2024-11-20T20:54:26Z",
            "completed_date": "2024-11-20T20:54:27.328833", "path": "/academic/petitions/673e4c82185254cacb8d2967",
            "worker_data": {}, "id": "673e4c82185254cacb8d2967", "message": "Petition did not update successfully. "}
    path = "/api/tasks/673e4c82185254cacb8d2967"
    assert _problems("GET", path, 200, task) == []
    assert _problems("GET", path, 200, {**task, "message": "Petition created successfully. mongo id "
                                        "673e4c83255f18cce280f5d7 "}) == []
    assert _problems("GET", path, 200, {**task, "status": "accepted", "completed_date": None, "path": None,
                                        "message": None}) == []
    drifted = _problems("GET", path, 200, {**task, "message": "Petition did not update successfully."})
    assert len(drifted) == 1 and drifted[0].startswith("body $: matches none of the documented variants "
                                                       "(accepted, succeeded, failed)"), drifted
    assert _problems("GET", path, 200, {**task, "completed_date": "2024-11-20T20:54:27Z"})[0].startswith(
        "body $: matches none")


def test_every_operation_of_the_mock_conforms_on_its_paths(client: FlaskClient) -> None:
    """One walk over every endpoint's success and error responses; ValidatingClient checks each."""
    auth = bearer(token_for(client))
    seen = set()
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/jwt", {}), ("POST", "/api/jwt", {"headers": {"Authorization": "nope"}}),
        ("GET", "/api/academic/petitions/?netid=f0027k4", {"headers": auth}),
        ("GET", "/api/academic/petitions?continuation_key=zz", {"headers": auth}),
        ("GET", "/api/academic/petitions", {}),
        ("GET", "/api/academic/petitions", {"headers": bearer(token_for(client, "dev-noscopes", ()))}),
        ("GET", f"/api/academic/petitions/{SAMPLE['id']}", {"headers": auth}),
        ("GET", "/api/academic/petitions/none", {"headers": auth}),
        ("GET", "/api/students/f0027k4/petitions", {"headers": auth}),
        ("GET", "/api/students/nobody/petitions", {"headers": auth}),
        ("GET", "/api/petition_types?petition_code=R*", {"headers": auth}),
        ("GET", "/api/petition_types/Q24", {"headers": auth}), ("GET", "/api/petition_types/A05", {"headers": auth}),
        ("POST", "/api/academic/petitions", {"headers": auth, "json": {"petition": NEW_PETITION}}),
        ("POST", "/api/academic/petitions", {"headers": auth, "data": "{", "content_type": "application/json"}),
        ("POST", "/api/academic/petitions", {"headers": auth, "data": "x", "content_type": "text/plain"}),
        ("POST", "/api/academic/petitions", {"headers": auth, "data": "x" * 2_000_000,
                                             "content_type": "application/json"}),
        ("GET", "/api/tasks/000000000000000000000000", {"headers": auth}),
        ("DELETE", "/api/academic/petitions", {"headers": auth}), ("GET", "/nowhere", {}),
        ("GET", "/_mock/health", {}), ("GET", "/_mock/clock", {}), ("POST", "/_mock/clock/freeze", {}),
        ("POST", "/_mock/clock/advance", {"json": {"seconds": 2}}), ("POST", "/_mock/clock/advance", {"json": {}}),
        ("POST", "/_mock/clock/unfreeze", {}), ("GET", "/_mock/requests", {}), ("GET", "/_mock/tasks", {}),
        ("POST", "/_mock/reset", {}),
    ]
    for method, path, kwargs in calls:
        seen.add(client.open(path, method=method, **kwargs).status_code)
    assert seen == {200, 202, 400, 401, 403, 404, 405, 413, 415}


def test_the_validating_client_fails_a_test_on_a_drifted_response(state: MockState) -> None:
    from mock_api.http.app import create_app
    from support import drifting, validating

    def rename(response: Any) -> Any:
        if response.status_code == 404:
            response.status_code = 410
        return response
    drifted = drifting(create_app(state=state), rename)

    with validating(drifted).test_client() as test_client, pytest.raises(AssertionError) as failed:
        test_client.get("/api/academic/petitions/none", headers=bearer(token_for(test_client, "dev-readonly", (READ,))))
    assert str(failed.value).startswith("GET /api/academic/petitions/none -> 410 breaks openapi.yaml:\n"
                                        "  status: 410 for GET /api/academic/petitions/none: undocumented status")


def test_under_a_scenario_injected_errors_pass_but_success_shapes_are_still_checked() -> None:
    fault = spec.check_response("GET", "/api/academic/petitions", 503, {"Content-Type": "text/plain"}, b"down",
                                faults_allowed=True)
    assert fault == []
    assert [str(p) for p in spec.check_response("GET", "/api/academic/petitions", 200, JSON,
                                                json.dumps([{**SAMPLE, "school": 1}]).encode(),
                                                faults_allowed=True)] == ["body $[0].school: expected string, got int"]
    assert spec.check_response("GET", "/api/academic/petitions", 503, JSON, b"{}") != []


def test_journal_status_is_null_for_a_dropped_reply_in_the_document() -> None:
    entry = {"seq": 1, "time": "2024-11-20T19:30:53.000000Z", "method": "GET", "path": "/api/petition_types",
             "query": {}, "headers": {}, "body": None, "status": None, "scenario": "broken_connections",
             "fault": "reset", "duration_ms": 0.1}
    assert spec.check_instance("components/schemas/JournalEntry", entry) == []
    assert spec.check_instance("components/schemas/JournalEntry", {**entry, "status": "200"}) != []


@pytest.mark.parametrize("name", ["pagesize", "page"])
@pytest.mark.parametrize("value", ["0", "-1", "2.5", "x", ""])
def test_paging_values_the_document_allows_are_served_with_the_fall_back(client: FlaskClient, name: str,
                                                                        value: str) -> None:
    assert spec.check_instance(f"components/parameters/{name}/schema", value, "query") == []
    token = token_for(client, "dev-readonly", (READ,))
    got = client.get("/api/petition_types", query_string={name: value}, headers=bearer(token))
    default = client.get("/api/petition_types", headers=bearer(token))
    assert (got.status_code, got.get_json()) == (200, default.get_json())


def test_without_the_control_api_the_document_has_no_mock_paths(state: MockState) -> None:
    app = create_app(state=MockState(replace(state.config, control_api=False), dataset=state.dataset))
    document = app.test_client().get("/openapi.json").get_json()
    published = {(method.upper(), template) for template, item in document["paths"].items()
                 for method in item if method in spec.METHODS}
    assert published == {(m, t) for m, t in _documented() if not t.startswith("/_mock")}
    assert {t for _, t in published} >= {"/api/jwt", "/api/tasks/{id}", "/openapi.json"}
    served = {(m, spec.match_path(t.replace("{key}", "x").replace("{netid}", "x").replace("{code}", "x")
                                  .replace("{task_id}", "x")) or t) for m, t in _rules(app)}
    assert served == published


def test_the_control_token_refusal_is_documented_on_every_mock_operation(state: MockState) -> None:
    app = validating(create_app(state=MockState(replace(state.config, control_token="t"), dataset=state.dataset)))
    client = app.test_client()  # checks each response against the document
    for method, template in sorted(t for t in _documented() if t[1].startswith("/_mock")):
        path = template.replace("{name}", "dashboard.js")
        got = client.open(path, method=method)
        if "401" in spec.operation(template, method)["responses"]:  # type: ignore[index]
            assert (got.status_code, got.get_json()) == (401, {"detail": "X-Mock-Control-Token is missing or wrong"})
        else:  # the dashboard's shell: no data, the same bytes for everyone (docs/dashboard.md)
            assert got.status_code in (200, 308), path
    guarded = {t for _, t in _documented() if t.startswith("/_mock")} - {"/_mock", "/_mock/", "/_mock/assets/{name}"}
    assert all("401" in item["get" if "get" in item else next(iter(item))]["responses"]
               for t, item in spec.load_spec()["paths"].items() if t in guarded)
