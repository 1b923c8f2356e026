"""The inline lane (http/lane.py) answers its routes with the bytes Flask would, and leaves the rest to Flask.

Two emulators on the same seed and frozen clock, one with the lane and one without, get the same requests
in the same order: every answer (status line, headers in order, body) and every journal entry must match.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import EnvironHeaders

from mock_api.config import MockConfig
from mock_api.http.answer import Answer
from mock_api.http.app import create_app
from mock_api.http.lane import LANE_KEY, InlineLane
from mock_api.http.wire import environ_headers
from mock_api.service.dataset import Dataset
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from support import FROZEN_AT, SEED_PAYLOAD, running_server, token_for

NETID = "f0027k4"


class CountingLane:
    """Wraps the app's lane: how many requests it answered and how many it left to Flask."""

    def __init__(self, lane: InlineLane) -> None:
        self.lane, self.answered, self.declined = lane, 0, 0

    def __call__(self, environ: dict[str, Any]) -> Answer | None:
        answer = self.lane(environ)
        if answer is None:
            self.declined += 1
        else:
            self.answered += 1
        return answer


def _app(dataset: Dataset, lane: bool, scenario: str = "default") -> Flask:
    config = MockConfig(frozen_clock_at=FROZEN_AT, inline_lane=lane, scenario=scenario)
    return create_app(config, MockState(config, dataset))


def _pair(dataset: Dataset, scenario: str = "default") -> tuple[Flask, Flask, CountingLane]:
    with_lane, without = _app(dataset, True, scenario), _app(dataset, False, scenario)
    counting = CountingLane(with_lane.extensions[LANE_KEY])
    with_lane.wsgi_app.lane = counting  # type: ignore[attr-defined]
    assert LANE_KEY not in without.extensions
    return with_lane, without, counting


def _same(a: Flask, b: Flask, method: str, path: str, **kwargs: Any) -> Any:
    """One request to both; the answers must be equal to the byte; returns the lane app's response."""
    got = [_open(app, method, path, **kwargs) for app in (a, b)]
    if isinstance(got[0], Exception) or isinstance(got[1], Exception):
        assert type(got[0]) is type(got[1]) and str(got[0]) == str(got[1]), got
        raise got[0]
    assert got[0].status == got[1].status, (path, got[0].data, got[1].data)
    assert list(got[0].headers.items()) == list(got[1].headers.items()), path
    assert got[0].data == got[1].data, path
    return got[0]


def _open(app: Flask, method: str, path: str, **kwargs: Any) -> Any:
    try:
        return app.test_client().open(path, method=method, **kwargs)
    except ConnectionError as exc:  # a dropping fault: the WSGI test client raises what the server would act on
        return exc


def _journals(a: Flask, b: Flask) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    entries = [app.extensions["mock_api"].journal.entries() for app in (a, b)]
    assert len(entries[0]) == len(entries[1])
    for x, y in zip(*entries, strict=True):
        assert x.pop("duration_ms") >= 0 and y.pop("duration_ms") >= 0
        yield x, y


@pytest.fixture
def tokens() -> dict[str, str]:
    """Tokens issued by a throwaway app: both emulators share the dev signing key and the frozen clock."""
    client = _app_for_tokens().test_client()
    return {"rw": token_for(client), "read": token_for(client, scopes=(READ,)),
            "write": token_for(client, scopes=(WRITE,)), "other": token_for(client, "dev-readonly", (READ,))}


def _app_for_tokens() -> Flask:
    return create_app(MockConfig(frozen_clock_at=FROZEN_AT, students=10))


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_reads_pages_and_errors_are_the_same_bytes(dataset: Dataset, tokens: dict[str, str]) -> None:
    lane_app, flask_app, counting = _pair(dataset)
    rw = _auth(tokens["rw"])
    first = _same(lane_app, flask_app, "GET", "/api/academic/petitions", headers=rw,
                  query_string={"pagesize": "3", "status": "approved"})
    assert first.status_code == 200 and int(first.headers["X-Count"]) > 3 and len(first.get_json()) == 3
    key = first.headers["X-Request-ID"]
    _same(lane_app, flask_app, "GET", "/api/academic/petitions", headers=rw,
          query_string={"pagesize": "3", "page": "2", "continuation_key": key})
    for query in ({"netid": NETID}, {"netid": [NETID, "nobody"]}, {"continuation_key": "nope"},
                  {"netid": NETID, "pagesize": "x"}, {"decision": "ne:approved", "pagesize": "2"}):
        _same(lane_app, flask_app, "GET", "/api/academic/petitions", headers=rw, query_string=query)
    for headers in ({}, {"Authorization": "Bearer forged"}, {"Authorization": "Basic abc"},
                    _auth(tokens["write"])):
        got = _same(lane_app, flask_app, "GET", "/api/academic/petitions", headers=headers,
                    query_string={"netid": NETID})
        assert got.status_code in (401, 403)
    some = lane_app.extensions["mock_api"].dataset.petitions.entries[:3]
    for entry in some:
        got = _same(lane_app, flask_app, "GET", f"/api/academic/petitions/{entry.record['id']}", headers=rw)
        assert got.status_code == 200 and got.get_json()["id"] == entry.record["id"]
        _same(lane_app, flask_app, "GET", f"/api/academic/petitions/{entry.mongo_id}", headers=rw)
    for netid in (NETID, "nobody"):
        _same(lane_app, flask_app, "GET", f"/api/students/{netid}/petitions", headers=rw)
    page = _same(lane_app, flask_app, "GET", f"/api/students/{NETID}/petitions", headers=rw,
                 query_string={"pagesize": "1"})
    _same(lane_app, flask_app, "GET", f"/api/students/{NETID}/petitions", headers=rw,
          query_string={"pagesize": "1", "page": "2", "continuation_key": page.headers["X-Request-ID"]})
    _same(lane_app, flask_app, "GET", "/api/academic/petitions/nothing-here", headers=rw)
    assert counting.answered == 11 + 6 + 5 and counting.declined == 0
    for x, y in _journals(lane_app, flask_app):
        assert x == y


