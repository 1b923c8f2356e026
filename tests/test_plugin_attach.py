"""Attach mode: `pytest --mock-api-url URL` drives a mock_api server that is already running, over HTTP."""
from __future__ import annotations

import json

import pytest
import requests

from plugin_consumer import consumer, run
from support import running_server

pytestmark = pytest.mark.slow  # a subprocess server, and pytester runs consumer suites against it

SUITE = '''
def test_reads_with_a_token_of_the_handle(mock_api):
    got = requests.get(f"{mock_api.url}/api/academic/petitions", params={"netid": "f0027k4"},
                       headers=auth(mock_api, [READ]), timeout=10)
    assert got.status_code == 200 and [r["netid"] for r in got.json()] == ["f0027k4", "f0027k4"]
    assert [(r.method, r.path, r.status) for r in mock_api.requests] == [("GET", "/api/academic/petitions", 200)]

def test_each_test_starts_from_a_reset_server(mock_api):
    assert mock_api.requests == [] and mock_api.tasks == []

def test_the_clock_and_a_task(mock_api):
    mock_api.freeze()
    posted = requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW},
                           headers=auth(mock_api), timeout=10)
    assert posted.status_code == 202
    assert [t["status"] for t in mock_api.tasks] == ["accepted"]
    before = mock_api.now
    assert mock_api.advance(5) == before + 5 == mock_api.now
    assert [t["status"] for t in mock_api.tasks] == ["complete"]
    assert mock_api.unfreeze() >= before + 5

def test_a_scenario_for_one_test(mock_api):
    mock_api.use_scenario("pessimistic")
    assert requests.get(f"{mock_api.url}/_mock/scenario", headers=CONTROL, timeout=10).json()["name"] == "pessimistic"
    with pytest.raises(Exception, match="unknown scenario 'nope'"):
        mock_api.use_scenario("nope")

@pytest.mark.mock_api(scenario="pessimistic")
def test_the_marker_scenario(mock_api):
    assert requests.get(f"{mock_api.url}/_mock/scenario", headers=CONTROL, timeout=10).json()["name"] == "pessimistic"

def test_a_second_consumer_in_its_own_session(mock_api):
    other = mock_api.session("partner")
    assert other.url == mock_api.url + "/s/partner"
    got = requests.get(f"{other.url}/api/petition_types", headers=auth(other, [READ]), timeout=10)
    assert got.status_code == 200
    assert [r.path for r in other.requests] == ["/api/petition_types"] and mock_api.requests == []

def test_the_session_ended_with_its_test(mock_api):
    listed = requests.get(f"{mock_api.url}/_mock/sessions", headers=CONTROL, timeout=10).json()
    assert [s["name"] for s in listed] == ["default"]

def test_an_undeclared_error_fails_the_test_when_asked(mock_api):
    mock_api.expect_errors(401)
    assert requests.get(f"{mock_api.url}/api/academic/petitions", timeout=10).status_code == 401
    assert [r.status for r in mock_api.unexpected_errors()] == []

def test_data_needs_the_in_process_server(mock_api):
    with pytest.raises(NotImplementedError, match="add_student needs the in-process server"):
        mock_api.add_student("zz9")
'''


def _suite(pytester: pytest.Pytester, token: str | None) -> None:
    consumer(pytester, f"CONTROL = {({'X-Mock-Control-Token': token} if token else {})!r}\n" + SUITE)


def test_the_fixture_drives_the_running_server_and_its_journal_holds_every_test(pytester: pytest.Pytester) -> None:
    with running_server() as server:
        _suite(pytester, None)
        result = run(pytester, "-p", "no:cacheprovider", f"--mock-api-url={server.url}",
                     "--mock-api-fail-on-error-responses")
        result.assert_outcomes(passed=9)
        # The summary reads the attached server's coverage: every test's requests, not the last one's (the
        # session "partner" was ended with its test, and its requests with it).
        result.stdout.fnmatch_lines(["mock_api coverage: 2 of 8 operations called, 3 of 32 documented responses seen, "
                                     "3 requests"])
        assert requests.get(f"{server.url}/_mock/coverage", timeout=10).json()["requests"] == 3
        # The server kept every test's journal entries, as a CI script saves them; the tests saw their own only.
        journal = requests.get(f"{server.url}/_mock/requests", timeout=10).json()
        assert [(e["method"], e["path"], e["status"]) for e in journal] == [
            ("GET", "/api/academic/petitions", 200), ("POST", "/api/academic/petitions", 202),
            ("GET", "/api/academic/petitions", 401)]


def test_violations_of_every_test_stay_on_the_server_and_fail_their_own_test(pytester: pytest.Pytester) -> None:
    with running_server("--strict") as server:
        consumer(pytester, '''
def test_misspelt(mock_api):
    got = requests.get(f"{mock_api.url}/api/academic/petitions", params={"netd": "x"}, headers=auth(mock_api, [READ]),
                       timeout=10)
    assert got.status_code == 200

def test_clean(mock_api):
    got = requests.get(f"{mock_api.url}/api/petition_types", headers=auth(mock_api, [READ]), timeout=10)
    assert got.status_code == 200 and mock_api.violations == []

def test_misspelt_again(mock_api):
    requests.get(f"{mock_api.url}/api/academic/petitions", params={"netd": "x"}, headers=auth(mock_api, [READ]),
                 timeout=10)
    assert [(v["kind"], v["count"]) for v in mock_api.violations] == [("dropped_filter", 1)]
''')
        result = run(pytester, "-p", "no:cacheprovider", f"--mock-api-url={server.url}", "--mock-api-strict")
        result.assert_outcomes(passed=1, failed=2)
        result.stdout.fnmatch_lines(["FAILED test_consumer.py::test_misspelt*",
                                     "FAILED test_consumer.py::test_misspelt_again*"])
        saved = requests.get(f"{server.url}/_mock/violations", timeout=10).json()
        assert [(v["kind"], v["count"]) for v in saved] == [("dropped_filter", 2)]


