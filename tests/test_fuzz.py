"""Bad input over every endpoint and the control API: never a 500, always JSON, state kept on rejection."""
from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_api.app import create_app
from mock_api.config import DEV_SIGNING_KEY, MockConfig
from mock_api.dataset import Dataset
from mock_api.records import PETITION_FIELDS
from mock_api.spec import check_response
from mock_api.state import MockState
from mock_api.tokens import issue

FROZEN_AT = 1732131053.0
LIMIT = 2048  # a small body limit, so that over-limit bodies stay cheap to generate
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
            "decision": "APPV", "grade_term": "24W", "user_netid": "f006s0b"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tokens(dataset: Dataset) -> dict[str, str]:
    """Valid tokens of each account, and every kind of broken one."""
    accounts = dataset.accounts
    scopes = ["api:academic:petitions:read", "api:academic:petitions:write"]
    rw = issue(accounts["dev-readwrite"], scopes, FROZEN_AT, 10800, DEV_SIGNING_KEY)[0]
    header, payload, signature = rw.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = b64(json.dumps({**claims, "sub": "f00evil"}).encode())
    none_header = b64(b'{"alg":"none","typ":"JWT"}')
    return {
        "rw": rw,
        "ro": issue(accounts["dev-readonly"], scopes[:1], FROZEN_AT, 10800, DEV_SIGNING_KEY)[0],
        "none": issue(accounts["dev-noscopes"], [], FROZEN_AT, 10800, DEV_SIGNING_KEY)[0],
        "expired": issue(accounts["dev-readwrite"], scopes, FROZEN_AT - 20000, 10800, DEV_SIGNING_KEY)[0],
        "other-key": issue(accounts["dev-readwrite"], scopes, FROZEN_AT, 10800, "another-key-" + "x" * 32)[0],
        "tampered": f"{header}.{forged}.{signature}",
        "alg-none": f"{none_header}.{payload}.",
        "alg-none-signed": f"{none_header}.{payload}.{signature}",
        "bad-signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "truncated": rw[: len(rw) // 2],
        "two-parts": f"{header}.{payload}",
    }


@pytest.fixture(scope="module")
def token_set(dataset: Dataset) -> dict[str, str]:
    return tokens(dataset)


def fresh(dataset: Dataset) -> tuple[Flask, MockState]:
    state = MockState(MockConfig(frozen_clock_at=FROZEN_AT, max_body_bytes=LIMIT), dataset=dataset)
    return create_app(state=state), state


def fingerprint(state: MockState) -> Any:
    """What a rejected request must leave as it was (the journal aside, which records every call)."""
    now = state.clock.now()
    # Once a fuzzed call unfroze the clock, real time moves it: only a frozen instant can be compared.
    return (id(state.backend), now if state.clock.frozen else None, state.clock.frozen, len(state.backend.created),
            json.dumps(state.backend.tasks(now), sort_keys=True))


segments = st.one_of(
    st.sampled_from(["2907841-Q25-24W=L-APPV", "f0027k4", "f006s0b", "Q41", "Q24", "A05",
                     "000000000000000000000000", "673e38ed50631dbf93000001", "zzzzzzzzzzzzzzzzzzzzzzzz",
                     "673e38ed50631dbf9300000", "673E38ED50631DBF93000001", "..", ".", "%ff%fe", "%00", "a/b"]),
    st.text(max_size=40),
    st.from_regex(r"[0-9a-fA-F]{20,28}", fullmatch=True),
)
known_keys = st.sampled_from([*PETITION_FIELDS, "pagesize", "page", "continuation_key", "scope"])
query_keys = st.one_of(known_keys, known_keys, known_keys, st.text(max_size=12))
query_values = st.one_of(
    st.sampled_from(["", "*", "Q*", ">=2024", "<", "0", "-1", "²", "١٢", "9" * 40, "1e9", "f0027k4", "None"]),
    st.text(max_size=30))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)