def test_posts_and_polls_are_the_same_bytes(dataset: Dataset, tokens: dict[str, str]) -> None:
    lane_app, flask_app, counting = _pair(dataset)
    rw, other = _auth(tokens["rw"]), _auth(tokens["other"])
    posted = _same(lane_app, flask_app, "POST", "/api/academic/petitions", headers=rw,
                   json={"petition": SEED_PAYLOAD})
    assert posted.status_code == 202
    location = posted.headers["Location"]
    for body, kwargs in ((b"{", {"content_type": "application/json"}), (b"{}", {"content_type": "text/plain"}),
                         (json.dumps({"petition": {}}).encode(), {"content_type": "application/json"})):
        _same(lane_app, flask_app, "POST", "/api/academic/petitions", headers=rw, data=body, **kwargs)
    _same(lane_app, flask_app, "POST", "/api/academic/petitions", headers=_auth(tokens["read"]),
          json={"petition": SEED_PAYLOAD})
    assert _same(lane_app, flask_app, "GET", location, headers=rw).get_json()["status"] == "accepted"
    for state in (lane_app.extensions["mock_api"], flask_app.extensions["mock_api"]):
        state.clock.advance(1.0)
    assert _same(lane_app, flask_app, "GET", location, headers=rw).get_json()["status"] == "complete"
    for path, headers in ((location, other), ("/api/tasks/0123456789abcdef01234567", rw),
                          ("/api/tasks/xyz", rw), (location, {})):
        assert _same(lane_app, flask_app, "GET", path, headers=headers).status_code in (401, 404)
    assert counting.answered == 11 and counting.declined == 0
    for x, y in _journals(lane_app, flask_app):
        assert x == y


@pytest.mark.parametrize("scenario", ["broken_connections", "flaky", "throttled", "first_poll_not_found",
                                      "pessimistic", "read_forbidden", "forbidden_write", "failing_tasks"])
def test_scenarios_decide_the_same_way(dataset: Dataset, tokens: dict[str, str], scenario: str) -> None:
    lane_app, flask_app, counting = _pair(dataset, scenario)
    rw = _auth(tokens["rw"])
    for _ in range(6):
        try:
            posted = _same(lane_app, flask_app, "POST", "/api/academic/petitions", headers=rw,
                           json={"petition": SEED_PAYLOAD})
            _same(lane_app, flask_app, "GET", "/api/academic/petitions", headers=rw, query_string={"netid": NETID})
            if posted.status_code == 202:
                _same(lane_app, flask_app, "GET", posted.headers["Location"], headers=rw)
        except ConnectionError:  # a dropping fault: both paths raised the same in the test client (_same)
            continue
    assert counting.declined == 0 and counting.answered > 0
    for x, y in _journals(lane_app, flask_app):
        assert x == y


