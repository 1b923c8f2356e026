"""Bad input over every endpoint and the control API: never a 500, always JSON, state kept on rejection."""
from __future__ import annotations

import json
import re
import subprocess
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from badinput import LIMIT, PETITION, fresh
from mock_api.contract.spec import match_path
from mock_api.http.routes import URL_MAP
from mock_api.service.dataset import Dataset
from mock_api.service.records import PETITION_FIELDS
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from support import ROOT, examples

FUZZ = settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DASHBOARD_SHELL = ("/_mock", "/_mock/", "/_mock/assets/{name}")


def fingerprint(state: MockState) -> Any:
    """What a rejected request must leave as it was (the journal aside, which records every call)."""
    now = state.clock.now()
    # Once a fuzzed call unfroze the clock, real time moves it: only a frozen instant can be compared.
    # due_in_seconds is the clock's distance to each due time: the clock is compared on its own.
    tasks = [{k: v for k, v in task.items() if k != "due_in_seconds"} for task in state.backend.tasks(now)]
    return (id(state.backend), now if state.clock.frozen else None, state.clock.frozen, len(state.backend.created),
            json.dumps(tasks, sort_keys=True))


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
    """Every route served: the API's route table and the app's /_mock routes, variables as {name} to fill."""
    rules = [*URL_MAP.iter_rules(), *app.url_map.iter_rules()]
    return sorted({re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in rules if rule.endpoint != "static"})


LOOSE_PREFIXES = ("/", "/api/", "/_mock/", "/api/academic/")


def loose_path(prefix: str, text: str) -> str:
    """A path under `prefix` that matches no route; never "//host/...": that is scheme-relative, and the
    test client would read a host name from it (a red run Hypothesis then replayed on every run)."""
    return "/" + (prefix + quote(text)).lstrip("/")


@st.composite
def requests_(draw: st.DrawFn, paths: list[str], token_set: dict[str, str]) -> dict[str, Any]:
    if draw(st.integers(0, 9)) == 0:
        path = loose_path(draw(st.sampled_from(LOOSE_PREFIXES)), draw(st.text(max_size=30)))
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


def is_dashboard_shell(response: Any) -> bool:
    """The dashboard's page, script, style sheet, or the 308 to the page: the only answers not in JSON."""
    if response.status_code >= 400 or match_path(response.request.path) not in DASHBOARD_SHELL:
        return False
    assert response.mimetype in ("text/html", "text/javascript", "text/css"), response.mimetype
    return True


def check_answer(client: FlaskClient, state: MockState, call: dict[str, Any]) -> int:
    before, journal_before = fingerprint(state), len(state.journal.entries())
    response = client.open(call["path"], method=call["method"], headers=call["headers"], data=call["data"])
    status = response.status_code
    assert status < 500, (call, response.get_data())
    if call["method"] not in ("HEAD", "OPTIONS") and not is_dashboard_shell(response):
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
    if status == 202:
        check_completes(client, state, response.headers["Location"], call["headers"]["Authorization"])
    return status


def check_completes(client: FlaskClient, state: MockState, location: str, authorization: str) -> None:
    """An accepted POST's task completes, and the read that runs the worker answers (not a 500)."""
    state.clock.advance(31)  # past the longest built-in task (slow_tasks: 30 s)
    task = client.get(location, headers={"Authorization": authorization, "X-Mock-Scenario": "default"})
    assert task.status_code == 200, task.get_data()
    assert task.get_json()["status"] == "complete"


@example(prefix="/", text="/evil.example/api")
@example(prefix="/", text="//")
@given(prefix=st.sampled_from(LOOSE_PREFIXES), text=st.text(max_size=30))
def test_fuzzed_paths_are_never_scheme_relative(prefix: str, text: str) -> None:
    path = loose_path(prefix, text)
    assert path.startswith("/") and not path.startswith("//")
    assert path.removeprefix("/") == (prefix + quote(text)).lstrip("/")


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_fuzz_the_control_api_keeps_the_clock_usable(dataset: Dataset) -> None:
    app, state = fresh(dataset)
    client = app.test_client()

    @FUZZ
    @given(calls=st.lists(control_calls, min_size=1, max_size=5))
    def run(calls: list[tuple[str, str, bytes | None]]) -> None:
        for method, path, data in calls:
            state.clock.freeze()  # a frozen clock, so "unchanged" below is exact, not blurred by wall time
            before = state.clock.now()
            response = client.open(path, method=method, data=data, headers={"Content-Type": "application/json"})
            assert response.status_code < 500, (method, path, data, response.get_data())
            if response.status_code >= 400:
                assert (state.clock.now(), state.clock.frozen) == (before, True), (method, path, data)
            # Whatever was sent, the clock still renders and tokens can still be issued.
            assert client.get("/_mock/clock").status_code == 200
        # ... and the whole write path still works at whatever time the clock reached.
        issued = client.post("/api/jwt", query_string={"scope": f"{READ} {WRITE}"},
                             headers={"Authorization": "dev-readwrite"})
        assert issued.status_code == 200
        headers = {"Authorization": f"Bearer {issued.get_json()['jwt']}"}
        posted = client.post("/api/academic/petitions", json={"petition": {}}, headers=headers)
        assert posted.status_code == 202, posted.get_data()
        client.post("/_mock/clock/advance", json={"seconds": 1})
        assert client.get(posted.headers["Location"], headers=headers).status_code == 200
    run()


def test_make_clean_removes_the_hypothesis_database() -> None:
    # A failing example is replayed from .hypothesis/ on every later run in that clone: clean starts afresh.
    recipe = subprocess.run(["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert ".hypothesis" in recipe.split()
