"""Strict mode and a scenario's injected answers agree: what the scenario answered is never the consumer's
violation, expect_errors(...) is honoured by both checks, and a violation names its source in words."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from live_server import TIMEOUT, Live, live_server
from mock_api.config import MockConfig
from mock_api.service.dataset import Dataset
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from plugin_consumer import consumer, run
from scenario_http import NEW_PETITION
from support import FROZEN_AT


@pytest.fixture(scope="module")
def server(dataset: Dataset) -> Iterator[Live]:
    with live_server(MockState(MockConfig(frozen_clock_at=FROZEN_AT, strict=True), dataset=dataset)) as live:
        yield live


@pytest.fixture
def live(server: Live) -> Live:
    server.state.reset()
    return server


def _post(live: Live, headers: dict[str, str], body: object = None, data: bytes | None = None) -> requests.Response:
    return requests.post(f"{live.url}/api/academic/petitions", json=body, data=data, headers=headers,
                         timeout=TIMEOUT)


def _journal(live: Live) -> list[tuple[int, bool]]:
    return [(e["status"], e["injected"]) for e in requests.get(f"{live.url}/_mock/requests", timeout=TIMEOUT).json()]


def _violations(live: Live) -> list[dict[str, object]]:
    return list(requests.get(f"{live.url}/_mock/violations", timeout=TIMEOUT).json())


@pytest.mark.parametrize(("scenario", "method", "path"), [
    ("forbidden_write", "POST", "/api/academic/petitions"),
    ("read_forbidden", "GET", "/api/academic/petitions"),
    ("expired_tokens", "GET", "/api/academic/petitions"),
    ("unavailable", "GET", "/api/academic/petitions"),
])
def test_a_scenarios_injected_error_is_no_violation_of_the_consumer(live: Live, scenario: str, method: str,
                                                                     path: str) -> None:
    auth = live.token()  # both scopes: nothing the consumer did wrong
    live.state.set_scenario(scenario)
    got = requests.request(method, f"{live.url}{path}", json={"petition": NEW_PETITION}, headers=auth,
                           timeout=TIMEOUT)
    assert got.status_code in (401, 403, 503)
    assert _journal(live)[-1] == (got.status_code, True)
    assert _violations(live) == []


def test_the_apis_own_403_is_still_the_consumers_violation(live: Live) -> None:
    reader = live.token("dev-readonly", (READ,))
    assert _post(live, reader, {"petition": NEW_PETITION}).status_code == 403
    assert _journal(live)[-1] == (403, False)
    (violation,) = _violations(live)
    assert violation["kind"] == "scope"
    assert str(violation["message"]).startswith(f"POST /api/academic/petitions needs scope {WRITE}; the token "
                                                f"carries {READ}.")


def test_request_side_violations_stay_under_an_injected_answer_and_name_their_source(live: Live) -> None:
    auth = live.token()
    live.state.set_scenario("unavailable")
    assert requests.get(f"{live.url}/api/academic/petitions", params={"netd": "x"}, headers=auth,
                        timeout=TIMEOUT).status_code == 503
    live.state.set_scenario("default")
    assert _post(live, {**auth, "Content-Type": "text/plain"}, data=b"{}").status_code == 415
    assert _post(live, auth, {"petition": {"netid": "f006s0b"}}).status_code == 202
    messages = {str(v["kind"]): str(v["message"]) for v in _violations(live)}
    assert sorted(messages) == ["content_type", "dropped_filter", "payload"]
    assert "(documented in the API portal's introduction, 'Filtering and Paging')" in messages["dropped_filter"]
    assert "(documented on the portal's page for POST petitions, 'Academic Attendance API - POST')" \
        in messages["content_type"]
    assert all("seed 0" not in m and "portal intro" not in m for m in messages.values())


ONE_LIST = '''
def test_expected_403_passes_both_checks(mock_api):
    mock_api.expect_errors(403)
    got = requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW},
                        headers=auth(mock_api, [READ]), timeout=10)
    assert got.status_code == 403


@pytest.mark.mock_api(expect_errors=[403])
def test_the_markers_list_is_the_same_list(mock_api):
    requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW},
                  headers=auth(mock_api, [READ]), timeout=10)


@pytest.mark.mock_api(scenario="forbidden_write")
def test_injected_403_needs_no_declaration(mock_api):
    got = requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW},
                        headers=auth(mock_api), timeout=10)
    assert got.status_code == 403 and mock_api.requests[-1].injected


def test_undeclared_403_fails(mock_api):
    requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW},
                  headers=auth(mock_api, [READ]), timeout=10)
'''


@pytest.mark.slow  # pytester runs a consumer suite that starts a server
def test_expect_errors_is_one_list_for_both_checks(pytester: pytest.Pytester) -> None:
    consumer(pytester, ONE_LIST)
    result = run(pytester, "--mock-api-strict", "--mock-api-fail-on-error-responses")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*the client got error responses this test did not declare*",
                                 "*POST /api/academic/petitions -> 403*",
                                 "*[[]scope[]] POST /api/academic/petitions needs scope*"])