def test_left_to_flask(dataset: Dataset, tokens: dict[str, str]) -> None:
    """HEAD, other routes, a trailing slash, an X-Mock-Scenario override and a sleeping scenario go to Flask."""
    lane_app, flask_app, counting = _pair(dataset)
    rw = _auth(tokens["rw"])
    _same(lane_app, flask_app, "HEAD", "/api/academic/petitions", headers=rw, query_string={"netid": NETID})
    _same(lane_app, flask_app, "GET", "/api/academic/petitions/", headers=rw, query_string={"netid": NETID})
    _same(lane_app, flask_app, "GET", "/api/academic/petitions", headers={**rw, "X-Mock-Scenario": "flaky"})
    _same(lane_app, flask_app, "PUT", "/api/academic/petitions", headers=rw)
    some_id = lane_app.extensions["mock_api"].dataset.petitions.entries[0].record["id"]
    for path in (f"/api/academic/petitions/{some_id}/", f"/api/academic/petitions//{some_id}",
                 f"/api/students/{NETID}//petitions", "/api/tasks/x/", "/api/academic/petitions/é"):
        _same(lane_app, flask_app, "GET", path, headers=rw)
    assert (counting.answered, counting.declined) == (0, 9)
    slow, _, slow_counting = _pair(dataset, "latency")
    state = slow.extensions["mock_api"]
    state.sleep = lambda seconds: None
    assert state.scenario.may_wait("GET", "/api/academic/petitions")
    assert not state.scenario.may_wait("GET", "/_mock/health")
    assert slow.test_client().get("/api/academic/petitions", headers=rw).status_code == 200
    assert (slow_counting.answered, slow_counting.declined) == (0, 1)


def test_sessions_are_routed_by_the_lane(dataset: Dataset, tokens: dict[str, str]) -> None:
    lane_app, flask_app, counting = _pair(dataset)
    rw = _auth(tokens["rw"])
    posted = _same(lane_app, flask_app, "POST", "/s/alpha/api/academic/petitions", headers=rw,
                   json={"petition": SEED_PAYLOAD})
    assert posted.headers["Location"].startswith("/s/alpha/api/tasks/")
    _same(lane_app, flask_app, "GET", posted.headers["Location"], headers=rw)
    _same(lane_app, flask_app, "GET", "/api/academic/petitions", headers={**rw, "X-Mock-Session": "beta"},
          query_string={"netid": NETID})
    refused = _same(lane_app, flask_app, "GET", "/s/bad name/api/academic/petitions", headers=rw)
    assert refused.status_code == 400
    assert (counting.answered, counting.declined) == (3, 1)


def test_the_lane_is_a_config_lever() -> None:
    assert MockConfig().inline_lane is True
    assert replace(MockConfig(), inline_lane=False).inline_lane is False


def _slow_answer(sock: socket.socket, got: list[bytes]) -> None:
    """Read the slow answer whole (the server closes after it)."""
    while chunk := sock.recv(65536):
        got.append(chunk)


@pytest.mark.parametrize("lane", [True, False])
def test_the_clis_server_answers_the_lane_in_its_loop_while_its_one_thread_sleeps(tmp_path: Path,
                                                                                   lane: bool) -> None:
    """With --threads 1 and a 2 s delay on petition types, a netid read sent while that sleeps is answered
    first through the lane, and only after it with --no-inline-lane (it waits for the one thread): the
    journal, which numbers requests as they are answered, says in which order."""
    scenario = tmp_path / "slow_types.yaml"
    scenario.write_text("name: slow_types\ndescription: petition types take 2 s\n"
                        "rules:\n  - match: {path: /api/petition_types}\n    effects:\n"
                        "      - delay: {seconds: 2}\n", encoding="utf-8")
    extra = () if lane else ("--no-inline-lane",)
    with running_server("--threads", "1", "--scenario", str(scenario), "--quiet", *extra) as server:
        issued = requests.post(f"{server.url}/api/jwt", params={"scope": f"{READ} {WRITE}"},
                               headers={"Authorization": "dev-readwrite"}, timeout=10)
        token = issued.json()["jwt"]
        host, port = server.url.removeprefix("http://").split(":")
        got: list[bytes] = []
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(f"GET /api/petition_types HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n"
                         "Connection: close\r\n\r\n".encode())
            slow = threading.Thread(target=_slow_answer, args=(sock, got))
            slow.start()
            time.sleep(0.3)  # sent before: the one worker thread holds it, sleeping, by now
            read = requests.get(f"{server.url}/api/academic/petitions", params={"netid": NETID},
                                headers={"Authorization": f"Bearer {token}"}, timeout=30)
            slow.join(timeout=30)
        journal = requests.get(f"{server.url}/_mock/requests", timeout=10).json()
    assert read.status_code == 200 and b"".join(got).startswith(b"HTTP/1.1 200 OK\r\n")
    answered = [entry["path"] for entry in journal if entry["path"] != "/api/jwt"]
    expected = ["/api/academic/petitions", "/api/petition_types"]
    assert answered == (expected if lane else expected[::-1])


