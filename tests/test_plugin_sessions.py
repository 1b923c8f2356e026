"""The pytest handle's sessions: mock_api.session() plays a second consumer; ini mock_api_isolation = session."""
from __future__ import annotations

import pytest

from plugin_consumer import consumer, run

pytestmark = pytest.mark.slow  # pytester runs consumer test suites, each starting a server


def test_a_session_handle_is_a_second_consumer_of_the_same_server(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
def test_two_consumers(mock_api):
    other = mock_api.session()
    named = mock_api.session("partner")
    assert named.url == mock_api.url + "/s/partner" and other.url.startswith(mock_api.url + "/s/handle-")
    posted = requests.post(f"{other.url}/api/academic/petitions", json={"petition": NEW}, headers=auth(other),
                           timeout=10)
    assert posted.status_code == 202 and posted.headers["Location"].startswith(other.url[len(mock_api.url):])
    other.advance(5)
    assert [t["status"] for t in other.tasks] == ["complete"] and mock_api.tasks == [] and named.tasks == []
    assert [r.path for r in other.requests] == ["/api/academic/petitions"] and mock_api.requests == []
    assert 4 < other.now - mock_api.now <= 5  # its own clock (real time, 5 s ahead)
    got = requests.get(f"{named.url}/api/petition_types", headers=auth(mock_api), timeout=10)
    assert got.status_code == 200 and [r.path for r in named.requests] == ["/api/petition_types"]
    listed = [s["name"] for s in requests.get(f"{mock_api.url}/_mock/sessions", timeout=10).json()]
    assert listed[0] == "default" and "partner" in listed and other.url.rsplit("/", 1)[1] in listed

def test_sessions_end_with_the_test_that_opened_them(mock_api):
    listed = [s["name"] for s in requests.get(f"{mock_api.url}/_mock/sessions", timeout=10).json()]
    assert listed == ["default"]

def test_a_bad_name_is_a_value_error(mock_api):
    with pytest.raises(ValueError, match="session name must be 1 to 64"):
        mock_api.session("a b")
''')
    run(pytester, "-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_isolation_session_gives_each_test_its_own_session(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmock_api_isolation = session\n")
    consumer(pytester, '''
import re
SEEN = []

@pytest.mark.parametrize("n", [1, 2])
def test_own_session(mock_api, n):
    assert re.fullmatch(r"http://127\\.0\\.0\\.1:\\d+/s/test-\\d+", mock_api.url)
    SEEN.append(mock_api.url)
    assert mock_api.requests == [] and mock_api.tasks == []
    posted = requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW},
                           headers=auth(mock_api), timeout=10)
    assert posted.status_code == 202
    assert len(mock_api.tasks) == 1
    root = mock_api.url.split("/s/")[0]
    listed = [s["name"] for s in requests.get(f"{root}/_mock/sessions", timeout=10).json()]
    assert listed == ["default", mock_api.url.rsplit("/", 1)[1]]  # the previous test's session ended
    assert len(set(SEEN)) == len(SEEN)

@pytest.mark.mock_api(scenario="unavailable")
def test_the_marker_scenario_applies_to_the_session(mock_api):
    assert requests.get(f"{mock_api.url}/api/petition_types", timeout=10).status_code == 503
    root = mock_api.url.split("/s/")[0]
    assert requests.get(f"{root}/_mock/scenario", timeout=10).json()["name"] == "default"
''')
    result = run(pytester, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    # Every session's requests, though each session ended with its test: 2 POSTs and a 503.
    result.stdout.fnmatch_lines(["mock_api coverage: 2 of 8 operations called, 1 of 32 documented responses seen, "
                                 "3 requests", "  POST /api/academic/petitions: 202 x2",
                                 "  GET /api/petition_types: 503 x1"])


def test_a_wrong_isolation_value_fails_the_test_with_the_rule(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmock_api_isolation = process\n")
    consumer(pytester, '''
def test_any(mock_api):
    pass
''')
    result = run(pytester, "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ini mock_api_isolation must be one of reset, session, got 'process'*"])
