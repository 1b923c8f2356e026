"""Request verification over real HTTP: the handle's count/assert with near misses, and POST /_mock/verify."""
from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests

from live_server import TIMEOUT, Live, live_server
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from mock_api.testing.harness import MockApiHandle
from support import ROOT


@pytest.fixture
def live(state: MockState) -> Iterator[Live]:
    with live_server(state) as server:
        yield server


@pytest.fixture
def handle(live: Live) -> MockApiHandle:
    return MockApiHandle(live.url, live.state)


def _traffic(live: Live) -> None:
    """seq 1: the token; 2, 3: reads by netid; 4: a POST with a read-only token (403)."""
    headers = live.token(scopes=(READ,))
    assert live.get("/api/academic/petitions", headers, {"netid": "f0027k5"}).status_code == 200
    assert live.get("/api/academic/petitions", headers, {"netid": "f0027k5", "pagesize": "1"}).status_code == 200
    got = requests.post(f"{live.url}/api/academic/petitions", json={"petition": {"netid": "f0027k4"}},
                        headers=headers, timeout=TIMEOUT)
    assert got.status_code == 403


def test_count_and_assert_requested_use_the_rule_keys(live: Live, handle: MockApiHandle) -> None:
    _traffic(live)
    assert handle.count_requests(method="GET", path="/api/academic/petitions") == 2
    assert handle.count_requests(query={"netid": "f00*"}, token={"scope": READ}) == 2
    assert handle.count_requests(body={"petition.netid": "f0027k4"}) == 1
    assert handle.count_requests(headers={"authorization": "Bearer *"}) == 3
    handle.assert_requested(method="POST", times=2)
    handle.assert_requested(path="/api/**", at_least=4, at_most=4)
    handle.assert_not_requested(method="DELETE")
    with pytest.raises(ValueError, match=r"^match.method: unknown method 'GTE'"):
        handle.count_requests(method="GTE")


def test_a_failed_assertion_names_the_counts_and_the_near_misses(live: Live, handle: MockApiHandle) -> None:
    _traffic(live)
    with pytest.raises(AssertionError) as failed:
        handle.assert_requested(method="GET", query={"netid": "f0027k4"}, times=1)
    assert str(failed.value) == "\n".join([
        'mock_api: expected exactly 1 request(s) matching {"method": "GET", "query": {"netid": "f0027k4"}}, got 0',
        "closest requests (up to 5):",
        "  #3 GET /api/academic/petitions -> 200",
        "      query.netid: wanted f0027k4, got f0027k5",
        "  #2 GET /api/academic/petitions -> 200",
        "      query.netid: wanted f0027k4, got f0027k5",
        "  #4 POST /api/academic/petitions -> 403",
        "      method: wanted GET, got POST",
        "      query.netid: wanted f0027k4, absent",
        "  #1 POST /api/jwt -> 200",
        "      method: wanted GET, got POST",
        "      query.netid: wanted f0027k4, absent"])
    assert textwrap.indent(str(failed.value), "  ") in (ROOT / "docs" / "reference.md").read_text()  # shown there
    with pytest.raises(AssertionError) as failed:
        handle.assert_requested(method="POST", token={"scope": WRITE}, times=1)
    assert f"```text\n{failed.value}\n```" in (ROOT / "docs" / "verifying.md").read_text()
    with pytest.raises(AssertionError) as failed:
        handle.assert_requested(method="POST", path="/api/academic/petitions", token={"scope": WRITE})
    assert str(failed.value).splitlines()[2:4] == [
        "  #4 POST /api/academic/petitions -> 403", f"      token.scope: {WRITE} not held"]
    with pytest.raises(AssertionError, match=r"^mock_api: expected exactly 0 request\(s\) matching "
                                             r'\{"method": "POST"\}, got 2 \(seq 1, 4\)'):
        handle.assert_not_requested(method="POST")


def test_post_verify_answers_the_verdict(live: Live) -> None:
    _traffic(live)
    url = f"{live.url}/_mock/verify"
    got = requests.post(url, json={"match": {"method": "GET", "query": {"netid": "f0027k5"}}, "times": 2},
                        timeout=TIMEOUT)
    assert got.status_code == 200
    assert got.json() == {"ok": True, "count": 2, "matched": [2, 3], "dropped": 0, "near_misses": []}
    got = requests.post(url, json={"match": {"method": "POST", "path": "/api/academic/petitions",
                                             "token": {"scope": WRITE}}}, timeout=TIMEOUT)
    assert got.json() == {"ok": False, "count": 0, "matched": [], "dropped": 0, "near_misses": [
        {"seq": 4, "method": "POST", "path": "/api/academic/petitions", "differs": [f"token.scope: {WRITE} not held"]},
        {"seq": 3, "method": "GET", "path": "/api/academic/petitions",
         "differs": ["method: wanted POST, got GET", f"token.scope: {WRITE} not held"]},
        {"seq": 2, "method": "GET", "path": "/api/academic/petitions",
         "differs": ["method: wanted POST, got GET", f"token.scope: {WRITE} not held"]},
        {"seq": 1, "method": "POST", "path": "/api/jwt",
         "differs": ["path: wanted /api/academic/petitions, got /api/jwt", "token: no valid token (no bearer token)"]}]}
    assert requests.post(url, json={"match": {"path": "/api/**"}, "at_most": 3}, timeout=TIMEOUT).json()["ok"] is False


