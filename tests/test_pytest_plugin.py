"""The pytest plugin as a consumer meets it: small test suites run by pytester, no conftest of theirs."""
from __future__ import annotations

import json
import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from plugin_consumer import consumer, run
from support import ROOT

pytestmark = pytest.mark.slow  # pytester runs consumer test suites, each starting a server

def test_the_package_registers_the_plugin_as_a_pytest11_entry_point() -> None:
    registered = {e.name: e.value for e in entry_points(group="pytest11")}
    assert registered.get("mock_api") == "mock_api.testing.plugin"


def test_fixture_is_available_without_conftest_or_p_option(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
def test_health(mock_api):
    answer = requests.get(f"{mock_api.url}/_mock/health", timeout=10)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
''')
    # A fresh interpreter with no -p: only the installed entry point can have loaded the plugin.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=1)


def test_server_binds_127_0_0_1_on_a_port_the_os_picked(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
import re, socket

def test_url(mock_api, mock_api_server):
    match = re.fullmatch(r"http://127\\.0\\.0\\.1:(\\d+)", mock_api.url)
    assert match and int(match.group(1)) > 0
    assert mock_api_server.thread.socket.getsockname() == ("127.0.0.1", int(match.group(1)))
    with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=5):
        pass

KEPT_OPEN = requests.Session()  # a keep-alive connection still open when the session ends

def test_same_server_for_the_whole_session(mock_api, mock_api_server):
    assert mock_api.url == mock_api_server.url
    assert KEPT_OPEN.get(f"{mock_api.url}/_mock/health", timeout=10).status_code == 200
''')
    run(pytester).assert_outcomes(passed=2)


def test_state_is_reset_between_tests(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
def test_a_writes(mock_api):
    mock_api.freeze()
    posted = requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW},
                           headers=auth(mock_api), timeout=10)
    assert posted.status_code == 202
    mock_api.advance(3600)
    mock_api.add_student("zz9test")
    got = requests.get(f"{mock_api.url}/api/academic/petitions/2911310-Q41-24W-2023-2024",
                       headers=auth(mock_api), timeout=10)
    assert got.status_code == 200
    assert len(mock_api.tasks) == 1 and mock_api.state.clock.frozen

def test_b_does_not_see_it(mock_api):
    assert mock_api.requests == [] and mock_api.tasks == []
    assert not mock_api.state.clock.frozen
    assert mock_api.state.backend.student("zz9test") is None
    got = requests.get(f"{mock_api.url}/api/academic/petitions/2911310-Q41-24W-2023-2024",
                       headers=auth(mock_api), timeout=10)
    assert got.status_code == 404
''')
    run(pytester).assert_outcomes(passed=2)


def test_journal_gives_each_request_as_an_object(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
from mock_api.testing.harness import RecordedRequest

def test_journal(mock_api):
    requests.get(f"{mock_api.url}/api/academic/petitions", params={"netid": "f0027k4"},
                 headers=auth(mock_api), timeout=10)
    requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW}, timeout=10)
    requests.get(f"{mock_api.url}/_mock/clock", timeout=10)  # control calls are not journalled
    first, second = mock_api.requests
    assert isinstance(first, RecordedRequest)
    assert (first.seq, first.method, first.path, first.status) == (1, "GET", "/api/academic/petitions", 200)
    assert first.query == {"netid": ["f0027k4"]}
    assert first.headers["Authorization"] == "Bearer ***"
    assert (second.method, second.status, second.json()) == ("POST", 401, {"petition": NEW})
''')
    run(pytester).assert_outcomes(passed=1)


def test_clock_levers_drive_the_task_lifecycle(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
def test_clock(mock_api):
    start = mock_api.freeze()
    assert mock_api.now == start
    posted = requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW},
                           headers=auth(mock_api), timeout=10)
    task_url = mock_api.url + posted.headers["Location"]
    assert requests.get(task_url, headers=auth(mock_api), timeout=10).json()["status"] == "accepted"
    assert mock_api.advance(0.5) == start + 0.5
    assert requests.get(task_url, headers=auth(mock_api), timeout=10).json()["status"] == "accepted"
    mock_api.advance(0.5)
    assert requests.get(task_url, headers=auth(mock_api), timeout=10).json()["status"] == "complete"
    assert [t["status"] for t in mock_api.tasks] == ["complete"]
    assert mock_api.unfreeze() >= start + 1
    assert not mock_api.state.clock.frozen

def test_token_expires_by_the_emulator_clock(mock_api):
    headers = auth(mock_api, [READ])
    url = f"{mock_api.url}/api/petition_types"
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    mock_api.advance(mock_api.state.config.token_lifetime)
    assert requests.get(url, headers=headers, timeout=10).status_code == 401