bodies = st.one_of(
    st.none(),
    st.binary(max_size=200),
    st.sampled_from([b"\xff\xfe{}", b'{"petition": NaN}', b"[" * 100 + b"]" * 100, b'{"seconds": 1e999}',
                     b"x" * LIMIT, b"x" * (LIMIT + 1), b"{" * 3000]),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(list(PETITION)), json_values, max_size=7).map(
        lambda p: json.dumps({"petition": {**PETITION, **p}}).encode()),
    st.builds(lambda n: json.dumps({"seconds": n}).encode(), st.one_of(st.integers(), st.floats(), st.text())),
)
content_types = st.sampled_from([None, "application/json", "application/json; charset=latin-1", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                 "application/merge-patch+json", "garbage/;;;"])
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)


@st.composite
def authorizations(draw: st.DrawFn, token_set: dict[str, str]) -> str | None:
    kind = draw(st.sampled_from(["none", "token", "raw", "scheme", "text"]))
    if kind == "none":
        return None
    if kind == "token":
        scheme = draw(st.sampled_from(["Bearer ", "bearer ", "Bearer  ", "Basic ", "", "Token "]))
        return scheme + token_set[draw(st.sampled_from(sorted(token_set)))]
    if kind == "raw":
        return draw(st.sampled_from(["dev-readwrite", "dev-readonly", "dev-noscopes", "nope", ""]))
    if kind == "scheme":
        return draw(st.sampled_from(["Bearer", "Bearer ", "Bearer a.b.c", "Bearer ....", "Bearer \x7f"]))
    return draw(header_text)


def route_paths(app: Flask) -> list[str]:
    """Every route of the app, its variables as {name} to fill."""
    return sorted(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()
                  if rule.endpoint != "static")


@st.composite
def requests_(draw: st.DrawFn, paths: list[str], token_set: dict[str, str]) -> dict[str, Any]:
    if draw(st.integers(0, 9)) == 0:
        path = draw(st.sampled_from(["/", "/api/", "/_mock/", "/api/academic/"])) + quote(draw(st.text(max_size=30)))
    else:
        path = draw(st.sampled_from(paths))
        while "{" in path:
            start, end = path.index("{"), path.index("}")
            path = path[:start] + quote(draw(segments), safe="%") + path[end + 1:]
    query = urlencode(draw(st.lists(st.tuples(query_keys, query_values), max_size=5)))
    headers = {}
    authorization = draw(authorizations(token_set))
    if authorization is not None:
        headers["Authorization"] = authorization
    content_type = draw(content_types)
    if content_type:
        headers["Content-Type"] = content_type
    for name, value in draw(st.lists(st.tuples(st.sampled_from(["X-Request-ID", "X-Forwarded-For", "Accept",
                                                               "X-Custom", "Content-Encoding"]), header_text),
                                     max_size=2)):
        headers[name] = value
    return {"method": draw(st.sampled_from(METHODS)), "path": path + (f"?{query}" if query else ""),
            "headers": headers, "data": draw(bodies)}


def check_answer(client: FlaskClient, state: MockState, call: dict[str, Any]) -> int:
    before, journal_before = fingerprint(state), len(state.journal.entries())
    response = client.open(call["path"], method=call["method"], headers=call["headers"], data=call["data"])
    status = response.status_code
    assert status < 500, (call, response.get_data())
    if call["method"] not in ("HEAD", "OPTIONS"):
        assert response.mimetype == "application/json", (call, response.get_data())
        json.loads(response.get_data())  # strict JSON: no NaN, no truncated body
    if status >= 400:
        assert fingerprint(state) == before, call
    if call["data"] is not None and len(call["data"]) > LIMIT:
        assert status == 413
        if call["method"] != "HEAD":
            assert response.get_json() == {"detail": f"Request body is larger than {LIMIT} bytes"}
    if not response.request.path.startswith("/_mock"):
        assert len(state.journal.entries()) == journal_before + 1
    assert response.headers["X-Request-ID"]
    return status


def test_fuzz_every_endpoint(dataset: Dataset, token_set: dict[str, str]) -> None:
    app, state = fresh(dataset)
    paths = route_paths(app)
    assert "/api/tasks/{task_id}" in paths and "/_mock/clock/advance" in paths
    client = app.test_client()

    @FUZZ
    @given(call=requests_(paths, token_set))
    def run(call: dict[str, Any]) -> None:
        check_answer(client, state, call)
    run()
    # Still serving after everything the fuzzer sent: the seed's sample reads back unchanged.
    state.reset()
    got = client.get("/api/academic/petitions?netid=f0027k4", headers={"Authorization": f"Bearer {token_set['rw']}"})
    assert [r["id"] for r in got.get_json()] == ["2907841-Q25-24W=L-APPV", "2907841-Q24--FIVEYEAR"]


