"""One path per request: every server gives the same answer, and one failure policy holds on each of them.

Three carriers of the same chain: the Flask test client (WSGI), the pytest plugin's server (mock_api's server in
a thread) and the CLI's (`python -m mock_api`). A stage broken on purpose gives a logged 500 with the request id
on each (never a silent close); an error in observing never changes the answer.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from flask import Flask

from broken import OBSERVING, STAGES, break_stage
from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.service.dataset import Dataset
from mock_api.service.scopes import READ, WRITE
from mock_api.service.tokens import issue
from mock_api.state import MockState
from mock_api.testing.serving import ServerThread
from support import FROZEN_AT, SEED_PAYLOAD, running_server

READ_PATH = "/api/academic/petitions?netid=f0027k4"
INTERNAL = b'{"detail":"Internal Server Error"}'
Answer = tuple[int, dict[str, str], bytes]  # status, headers (lower-case names), body
Ask = Callable[..., Answer]


def _token(state: MockState, now: float) -> str:
    account = state.dataset.accounts["dev-readwrite"]
    return issue(account, [READ, WRITE], now, state.config.token_lifetime, state.config.signing_key)[0]


def _test_client(app: Flask) -> Ask:
    def ask(method: str, path: str, headers: dict[str, str], json: Any = None) -> Answer:
        got = app.test_client().open(path, method=method, headers=headers, json=json)
        return got.status_code, {k.lower(): v for k, v in got.headers.items()}, got.get_data()
    return ask


def _http(url: str) -> Ask:
    def ask(method: str, path: str, headers: dict[str, str], json: Any = None) -> Answer:
        got = requests.request(method, url + path, headers=headers, json=json, timeout=10)
        return got.status_code, {k.lower(): v for k, v in got.headers.items()}, got.content
    return ask


@contextmanager
def _plugin_server(app: Flask) -> Iterator[Ask]:
    server = ServerThread(app)
    server.start(timeout=10)
    try:
        yield _http(server.url)
    finally:
        server.stop()


def _expect(stage: str, answer: Answer, expected_body: bytes) -> None:
    status, headers, body = answer
    assert headers["x-request-id"]  # the id the log line names
    if stage in OBSERVING:
        assert (status, body) == (200, expected_body)
    else:
        assert (status, headers["content-type"], body) == (500, "application/json", INTERNAL)


@pytest.fixture(scope="module")
def expected_body(dataset: Dataset) -> bytes:
    app = create_app(state=MockState(MockConfig(strict=True), dataset=dataset))
    state = app.extensions["mock_api"]
    status, _, body = _test_client(app)("GET", READ_PATH, {"Authorization": f"Bearer {_token(state, time.time())}"})
    assert status == 200
    return _without_cache_dates(body)


def _without_cache_dates(body: bytes) -> bytes:
    """cache_date is the clock's now at start-up: it differs between two servers started apart."""
    while b'"cache_date"' in body:
        at = body.index(b'"cache_date"')
        body = body[:at] + body[body.index(b'"}', at):]
    return body


@pytest.mark.parametrize("stage", list(STAGES))
@pytest.mark.parametrize("carrier", ["test client", "plugin server"])
def test_a_broken_stage_gives_the_same_answer_on_each_in_process_server(
        stage: str, carrier: str, dataset: Dataset, expected_body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(state=MockState(MockConfig(strict=True), dataset=dataset))
    headers = {"Authorization": f"Bearer {_token(app.extensions['mock_api'], time.time())}"}
    owner, name, original = break_stage(stage)
    try:
        if carrier == "test client":
            answer = _test_client(app)("GET", READ_PATH, headers)
        else:
            with _plugin_server(app) as ask:
                answer = ask("GET", READ_PATH, headers)
    finally:
        setattr(owner, name, original)
    _expect(stage, (answer[0], answer[1], _without_cache_dates(answer[2])), expected_body)
    assert f"{stage} broken on purpose" in caplog.text  # logged, with the traceback
    assert answer[1]["x-request-id"] in caplog.text


@pytest.mark.slow
@pytest.mark.parametrize("stage", list(STAGES))
def test_a_broken_stage_gives_the_same_answer_on_the_clis_server(stage: str, dataset: Dataset,
                                                                  expected_body: bytes) -> None:
    with running_server("--strict", command=("tests/broken.py", stage)) as server:
        state = MockState(MockConfig(), dataset=dataset)
        answer = _http(server.url)("GET", READ_PATH, {"Authorization": f"Bearer {_token(state, time.time())}"})
        time.sleep(0.2)  # the log line is written after the answer
    _expect(stage, (answer[0], answer[1], _without_cache_dates(answer[2])), expected_body)
    logged = "\n".join(server.stderr_lines)
    assert f"{stage} broken on purpose" in logged and answer[1]["x-request-id"] in logged


def _flow(ask: Ask, token: str) -> list[Answer]:
    """Reads, paging, errors, a POST and its polls, a scenario's reply: what a consumer does."""
    auth = {"Authorization": f"Bearer {token}"}
    got = [ask("GET", READ_PATH, auth), ask("GET", "/api/academic/petitions/?pagesize=3", auth)]
    key = got[-1][1]["x-request-id"]
    got += [ask("GET", f"/api/academic/petitions?continuation_key={key}&page=2&pagesize=3", auth),
            ask("GET", "/api/students/f0027k4/petitions", auth), ask("GET", "/api/petition_types/Q25", auth),
            ask("GET", "/api/academic/petitions/nope", auth), ask("DELETE", "/api/jwt", {}),
            ask("GET", "/api/academic/petitions", {}), ask("GET", "/nowhere", auth),
            ask("POST", "/api/academic/petitions", auth, {"petition": SEED_PAYLOAD})]
    location = got[-1][1]["location"]
    got.append(ask("GET", location, auth))
    assert ask("POST", "/_mock/clock/advance", {}, {"seconds": 2})[0] == 200  # its id is random: not compared
    got += [ask("GET", location, auth), ask("GET", "/openapi.json", auth),
            ask("GET", "/api/petition_types", {**auth, "X-Mock-Scenario": "unavailable"})]
    return got


def _comparable(answer: Answer) -> tuple[int, dict[str, str], bytes]:
    """What must be the same wherever it was served: all but the server's own headers."""
    status, headers, body = answer
    own = ("date", "server", "connection", "keep-alive")
    return status, {k: v for k, v in sorted(headers.items()) if k not in own}, body


def test_the_test_client_and_the_server_answer_a_flow_with_the_same_bytes(dataset: Dataset) -> None:
    apps = [create_app(state=MockState(MockConfig(frozen_clock_at=FROZEN_AT), dataset=dataset)) for _ in "ab"]
    token = _token(apps[0].extensions["mock_api"], FROZEN_AT)
    by_client = _flow(_test_client(apps[0]), token)
    with _plugin_server(apps[1]) as ask:
        by_server = _flow(ask, token)
    assert [_comparable(a) for a in by_client] == [_comparable(a) for a in by_server]
    journals = [app.extensions["mock_api"].journal.entries() for app in apps]
    for entries in journals:
        for entry in entries:
            assert entry.pop("duration_ms") >= 0
            entry.pop("headers")  # what each client sent of its own (User-Agent, Host) differs
    assert journals[0] == journals[1] and len(journals[0]) == 14