def test_a_content_length_of_non_ascii_digits_is_left_to_flask(dataset: Dataset, tokens: dict[str, str]) -> None:
    """"²" is a latin-1 byte, and a digit to str.isdigit, but no number to int() or werkzeug: the lane raised."""
    lane_app, flask_app, counting = _pair(dataset)
    for length in ("\u00b2", "\uff15", "+5", " 5", "05"):
        _same(lane_app, flask_app, "POST", "/api/academic/petitions", headers=_auth(tokens["rw"]),
              data=json.dumps({"petition": SEED_PAYLOAD}), content_type="application/json",
              environ_overrides={"CONTENT_LENGTH": length})
    assert (counting.answered, counting.declined) == (1, 4)  # "05" is a number to both
    for x, y in _journals(lane_app, flask_app):
        assert x == y


RESPONDING = """name: responding
description: a reply of each kind werkzeug sends differently
rules:
  - match: {method: POST, path: /api/academic/petitions}
    effects:
      - respond: {status: 499}
  - match: {path: /api/academic/petitions}
    effects:
      - respond: {status: 304}
  - match: {path: /api/tasks/*}
    effects:
      - respond: {status: 100, headers: {content-length: '3'}}
  - match: {path: /api/students/*/petitions}
    effects:
      - respond: {status: 503, headers: {content-length: '3', x-request-id: theirs, content-type: text/csv}}
  - match: {path: /api/academic/petitions/*}
    effects:
      - respond: {status: 204}
"""


def test_scenario_replies_are_sent_as_flask_sends_them(dataset: Dataset, tokens: dict[str, str],
                                                       tmp_path: Path) -> None:
    """A 304 loses its entity headers, a 1xx or 204 its Content-Length, all three their body; a scenario's
    Content-Length is the body's, its X-Request-ID replaced by ours (it was doubled)."""
    scenario = tmp_path / "responding.yaml"
    scenario.write_text(RESPONDING, encoding="utf-8")
    lane_app, flask_app, counting = _pair(dataset, str(scenario))
    rw = _auth(tokens["rw"])
    for method, path in (("GET", "/api/academic/petitions"), ("POST", "/api/academic/petitions"),
                         ("GET", "/api/tasks/0123456789abcdef01234567"), ("GET", f"/api/students/{NETID}/petitions"),
                         ("GET", "/api/academic/petitions/x")):
        body = {"petition": SEED_PAYLOAD} if method == "POST" else None
        _same(lane_app, flask_app, method, path, headers=rw, json=body)
    assert (counting.answered, counting.declined) == (5, 0)
    for x, y in _journals(lane_app, flask_app):
        assert x == y


def _raw(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    got = b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    return b"\r\n".join(line for line in head.split(b"\r\n") if not line.startswith(b"Date: ")) + b"\r\n\r\n" + body


def test_the_clis_server_sends_scenario_replies_the_same_bytes_with_or_without_the_lane(tmp_path: Path) -> None:
    scenario = tmp_path / "responding.yaml"
    scenario.write_text(RESPONDING, encoding="utf-8")
    answers = []
    for extra in ((), ("--no-inline-lane",)):
        with running_server("--scenario", str(scenario), "--quiet", *extra) as server:
            answers.append([_raw(server.url, f"GET {path} HTTP/1.1\r\nHost: localhost\r\n"
                                             f"Connection: close\r\n\r\n".encode())
                            for path in ("/api/academic/petitions", "/api/tasks/0123456789abcdef01234567",
                                         f"/api/students/{NETID}/petitions")])
            answers[-1].append(_raw(server.url, b"POST /api/academic/petitions HTTP/1.1\r\nHost: localhost\r\n"
                                                b"Content-Length: 0\r\nConnection: close\r\n\r\n"))
    assert answers[0] == answers[1]
    assert answers[0][3].startswith(b"HTTP/1.1 499 UNKNOWN\r\n")  # a code with no standard phrase: werkzeug's
    assert answers[0][0].startswith(b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\nServer: mock_api\r\n")
    assert b"Content-Length" not in answers[0][1] and answers[0][1].endswith(b"\r\n\r\n")
    assert answers[0][2].count(b"X-Request-Id: ") == 1 and b"Content-Length: 33\r\n" in answers[0][2]


_ENVIRON_KEYS = st.one_of(
    st.sampled_from(["CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_",
                     "HTTP_HOST", "HTTP_X_MOCK_SESSION", "REQUEST_METHOD", "wsgi.input", "HTTPX"]),
    st.text(min_size=0, max_size=12).map(lambda tail: "HTTP_" + tail),
    st.text(min_size=1, max_size=12))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_ENVIRON_KEYS, st.text(max_size=6), max_size=12))
def test_both_paths_read_headers_as_werkzeugs_environ_view(environ: dict[str, str]) -> None:
    """The lane and the Flask views list a request's headers with environ_headers: names, values and order
    exactly as werkzeug's EnvironHeaders gives them (an empty Content-Type is absent, "HTTP_" is a header)."""
    assert environ_headers(environ) == list(EnvironHeaders(environ))
    assert environ_headers(environ) == list(EnvironHeaders(environ))  # and again, from the name cache