''')
    run(pytester).assert_outcomes(passed=2)


def test_marker_seed_and_fixtures_serve_another_snapshot_for_one_test(pytester: pytest.Pytester) -> None:
    from mock_api.config import default_fixtures_dir
    fixtures = pytester.mkdir("my_fixtures")
    for source in default_fixtures_dir().glob("*.yaml"):
        text = source.read_text(encoding="utf-8")
        if source.name == "students.yaml":
            text += "  - netid: zz0mark\n    pidm: 1234567\n    first_name: Marked\n    last_name: Fixture\n"
        (fixtures / source.name).write_text(text, encoding="utf-8")
    consumer(pytester, '''
SEEN = {}

def generated(mock_api):
    return sorted(mock_api.state.dataset.students)

def test_1_default(mock_api):
    SEEN['default'] = generated(mock_api)

@pytest.mark.mock_api(seed=7)
def test_2_other_seed(mock_api):
    assert mock_api.state.dataset.seed == 7
    assert generated(mock_api) != SEEN['default']
    # The server itself answers from the seed-7 snapshot.
    netid = next(n for n in generated(mock_api) if n not in SEEN['default'])
    got = requests.get(f"{mock_api.url}/api/students/{netid}/petitions", headers=auth(mock_api), timeout=10)
    assert got.status_code == 200

@pytest.mark.mock_api(fixtures="my_fixtures")
def test_3_other_fixtures(mock_api):
    got = requests.get(f"{mock_api.url}/api/students/zz0mark/petitions", headers=auth(mock_api), timeout=10)
    assert got.status_code == 200 and got.json() == []

def test_4_back_to_the_session_snapshot(mock_api):
    assert generated(mock_api) == SEEN['default']
    got = requests.get(f"{mock_api.url}/api/students/zz0mark/petitions", headers=auth(mock_api), timeout=10)
    assert got.status_code == 404

@pytest.mark.mock_api(seed=7)
def test_5_same_seed_same_state_object(mock_api, mock_api_server):
    assert mock_api.state is mock_api_server.pool.get(seed=7)[0]
    assert mock_api.requests == []
''')
    run(pytester).assert_outcomes(passed=5)


def test_marker_rejects_unknown_arguments_clearly(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
@pytest.mark.mock_api(sead=7)
def test_typo(mock_api):
    pass

@pytest.mark.mock_api(seed="7")
def test_wrong_type(mock_api):
    pass
''')
    result = run(pytester)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*@pytest.mark.mock_api: takes only the keyword arguments*sead*",
                                 "*@pytest.mark.mock_api: seed must be an int, got '7'*"])


def test_marker_is_declared_for_strict_markers(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
@pytest.mark.mock_api(seed=3)
def test_marked(mock_api):
    assert mock_api.state.dataset.seed == 3
''')
    run(pytester, "--strict-markers").assert_outcomes(passed=1)
    assert "mock_api(scenario=None, seed=None, fixtures=None" in run(pytester, "--markers").stdout.str()


def test_token_is_what_post_api_jwt_issues(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
import jwt

def test_token(mock_api):
    mock_api.freeze()
    issued = requests.post(f"{mock_api.url}/api/jwt", params={"scope": f"{READ} nope:scope"},
                           headers={"Authorization": "dev-readonly"}, timeout=10).json()
    mine = mock_api.token(scopes=[READ, "nope:scope"], key="dev-readonly")
    assert mine == issued["jwt"]
    claims = jwt.decode(mock_api.token(), options={"verify_signature": False})
    assert claims["sub"] == "f0057pn" and claims["scope"].split(",") == list(
        mock_api.state.dataset.accounts["dev-readwrite"].scopes)
    assert set(mock_api.api_keys) == {"dev-readwrite", "dev-readonly", "dev-noscopes"}
    with pytest.raises(ValueError, match="unknown API key 'nokey'"):
        mock_api.token(key="nokey")
''')
    run(pytester).assert_outcomes(passed=1)


