"""GET /_mock/coverage: what a consumer's requests exercised, and the documented error paths they never did."""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from mock_api.contract.coverage import api_operations, format_coverage_summary
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from support import bearer, token_for


def _coverage(client: FlaskClient) -> dict[str, Any]:
    got = client.get("/_mock/coverage")
    assert got.status_code == 200
    return dict(got.get_json())


def _operation(report: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return next(o for o in report["operations"] if (o["method"], o["path"]) == (method, path))


def test_nothing_called_means_every_error_path_is_missing(client: FlaskClient) -> None:
    report = _coverage(client)
    assert report["requests"] == 0 and report["scenarios"] == [] and report["undocumented"] == []
    assert [(o["method"], o["path"]) for o in report["operations"]] == api_operations()
    assert len(report["operations"]) == 8
    assert "GET /api/academic/petitions/{id} 404" in report["not_exercised"]
    assert "POST /api/academic/petitions 403" in report["not_exercised"]
    assert all(int(item.rsplit(" ", 1)[1]) >= 400 for item in report["not_exercised"])


def test_statuses_filters_scopes_and_scenario_are_counted(client: FlaskClient) -> None:
    auth = bearer(token_for(client, "dev-readwrite", (READ,)))
    client.get("/api/academic/petitions/?netid=f0027k4&petition_code=Q*&pagesize=1", headers=auth)
    client.get("/api/academic/petitions?effective_date=>2020-01-01T00:00:00Z", headers=auth)
    client.get("/api/academic/petitions/2907841-Q25-24W=L-APPV", headers=auth)
    client.get("/api/academic/petitions/nope", headers=auth)
    client.post("/api/academic/petitions", json={}, headers=auth)  # 403: no write scope asked for
    client.get("/api/nowhere", headers=auth)
    report = _coverage(client)
    assert report["requests"] == 7
    listing = _operation(report, "GET", "/api/academic/petitions")
    assert listing == {"method": "GET", "path": "/api/academic/petitions", "calls": 2, "statuses": {"200": 2},
                       "not_exercised": ["400", "401", "403"]}
    assert _operation(report, "GET", "/api/academic/petitions/{id}")["statuses"] == {"200": 1, "404": 1}
    assert _operation(report, "POST", "/api/jwt")["statuses"] == {"200": 1}
    assert report["filters"]["GET /api/academic/petitions"] == {
        "used": ["netid", "petition_code", "effective_date"],
        "not_used": ["id", "petition_name", "origin_code", "origin_name", "school", "decision", "grade_term",
                     "cache_date"],
        "operators": ["eq", "gt", "prefix"], "paging": ["pagesize"]}
    assert report["scopes"] == {"requested": [READ], "granted": [READ], "allowed": [READ], "refused": [WRITE]}
    assert report["scenarios"] == ["default"]
    assert report["undocumented"] == ["GET /api/nowhere 404"]
    assert "GET /api/academic/petitions/{id} 404" not in report["not_exercised"]
    assert "POST /api/academic/petitions 403" not in report["not_exercised"]
    assert "GET /api/academic/petitions 401" in report["not_exercised"]


def test_control_calls_do_not_count_and_reset_keeps_coverage(client: FlaskClient, state: MockState) -> None:
    client.get("/api/jwt")
    client.get("/_mock/health")
    client.get("/openapi.json")
    client.post("/_mock/reset")
    assert _coverage(client)["requests"] == 1
    cleared = client.post("/_mock/coverage/reset")
    assert cleared.status_code == 200 and cleared.get_json()["requests"] == 0
    assert state.coverage.report()["requests"] == 0


def test_summary_is_short_by_default_and_full_lists_every_error_path(client: FlaskClient) -> None:
    auth = bearer(token_for(client, "dev-readonly", (READ,)))
    client.get("/api/academic/petitions?netid=f0027k4&pagesize=2", headers=auth)
    report = _coverage(client)
    missed = len(report["not_exercised"])
    assert format_coverage_summary(report).splitlines() == [
        "mock_api coverage: 2 of 8 operations called, 2 of 32 documented responses seen, 2 requests",
        "  POST /api/jwt: 200 x1",
        "  GET /api/academic/petitions: 200 x1",
        f"  scopes granted: {READ}; refused (403 seen): none",
        "  scenarios: default",
        f"  {missed} error paths never exercised — `--mock-api-coverage=full` lists them"]
    lines = format_coverage_summary(report, full=True).splitlines()
    assert lines[3] == "  filters on GET /api/academic/petitions: netid; operators: eq; paging: pagesize"
    assert lines[6] == f"  error paths never exercised ({missed}):"
    assert "    GET /api/academic/petitions 403" in lines and "    GET /api/tasks/{id} 404" in lines


def test_the_scenario_of_each_request_is_taken_from_the_request(state: MockState) -> None:
    from mock_api.http.app import create_app

    app = create_app(state=state)
    with app.test_client() as test_client:
        test_client.get("/api/jwt")
        test_client.get("/api/jwt", headers={"X-Mock-Scenario": "flaky"})
    assert state.coverage.report()["scenarios"] == ["default", "flaky"]


def test_a_fault_in_the_bookkeeping_never_changes_the_answer(client: FlaskClient, state: MockState,
                                                             monkeypatch: Any, caplog: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bookkeeping bug")

    monkeypatch.setattr(state.coverage, "record", broken)
    got = client.get("/api/academic/petitions", headers=bearer(token_for(client, "dev-readonly", (READ,))))
    assert got.status_code == 200 and len(got.get_json()) == 100
    assert "observing GET /api/academic/petitions failed" in caplog.text
