"""The plugin's start-up scenario: --mock-api-scenario, its ini option, the marker, and strict mode's lenient reads."""
from __future__ import annotations

import pytest

from plugin_consumer import consumer, run

pytestmark = pytest.mark.slow  # pytester runs consumer test suites, each starting a server

PESSIMISTIC_SUITE = '''
def new_petition(mock_api, headers):
    mock_api.freeze()
    posted = requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW}, headers=headers,
                           timeout=10)
    assert posted.status_code == 202
    mock_api.advance(5)  # the longest a pessimistic task takes
    task = requests.get(mock_api.url + posted.headers["Location"], headers=headers, timeout=10).json()
    assert task["status"] == "complete"
    return task

def listed(mock_api, headers):
    return requests.get(f"{mock_api.url}/api/academic/petitions", params={"netid": "f006s0b"}, headers=headers,
                        timeout=10)

def test_a_created_petition_waits_for_the_refresh(mock_api):
    assert mock_api.state.scenario_name == "pessimistic"
    headers = auth(mock_api)
    task = new_petition(mock_api, headers)
    first = listed(mock_api, headers)
    assert first.json() == [] and "X-Count" not in first.headers
    assert requests.get(mock_api.url + "/api" + task["path"], headers=headers, timeout=10).status_code == 404
    mock_api.advance(3600)
    assert [r["netid"] for r in listed(mock_api, headers).json()] == ["f006s0b"]

@pytest.mark.mock_api(scenario="default")
def test_the_marker_still_chooses_another(mock_api):
    headers = auth(mock_api)
    new_petition(mock_api, headers)
    assert listed(mock_api, headers).headers["X-Count"] == "1"

def test_reset_goes_back_to_it(mock_api):
    assert mock_api.state.scenario_name == "pessimistic"
'''


def test_the_option_starts_every_test_with_the_scenario(pytester: pytest.Pytester) -> None:
    consumer(pytester, PESSIMISTIC_SUITE)
    run(pytester, "--mock-api-scenario", "pessimistic").assert_outcomes(passed=3)
    run(pytester).assert_outcomes(passed=1, failed=2)  # without it: the default scenario


def test_the_ini_option_does_the_same(pytester: pytest.Pytester) -> None:
    consumer(pytester, PESSIMISTIC_SUITE)
    pytester.makeini("[pytest]\nmock_api_scenario = pessimistic\n")
    run(pytester).assert_outcomes(passed=3)


def test_an_unknown_scenario_is_a_clear_error(pytester: pytest.Pytester) -> None:
    consumer(pytester, "def test_any(mock_api):\n    pass\n")
    result = run(pytester, "--mock-api-scenario", "nope")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--mock-api-scenario: unknown scenario 'nope' (known: *pessimistic*"])


def test_strict_fails_a_test_that_relies_on_a_lenient_read(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
def read_the_new_petition(mock_api, by):
    headers = auth(mock_api)
    mock_api.freeze()
    posted = requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW}, headers=headers,
                           timeout=10)
    mock_api.advance(5)
    task = requests.get(mock_api.url + posted.headers["Location"], headers=headers, timeout=10).json()
    if by == "mongo id":
        mock_api.advance(3600)
        return requests.get(mock_api.url + "/api" + task["path"], headers=headers, timeout=10)
    return requests.get(f"{mock_api.url}/api/academic/petitions", params={"netid": "f006s0b"}, headers=headers,
                        timeout=10)

def test_reads_before_the_refresh(mock_api):
    assert read_the_new_petition(mock_api, "collection").json()[0]["netid"] == "f006s0b"

def test_reads_by_the_tasks_mongo_id(mock_api):
    assert read_the_new_petition(mock_api, "mongo id").json()["netid"] == "f006s0b"

@pytest.mark.mock_api(scenario="pessimistic")
def test_under_pessimistic_neither_is_served(mock_api):
    assert read_the_new_petition(mock_api, "collection").json() == []
    assert read_the_new_petition(mock_api, "mongo id").status_code == 404
''')
    result = run(pytester, "--mock-api-strict")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "*[[]read_before_refresh[]] GET /api/academic/petitions returned petition "
        "*the real API promises it only from the next refresh*",
        "*[[]read_by_mongo_id[]] GET /api/academic/petitions/{id} with the Mongo id "
        "*it may answer 404 for a Mongo id (unknown)*"])
    run(pytester).assert_outcomes(passed=3)  # recorded always, failing only when opted in