def test_the_url_comes_from_the_environment_and_the_token_is_sent(pytester: pytest.Pytester,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with running_server("--control-token", "s3cret") as server:
        _suite(pytester, "s3cret")
        monkeypatch.setenv("MOCK_API_URL", server.url)
        run(pytester, "-p", "no:cacheprovider", "--mock-api-control-token=s3cret").assert_outcomes(passed=9)
        monkeypatch.setenv("MOCK_API_CONTROL_TOKEN", "wrong")
        refused = run(pytester, "-p", "no:cacheprovider", "-k", "each_test_starts")
        refused.assert_outcomes(errors=1)
        refused.stdout.fnmatch_lines([f"--mock-api-url: mock_api at {server.url}: GET /_mock/health answered 401: "
                                      f'{{"detail":"X-Mock-Control-Token is missing or wrong"}}'])
        assert "During handling" not in refused.stdout.str()


def test_the_ini_option_and_a_marker_the_server_cannot_follow(pytester: pytest.Pytester) -> None:
    with running_server() as server:
        pytester.makeini(f"[pytest]\nmock_api_url = {server.url}\n")
        consumer(pytester, '''
def test_attached(mock_api):
    assert mock_api.url == URL

@pytest.mark.mock_api(seed=7)
def test_a_seed_of_its_own(mock_api):
    pass
'''.replace("URL", json.dumps(server.url)))
        result = run(pytester, "-p", "no:cacheprovider")
        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(["*@pytest.mark.mock_api: seed and fixtures are the attached server's own*"])


def test_nothing_at_the_url_fails_at_once_naming_it(pytester: pytest.Pytester) -> None:
    consumer(pytester, "\ndef test_x(mock_api):\n    pass\n")
    result = run(pytester, "-p", "no:cacheprovider", "--mock-api-url=http://127.0.0.1:9")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--mock-api-url: mock_api at http://127.0.0.1:9: GET /_mock/health: "
                                 "ConnectionRefusedError*"])


def test_session_isolation_on_an_attached_server_keeps_every_tests_requests(pytester: pytest.Pytester) -> None:
    with running_server() as server:
        pytester.makeini("[pytest]\nmock_api_isolation = session\n")
        consumer(pytester, '''
@pytest.mark.parametrize("n", range(3))
def test_one_read(mock_api, n):
    assert "/s/test-" in mock_api.url
    got = requests.get(f"{mock_api.url}/api/petition_types", headers=auth(mock_api, [READ]), timeout=10)
    assert got.status_code == 200 and len(mock_api.requests) == 1
''')
        run(pytester, "-p", "no:cacheprovider", f"--mock-api-url={server.url}").assert_outcomes(passed=3)
        listed = requests.get(f"{server.url}/_mock/sessions", timeout=10).json()
        assert [s["name"] for s in listed] == ["default"]  # each test's session ended with it


def test_verification_interception_and_bundles_work_attached_too(
        pytester: pytest.Pytester) -> None:
    # Intercepted calls carry the API's Host: a server that answers only its own names refuses them (421).
    with running_server("--allowed-host", "api.dartmouth.edu") as server:
        consumer(pytester, '''
def read(mock_api):
    got = requests.get(f"{mock_api.url}/api/academic/petitions", params={"netid": "f0027k4"},
                       headers=auth(mock_api, [READ]), timeout=10)
    assert got.status_code == 200

def test_one_read(mock_api):
    read(mock_api)
    mock_api.assert_requested(method="GET", path="/api/academic/petitions", times=1)

def test_counts_only_its_own(mock_api):
    assert mock_api.count_requests(method="GET") == 0  # the server still holds the read before
    mock_api.assert_not_requested(method="GET")
    requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW}, headers=auth(mock_api),
                  timeout=10)
    with pytest.raises(AssertionError) as failed:
        mock_api.assert_requested(method="GET", path="/api/academic/petitions")
    assert str(failed.value).splitlines()[1:3] == [
        "closest requests (up to 5):", "  #2 POST /api/academic/petitions -> 202"]

def test_fails(mock_api):
    read(mock_api)
    assert False

def test_intercepted_and_followed(mock_api):
    with mock_api.intercept():  # a hard-coded URL reaches the attached server
        posted = requests.post("https://api.dartmouth.edu/api/academic/petitions", json={"petition": NEW},
                               headers=auth(mock_api), timeout=10)
    assert posted.status_code == 202
    assert requests.get(mock_api.follow(posted.headers["Location"]), headers=auth(mock_api), timeout=10).ok
    assert [(r.method, r.headers["Host"]) for r in mock_api.requests][0] == ("POST", "api.dartmouth.edu")
''')
        result = run(pytester, "-p", "no:cacheprovider", f"--mock-api-url={server.url}",
                     "--mock-api-bundle-dir=bundles")
        result.assert_outcomes(passed=3, failed=1)
        bundle = json.loads((pytester.path / "bundles" / "test_consumer.py__test_fails.json").read_text())
        assert bundle["test"] == "test_consumer.py::test_fails" and bundle["format"] == "mock_api.snapshot/1"
        # The server kept the whole run's journal; the bundle holds the failed test's entry only.
        journal = [(e["seq"], e["method"], e["path"]) for e in bundle["journal"]]
        assert journal == [(3, "GET", "/api/academic/petitions")]