def test_fuzz_reads_and_writes_with_a_valid_token(dataset: Dataset, token_set: dict[str, str]) -> None:
    """The same checks where a valid token gets past authentication to queries, paths and bodies."""
    app, state = fresh(dataset)
    paths = [p for p in route_paths(app) if p.startswith("/api/") and p != "/api/jwt"]
    client = app.test_client()
    valid = st.sampled_from([token_set["rw"], token_set["ro"]]).map(lambda t: {"Authorization": f"Bearer {t}"})

    @FUZZ
    @given(call=requests_(paths, token_set), headers=valid, method=st.sampled_from(["GET", "GET", "POST"]))
    def run(call: dict[str, Any], headers: dict[str, str], method: str) -> None:
        call.update(method=method, headers={**call["headers"], **headers})
        if method == "POST":
            call["headers"]["Content-Type"] = "application/json"
        check_answer(client, state, call)
    run()


numbers = st.one_of(st.text(max_size=8), st.integers().map(str), st.sampled_from(["²", "١٢", "9" * 5000, " 7 ", "+3"]),
                    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=6))


@FUZZ
@given(pagesize=numbers, page=numbers, filters=st.lists(st.tuples(st.sampled_from(PETITION_FIELDS), query_values),
                                                       max_size=3))
def test_fuzz_paging_and_filters_always_answer_a_page(dataset: Dataset, token_set: dict[str, str], pagesize: str,
                                                     page: str, filters: list[tuple[str, str]]) -> None:
    app, _ = fresh(dataset)
    query = urlencode([("pagesize", pagesize), ("page", page), *filters])
    response = app.test_client().get(f"/api/academic/petitions?{query}",
                                     headers={"Authorization": f"Bearer {token_set['ro']}"})
    assert response.status_code == 200, response.get_data()
    assert len(response.get_json()) <= 1000 and int(response.headers["X-Count"]) >= len(response.get_json())


control_calls = st.one_of(
    st.tuples(st.just("POST"), st.sampled_from(["/_mock/clock/advance"]), bodies),
    st.tuples(st.sampled_from(METHODS), st.sampled_from(["/_mock/health", "/_mock/reset", "/_mock/clock",
                                                          "/_mock/clock/freeze", "/_mock/clock/unfreeze",
                                                          "/_mock/requests", "/_mock/tasks",
                                                          "/_mock/clock/advance", "/_mock/nothing"]), bodies),
)


def test_fuzz_the_control_api_keeps_the_clock_usable(dataset: Dataset) -> None:
    app, state = fresh(dataset)
    client = app.test_client()

    @FUZZ
    @given(calls=st.lists(control_calls, min_size=1, max_size=5))
    def run(calls: list[tuple[str, str, bytes | None]]) -> None:
        for method, path, data in calls:
            before = (state.clock.now(), state.clock.frozen)
            response = client.open(path, method=method, data=data, headers={"Content-Type": "application/json"})
            assert response.status_code < 500, (method, path, data, response.get_data())
            if response.status_code >= 400:
                assert (state.clock.now(), state.clock.frozen) == before or not state.clock.frozen
            # Whatever was sent, the clock still renders and tokens can still be issued.
            assert client.get("/_mock/clock").status_code == 200
        assert client.post("/api/jwt", headers={"Authorization": "dev-readonly"}).status_code == 200
    run()


@pytest.mark.parametrize("name", ["expired", "other-key", "tampered", "alg-none", "alg-none-signed",
                                  "bad-signature", "truncated", "two-parts"])
def test_every_broken_token_is_a_plain_401(client: FlaskClient, token_set: dict[str, str], name: str) -> None:
    auth = {"Authorization": f"Bearer {token_set[name]}"}
    for path in ("/api/academic/petitions", "/api/tasks/000000000000000000000000", "/api/petition_types"):
        response = client.get(path, headers=auth)
        assert (response.status_code, response.get_json()) == (401, {"message": "Unauthorized"}), path
    posted = client.post("/api/academic/petitions", json={"petition": PETITION}, headers=auth)
    assert posted.status_code == 401