def test_added_student_and_petition_are_served_for_one_test(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
def test_1_add(mock_api):
    student = mock_api.add_student("zz1new", pidm=7654321)
    record = mock_api.add_petition("zz1new", "Q31", grade_term="25F", effective_date="2025-01-02T05:00:00Z")
    assert record["id"] == "7654321-Q31-25F-APPV"
    listed = requests.get(f"{mock_api.url}/api/students/zz1new/petitions", headers=auth(mock_api), timeout=10)
    assert listed.json() == [record]
    one = requests.get(f"{mock_api.url}/api/academic/petitions/7654321-Q31-25F-APPV", headers=auth(mock_api),
                       timeout=10)
    assert one.json() == record and list(record) == [
        "id", "netid", "petition_code", "petition_name", "origin_code", "origin_name", "school", "decision",
        "grade_term", "effective_date", "cache_date"]
    with pytest.raises(ValueError, match="exists already"):
        mock_api.add_petition("zz1new", "Q31", grade_term="25F", effective_date="2025-01-02T05:00:00Z")
    with pytest.raises(ValueError, match="unknown petition code 'A05'"):
        mock_api.add_petition("zz1new", "A05")

def test_2_gone(mock_api):
    listed = requests.get(f"{mock_api.url}/api/students/zz1new/petitions", headers=auth(mock_api), timeout=10)
    assert listed.status_code == 404
    one = requests.get(f"{mock_api.url}/api/academic/petitions/7654321-Q31-25F-APPV", headers=auth(mock_api),
                       timeout=10)
    assert one.status_code == 404
''')
    run(pytester).assert_outcomes(passed=2)


STRICT_SUITE = '''
def test_provokes_401(mock_api):
    assert requests.get(f"{mock_api.url}/api/academic/petitions", timeout=10).status_code == 401

def test_declares_it(mock_api):
    mock_api.expect_errors(401)
    assert requests.get(f"{mock_api.url}/api/academic/petitions", timeout=10).status_code == 401

@pytest.mark.mock_api(expect_errors=[404])
def test_marker_declares_it(mock_api):
    got = requests.get(f"{mock_api.url}/api/academic/petitions/nope", headers=auth(mock_api), timeout=10)
    assert got.status_code == 404

@pytest.mark.mock_api(fail_on_error_responses=False)
def test_opts_out(mock_api):
    assert requests.get(f"{mock_api.url}/api/academic/petitions", timeout=10).status_code == 401
'''


def test_error_responses_pass_by_default(pytester: pytest.Pytester) -> None:
    consumer(pytester, STRICT_SUITE)
    run(pytester).assert_outcomes(passed=4)


def test_strict_flag_fails_a_test_with_an_undeclared_error_response(pytester: pytest.Pytester) -> None:
    consumer(pytester, STRICT_SUITE)
    result = run(pytester, "--mock-api-fail-on-error-responses")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*_ test_provokes_401 _*",
                                 "mock_api: the client got error responses this test did not declare*",
                                 "  GET /api/academic/petitions -> 401"])
    assert "error" not in result.parseoutcomes()  # a failure of the test itself, not of its teardown


def test_strict_ini_option_and_marker_opt_in(pytester: pytest.Pytester) -> None:
    consumer(pytester, STRICT_SUITE)
    pytester.makeini("[pytest]\nmock_api_fail_on_error_responses = true\n")
    run(pytester).assert_outcomes(passed=3, failed=1)
    consumer(pytester, '''
@pytest.mark.mock_api(fail_on_error_responses=True)
def test_opted_in(mock_api):
    requests.get(f"{mock_api.url}/api/academic/petitions", timeout=10)
''', name="test_optin")
    pytester.makeini("[pytest]\n")
    run(pytester, "test_optin.py").assert_outcomes(failed=1)


def test_failing_readiness_check_is_a_clear_quick_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmock_api_startup_timeout = 0.3\n")
    consumer(pytester, '''
import mock_api.testing.harness
mock_api.testing.harness.HEALTH_PATH = "/_mock/not-a-health-check"  # the probe gets 404 forever

def test_one(mock_api):
    pass

def test_two(mock_api):
    pass
''')
    # The subprocess timeout only guards against a hang; the run ends after ~0.3 s of probing.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(errors=2)
    expected = ("*mock_api at http://127.0.0.1:*/_mock/not-a-health-check was not ready "
                "within 0.3 s: answered HTTP 404*")
    result.stdout.fnmatch_lines([expected])


def test_each_xdist_worker_gets_its_own_server(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
import json, os, pathlib

@pytest.mark.parametrize("n", range(6))
def test_record(mock_api, n):
    worker = os.environ["PYTEST_XDIST_WORKER"]
    assert requests.get(f"{mock_api.url}/_mock/health", timeout=10).status_code == 200
    out = pathlib.Path(__file__).parent / f"seen-{worker}-{n}.json"
    out.write_text(json.dumps({"worker": worker, "url": mock_api.url}))
''')
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=6)
    seen = [json.loads(p.read_text()) for p in pytester.path.glob("seen-*.json")]
    urls = {s["worker"]: {s["url"]} for s in seen}
    for s in seen:
        urls[s["worker"]].add(s["url"])
    assert sorted(urls) == ["gw0", "gw1"]
    assert all(len(u) == 1 for u in urls.values())  # one server per worker for its whole session
    ports = {re.sub(r".*:", "", next(iter(u))) for u in urls.values()}
    assert len(ports) == 2  # and no two workers share a port


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_and_reference_examples_pass_as_written(pytester: pytest.Pytester) -> None:
    (readme_test,) = python_blocks(ROOT / "README.md")
    (reference_test,) = python_blocks(ROOT / "docs" / "reference.md")
    pytester.makepyfile(test_readme=readme_test, test_reference=reference_test)
    run(pytester, "--mock-api-fail-on-error-responses").assert_outcomes(passed=2)


