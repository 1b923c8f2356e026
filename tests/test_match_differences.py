"""One matcher for rules and verification (scenarios/match.py): each key's difference in words, and a request
matches exactly when it has no difference."""
from __future__ import annotations

from typing import Any

import pytest

from mock_api.scenarios.match import parse_match
from mock_api.service.scopes import READ, WRITE
from test_scenario_rules import NOW, request, token

REQUESTS = [
    request(),
    request("POST", "/api/academic/petitions", body={"petition": {"netid": "f006kdf", "n": 1}}, auth=token()),
    request("GET", "/api/academic/petitions", query={"netid": "f0027k5"}, auth=token(scopes=(READ,))),
    request("HEAD", "/api/tasks/abc/", headers=[("X-Client", "batch-7")], auth=token(exp=NOW - 1)),
    request("POST", "/api/academic/petitions", body=b"not json", mimetype="text/plain"),
]


@pytest.mark.parametrize(("match", "index", "differs"), [
    ({"method": "GET"}, 1, [("method", "wanted GET, got POST")]),
    ({"method": ["GET", "PUT"]}, 1, [("method", "wanted GET or PUT, got POST")]),
    ({"path": ["/api/jwt", "/api/tasks/*"]}, 2,
     [("path", "wanted /api/jwt or /api/tasks/*, got /api/academic/petitions")]),
    ({"query": {"netid": "f0027k4"}}, 2, [("query.netid", "wanted f0027k4, got f0027k5")]),
    ({"query": {"netid": "f0027k4"}}, 0, [("query.netid", "wanted f0027k4, absent")]),
    ({"headers": {"X-Client": "batch-[0-5]"}}, 3, [("headers.x-client", "wanted batch-[0-5], got batch-7")]),
    ({"body": {"petition.netid": "f0027k4", "petition.n": 2}}, 1,
     [("body.petition.netid", "wanted f0027k4, got f006kdf"), ("body.petition.n", "wanted 2, got 1")]),
    ({"body": {"petition.grade_term": None}}, 1, [("body.petition.grade_term", "wanted null, absent")]),
    ({"body": {"petition.netid": "f006kdf"}}, 4, [("body", "not a JSON body")]),
    ({"token": {"scope": [READ, WRITE]}}, 2, [("token.scope", f"{WRITE} not held")]),
    ({"token": {"sub": "f00rd*"}}, 1, [("token.sub", "wanted f00rd*, got f0057pn")]),
    ({"token": {"sub": "*"}}, 3, [("token", "no valid token (expired)")]),
    ({"method": "GET", "path": "/api/tasks/*"}, 3, []),  # HEAD is a GET; a trailing slash never matters
])
def test_each_key_says_how_a_request_differs(match: dict[str, Any], index: int, differs: list[tuple[str, str]]) -> None:
    assert parse_match(match).differences(REQUESTS[index]) == differs


@pytest.mark.parametrize("match", [
    {}, {"method": "POST"}, {"path": "/api/**"}, {"query": {"netid": "f00*"}}, {"headers": {"x-client": "*"}},
    {"body": {"petition.netid": "f006kdf"}}, {"token": {"scope": READ}}, {"token": {"sub": "f0057pn"}},
    {"method": "POST", "body": {"petition.n": 1.0}, "token": {"scope": WRITE}},
])
def test_a_request_matches_exactly_when_nothing_differs(match: dict[str, Any]) -> None:
    compiled = parse_match(match)
    for plain in REQUESTS:
        assert compiled.matches(plain) is (compiled.differences(plain) == []), (match, plain.method, plain.path)
    assert any(compiled.matches(plain) for plain in REQUESTS)

