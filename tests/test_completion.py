"""Every POST answered 202 completes, whatever JSON it carried, and never breaks another client's read."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from badinput import PETITION
from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.http.views.common import MAX_JSON_DEPTH
from mock_api.service.dataset import Dataset
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from support import FROZEN_AT, bearer, examples, token_for

SUCCESS_PATH = re.compile(r"^/academic/petitions/[0-9a-f]{24}$")
SUCCESS_MESSAGE = re.compile(r"^Petition created successfully\. mongo id [0-9a-f]{24} $")
FAILURE_MESSAGE = "Petition did not update successfully. "

# Every code point, lone surrogates and NUL included: what a JSON text may escape (\ud800, \u0000).
any_char = st.characters(codec=None, categories=None, exclude_categories=())
texts = st.text(any_char, max_size=24)
scalars = (st.none() | st.booleans() | st.integers(-(2 ** 200), 2 ** 200) | st.floats(allow_nan=False,
           allow_infinity=False) | texts)
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(texts, children, max_size=4), max_leaves=16)


def nested(depth: int, leaf: Any) -> Any:
    """`leaf` under `depth` levels of alternating objects and arrays (the body adds one more)."""
    for level in range(depth):
        leaf = {"\x00": leaf} if level % 2 else [leaf]
    return leaf


deep_values = st.builds(nested, st.integers(1, MAX_JSON_DEPTH - 2), scalars)
# Up to 150,000 characters: escaped (\ud800 is 6 bytes) that stays under the 1 MiB body limit.
huge_texts = st.builds(lambda n, c: c * n, st.integers(10_000, 150_000),
                       st.sampled_from(["x", "\ud800", "\x00", "é"]))
# The valid petition with one field (or a new key) changed: reaches the worker's later checks and the write.
altered_petitions = st.builds(lambda key, value: {"petition": {**PETITION, key: value}},
                              st.sampled_from([*PETITION, "\x00", "a\x00b", "\ud800"]),
                              json_values | huge_texts)
bodies = st.one_of(json_values, st.builds(lambda v: {"petition": v}, json_values), deep_values, huge_texts,
                   altered_petitions)


def fresh(dataset: Dataset) -> tuple[Flask, MockState]:
    state = MockState(MockConfig(frozen_clock_at=FROZEN_AT, strict=True), dataset=dataset)
    return create_app(state=state), state


def post(client: FlaskClient, body: Any, headers: dict[str, str]) -> str:
    # ensure_ascii: a lone surrogate goes as the escape \ud800, the only way JSON text can carry one.
    response = client.post("/api/academic/petitions", data=json.dumps(body), headers=headers,
                           content_type="application/json")
    assert response.status_code == 202, response.get_data()
    return str(response.headers["Location"])


def read_everything_as_another_client(client: FlaskClient, reader: dict[str, str]) -> list[dict[str, Any]]:
    """Every endpoint, a read-only client first (its read runs the worker); the control API's tasks."""
    for path in ("/api/academic/petitions", "/api/students/f006s0b/petitions", "/api/petition_types",
                 "/api/petition_types/Q41", "/api/academic/petitions/2907841-Q25-24W=L-APPV", "/openapi.json",
                 "/_mock/requests", "/_mock/violations", "/_mock/coverage", "/_mock/clock"):
        response = client.get(path, headers=reader)
        assert response.status_code == 200, (path, response.get_data()[:500])
        json.loads(response.get_data())
    tasks = client.get("/_mock/tasks?limit=100000")
    assert tasks.status_code == 200
    return list(tasks.get_json())


def assert_complete(client: FlaskClient, location: str, poster: dict[str, str], reader: dict[str, str]) -> None:
    task = client.get(location, headers=poster)
    assert task.status_code == 200, task.get_data()[:500]
    body = task.get_json()
    assert body["status"] == "complete", body
    if body["message"] == FAILURE_MESSAGE:
        assert body["path"] == "/academic/petitions/" + location.rsplit("/", 1)[1]
    else:
        assert SUCCESS_MESSAGE.match(body["message"]) and SUCCESS_PATH.match(body["path"]), body
        written = client.get("/api" + body["path"], headers=reader)
        assert written.status_code == 200, written.get_data()[:500]


@pytest.mark.parametrize("body", [
    {"petition": {**PETITION, "decision": "sur\ud800"}},
    {"petition": {"a\x00b": 1}},
    {"petition": {**PETITION, "a\x00b": 1}},
    {"petition": {**PETITION, "grade_term": 2 ** 64}},
    {"petition": {**PETITION, "decision": 2 ** 70}},
    {"petition": {**PETITION, "school": "\ud800"}},
    [2 ** 100, "\udfff", {"\x00": None}],
    "\ud800",
])
def test_the_bodies_that_poisoned_the_worker_complete(dataset: Dataset, body: Any) -> None:
    app, state = fresh(dataset)
    client = app.test_client()
    poster = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    reader = bearer(token_for(client, "dev-readonly", (READ,)))
    location = post(client, body, poster)
    state.clock.advance(2)
    tasks = read_everything_as_another_client(client, reader)
    assert [t["status"] for t in tasks] == ["complete"]
    assert_complete(client, location, poster, reader)


def test_a_lone_surrogate_decision_is_written_and_read_back_escaped(dataset: Dataset) -> None:
    app, state = fresh(dataset)
    client = app.test_client()
    poster = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    post(client, {"petition": {**PETITION, "decision": "sur\ud800"}}, poster)
    state.clock.advance(2)
    got = client.get("/api/academic/petitions?netid=f006s0b&decision=sur%ED%A0%80", headers=poster)
    assert got.status_code == 200
    written = client.get("/api/students/f006s0b/petitions", headers=poster).get_json()
    assert [r["decision"] for r in written if r["decision"].startswith("sur")] == ["sur\ud800"]
    assert b'"decision":"sur\\ud800"' in client.get("/api/students/f006s0b/petitions", headers=poster).get_data()


@pytest.mark.slow
def test_posted_arbitrary_json_always_completes(dataset: Dataset) -> None:
    app, state = fresh(dataset)
    client = app.test_client()
    poster = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    reader = bearer(token_for(client, "dev-readonly", (READ,)))

    @settings(max_examples=examples(150), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(batch=st.lists(bodies, min_size=1, max_size=3))
    def run(batch: list[Any]) -> None:
        state.reset()
        locations = [post(client, body, poster) for body in batch]
        state.clock.advance(state.config.task_seconds + 1)
        tasks = read_everything_as_another_client(client, reader)
        assert [t["status"] for t in tasks] == ["complete"] * len(batch)
        for location in locations:
            assert_complete(client, location, poster, reader)
    run()