def test_verifying_md_shows_the_bytes_its_curl_block_gets(live: Live) -> None:
    headers = {"Authorization": "dev-readwrite"}
    assert requests.post(f"{live.url}/api/jwt", params={"scope": READ}, headers=headers,
                         timeout=TIMEOUT).status_code == 200
    url = f"{live.url}/_mock/verify"
    answers = [requests.post(url, json={"match": {"method": "POST", "path": "/api/jwt"}, "times": 1}, timeout=TIMEOUT),
               requests.post(url, json={"match": {"method": "GET"}}, timeout=TIMEOUT)]
    assert [answer.status_code for answer in answers] == [200, 200]
    shown = "\n".join(answer.text for answer in answers)
    assert f"```text\n{shown}\n```" in (ROOT / "docs" / "verifying.md").read_text()


@pytest.mark.parametrize(("body", "detail"), [
    ({"match": {"method": "GTE"}}, "match.method: unknown method 'GTE' (expected one of: DELETE, GET, HEAD, "
                                   "OPTIONS, PATCH, POST, PUT)"),
    ({"match": {"query": {"netid": "f00["}}}, "match.query.netid: bad glob 'f00[': [ opens a class that never "
                                              "closes (write [[] for a [)"),
    ({"match": {"token": {"aud": "x"}}}, "match.token.aud: unknown key (expected sub or scope) (expected one of: "
                                         "sub, scope)"),
    ({"match": {"probability": 0.5}}, "match.probability: a scenario rule's draw, not something a request carries "
                                      "(expected only: method, path, query, headers, body, token)"),
    ({"match": {}, "times": 1, "at_most": 2}, "times: give times alone, or at_least and/or at_most"),
    ({"match": {}, "times": -1}, "times: expected a whole number >= 0"),
    ({"match": {}, "allow_dropped": "yes"}, "allow_dropped: expected true or false"),
    ({"match": {}, "count": 1}, 'body must be {"match": {...}} with times, or at_least and/or at_most (whole '
                                "numbers >= 0) and allow_dropped (true or false); unknown key 'count'"),
    ([], 'body must be {"match": {...}} with times, or at_least and/or at_most (whole numbers >= 0) and '
         "allow_dropped (true or false); unknown key '(not an object)'"),
])
def test_post_verify_refuses_a_bad_match_naming_the_key(live: Live, body: object, detail: str) -> None:
    got = requests.post(f"{live.url}/_mock/verify", json=body, timeout=TIMEOUT)
    assert (got.status_code, got.json()) == (400, {"detail": detail})


def test_a_session_verifies_its_own_requests(live: Live) -> None:
    token = live.token()
    assert requests.get(f"{live.url}/s/alpha/api/petition_types", headers=token, timeout=TIMEOUT).status_code == 200
    body = {"match": {"path": "/api/petition_types"}, "times": 1}
    alpha = requests.post(f"{live.url}/s/alpha/_mock/verify", json=body, timeout=TIMEOUT).json()
    assert (alpha["ok"], alpha["matched"]) == (True, [1])
    root = requests.post(f"{live.url}/_mock/verify", json=body, timeout=TIMEOUT).json()
    assert (root["ok"], root["count"], root["near_misses"][0]["path"]) == (False, 0, "/api/jwt")


def test_dropped_entries_make_an_upper_bound_fail_unless_allowed(state: MockState) -> None:
    small = MockState(replace(state.config, journal_limit=2), dataset=state.dataset)
    with live_server(small) as live:
        headers = live.token()
        for _ in range(3):
            live.get("/api/petition_types", headers)
        url = f"{live.url}/_mock/verify"
        match = {"match": {"path": "/api/petition_types"}}
        got = requests.post(url, json={**match, "times": 2}, timeout=TIMEOUT).json()
        assert (got["ok"], got["count"], got["matched"], got["dropped"]) == (False, 2, [3, 4], 2)
        assert requests.post(url, json={**match, "times": 2, "allow_dropped": True}, timeout=TIMEOUT).json()["ok"]
        assert requests.post(url, json={**match, "at_least": 2}, timeout=TIMEOUT).json()["ok"]
        with pytest.raises(AssertionError, match="the journal dropped 2 older entries"):
            MockApiHandle(live.url, small).assert_requested(path="/api/petition_types", times=2)