def test_scenario_by_marker_and_by_handle_lasts_one_test(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
from mock_api.scenarios.catalog import ScenarioError

@pytest.mark.mock_api(scenario="slow_tasks")
def test_1_marker_scenario(mock_api):
    assert mock_api.state.scenario_name == "slow_tasks"
    mock_api.freeze()
    posted = requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW},
                           headers=auth(mock_api), timeout=10)
    task_url = mock_api.url + posted.headers["Location"]
    mock_api.advance(29)
    assert requests.get(task_url, headers=auth(mock_api), timeout=10).json()["status"] == "accepted"
    mock_api.advance(1)
    assert requests.get(task_url, headers=auth(mock_api), timeout=10).json()["status"] == "complete"

def test_2_back_to_the_default(mock_api):
    assert mock_api.state.scenario_name == "default"

def test_3_use_scenario(mock_api):
    url = f"{mock_api.url}/api/petition_types"
    assert requests.get(url, headers=auth(mock_api), timeout=10).status_code == 200
    mock_api.use_scenario("unavailable")
    assert requests.get(url, headers=auth(mock_api), timeout=10).status_code == 503
    with pytest.raises(ScenarioError):
        mock_api.use_scenario("no_such_scenario")

@pytest.mark.mock_api(scenario="no_such_scenario")
def test_4_marker_unknown_scenario(mock_api):
    pass
''')
    result = run(pytester)
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at setup of test_4_marker_unknown_scenario*", "*no_such_scenario*"])


CONTRACT_BREAKER = '''
def test_misspelt_filter(mock_api):
    response = requests.get(f"{mock_api.url}/api/academic/petitions", params={"netidd": "f0027k4"},
                            headers=auth(mock_api, (READ,)))
    assert response.status_code == 200  # the real API answers too: with every record
    assert [v["kind"] for v in mock_api.violations] == ["dropped_filter"]
'''


def test_contract_violations_are_recorded_and_pass_by_default(pytester: pytest.Pytester) -> None:
    consumer(pytester, CONTRACT_BREAKER)
    run(pytester).assert_outcomes(passed=1)


@pytest.mark.parametrize("how", ["flag", "ini", "marker"])
def test_strict_contract_fails_the_test_with_a_readable_message(pytester: pytest.Pytester, how: str) -> None:
    body = CONTRACT_BREAKER
    args: list[str] = []
    if how == "flag":
        args.append("--mock-api-strict")
    elif how == "ini":
        pytester.makeini("[pytest]\nmock_api_strict = true\n")
    else:
        body = body.replace("def test_misspelt_filter", "@pytest.mark.mock_api(strict=True)\ndef test_misspelt_filter")
    consumer(pytester, body)
    result = run(pytester, *args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*mock_api strict mode: 1 contract violation(s) by the consumer:*", "*netidd*"])


def test_marker_can_turn_strict_contract_off_for_one_test(pytester: pytest.Pytester) -> None:
    consumer(pytester, CONTRACT_BREAKER.replace("def test_misspelt_filter",
                                                "@pytest.mark.mock_api(strict=False)\ndef test_misspelt_filter"))
    run(pytester, "--mock-api-strict").assert_outcomes(passed=1)


def test_session_ends_with_a_coverage_summary(pytester: pytest.Pytester) -> None:
    consumer(pytester, CONTRACT_BREAKER)
    result = run(pytester)
    result.stdout.fnmatch_lines(["*mock_api coverage*",
                                 "mock_api coverage: 1 of * operations called, 1 of * documented responses seen, "
                                 "1 requests",
                                 "  GET /api/academic/petitions: 200 x1",
                                 "  scopes granted: api:academic:petitions:read; refused (403 seen): none",
                                 "* error paths never exercised — `--mock-api-coverage=full` lists them"])
    full = run(pytester, "--mock-api-coverage=full").stdout
    full.fnmatch_lines(["  error paths never exercised (*):", "    GET /api/academic/petitions 403"])
    pytester.makeini("[pytest]\nmock_api_coverage_summary = false\n")
    assert "mock_api coverage" not in run(pytester).stdout.str()