@pytest.mark.parametrize("size, status", [(LIMIT, 202), (LIMIT + 1, 413)])
def test_the_body_limit_is_exact(dataset: Dataset, token_set: dict[str, str], size: int, status: int) -> None:
    app, state = fresh(dataset)
    body = json.dumps({"petition": PETITION, "pad": ""}).encode()
    body = body[:-2] + b"x" * (size - len(body)) + b'"}'
    assert len(body) == size
    response = app.test_client().post("/api/academic/petitions", data=body, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token_set['rw']}"})
    assert response.status_code == status
    assert len(state.backend.tasks(FROZEN_AT)) == (1 if status == 202 else 0)


@pytest.mark.parametrize("query", ["pagesize=%C2%B2", "page=%C2%B2", "page=" + "9" * 5000, "pagesize=" + "9" * 5000])
def test_unusable_paging_numbers_fall_back_or_saturate(client: FlaskClient, rw: dict[str, str], query: str) -> None:
    response = client.get(f"/api/academic/petitions?netid=f0027k4&{query}", headers=rw)
    expected = [] if query.startswith("page=9") else ["2907841-Q25-24W=L-APPV", "2907841-Q24--FIVEYEAR"]
    assert response.status_code == 200 and [r["id"] for r in response.get_json()] == expected


@pytest.mark.parametrize("seconds", [10 ** 400, 1e300, 2.3e11])
def test_a_clock_advance_too_far_is_400_and_changes_nothing(client: FlaskClient, seconds: float) -> None:
    before = client.get("/_mock/clock").get_json()
    response = client.post("/_mock/clock/advance", data=json.dumps({"seconds": seconds}),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert client.get("/_mock/clock").get_json() == before


@pytest.mark.parametrize("body, detail", [
    (b'{"petition": NaN}', "Request body is not valid JSON"),
    (b'{"petition": {"x": Infinity}}', "Request body is not valid JSON"),
    (b'{"petition": ' + b"[" * 65 + b"]" * 65 + b"}", "Request body is nested deeper than 64 levels"),
])
def test_bodies_that_cannot_be_stored_and_echoed_are_400(client: FlaskClient, rw: dict[str, str], body: bytes,
                                                         detail: str) -> None:
    response = client.post("/api/academic/petitions", data=body, headers={**rw, "Content-Type": "application/json"})
    assert (response.status_code, response.get_json()) == (400, {"detail": detail})


def test_a_valid_petition_with_a_deep_extra_field_within_the_limit_completes(client: FlaskClient, rw: dict[str, str]
                                                                             ) -> None:
    body = {"petition": {**PETITION, "extra": json.loads("[" * 62 + "]" * 62)}}
    posted = client.post("/api/academic/petitions", json=body, headers=rw)
    assert posted.status_code == 202
    client.post("/_mock/clock/advance", json={"seconds": 5})
    task = client.get(posted.headers["Location"], headers=rw).get_json()
    assert task["status"] == "complete" and task["message"].startswith("Petition created successfully.")


@pytest.mark.parametrize("method, path", [("GET", "/api/academic/petitions"), ("POST", "/api/jwt"),
                                          ("GET", "/api/tasks/000000000000000000000000"),
                                          ("GET", "/api/petition_types/Q41"), ("POST", "/api/academic/petitions")])
def test_an_oversized_body_is_a_documented_413_on_any_endpoint(dataset: Dataset, token_set: dict[str, str],
                                                               method: str, path: str) -> None:
    """The 413 on every endpoint is in openapi.yaml too, so that strict mode and verify accept it."""
    client = fresh(dataset)[0].test_client()
    auth = "dev-readwrite" if path == "/api/jwt" else f"Bearer {token_set['rw']}"
    response = client.open(path, method=method, data=b"{}" + b" " * LIMIT,
                           headers={"Content-Type": "application/json", "Authorization": auth})
    assert (response.status_code, response.get_json()) == (413, {"detail": f"Request body is larger than {LIMIT} bytes"})
    assert check_response(method, path, 413, dict(response.headers), response.get_data()) == []
