"""Every route the same with one trailing slash, and standard reason phrases on both servers, over HTTP."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from live_server import TIMEOUT, Live, live_server
from mock_api.checkpoint import take
from mock_api.config import MockConfig
from mock_api.contract.spec import load_spec
from mock_api.service.dataset import Dataset
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from support import FROZEN_AT, running_server

NEW_PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}
OPERATIONS = [(method.upper(), template) for template, item in load_spec()["paths"].items()
              if "x-served-by" not in item  # the supervisor's: tests/test_cluster_supervisor.py
              for method in item if method in ("get", "post", "put", "patch", "delete")]
# The body each operation with a requestBody is called with; the walk fails on one missing here.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/academic/petitions"): {"petition": NEW_PETITION},
    ("POST", "/_mock/clock/advance"): {"seconds": 1},
    ("PUT", "/_mock/scenario"): {"name": "default"},
    ("POST", "/_mock/verify"): {"match": {"method": "POST", "path": "/api/academic/petitions"}, "times": 1},
    ("PUT", "/_mock/snapshot"): lambda live: take(live.state),  # the server's own state, taken as the call starts
}
HEADERS_COMPARED = ("Content-Type", "Location", "X-Count", "Allow")


@pytest.fixture(scope="module")
def server(dataset: Dataset) -> Iterator[Live]:
    with live_server(MockState(MockConfig(frozen_clock_at=FROZEN_AT), dataset=dataset)) as live:
        yield live


def _fresh(live: Live) -> tuple[dict[str, str], str, str]:
    """Start-up state plus a created petition (deterministic ids after a reset): auth, task id, mongo id."""
    live.state.reset()
    live.state.coverage.clear()  # kept across resets otherwise, and /_mock/coverage shows it
    auth = live.token()
    posted = requests.post(f"{live.url}/api/academic/petitions", json={"petition": NEW_PETITION}, headers=auth,
                           timeout=TIMEOUT)
    live.state.clock.advance(2)
    task = live.get(posted.headers["Location"], auth).json()
    live.get("/s/walk/_mock/health", {})  # a session for DELETE /_mock/sessions/{name} to end
    return auth, task["id"], task["path"].rsplit("/", 1)[1]


def _concrete_paths(template: str, task_id: str, mongo_id: str) -> list[str]:
    values = {  # the item by its record id and by the Mongo id of a task's path
        "/api/academic/petitions/{id}": ["2907841-Q25-24W=L-APPV", mongo_id],
        "/api/students/{netid}/petitions": ["f0027k4"],
        "/api/petition_types/{id}": ["Q25"],
        "/api/tasks/{id}": [task_id],
        "/_mock/sessions/{name}": ["walk"],
        "/_mock/assets/{name}": ["dashboard.js", "dashboard.css"],
    }
    if "{" not in template:
        return [template]
    assert template in values, f"no concrete path for {template}: add one to the walk"
    return [template.replace(template[template.index("{"):template.index("}") + 1], value)
            for value in values[template]]


def _stable(body: Any) -> Any:
    """The body less what differs between two identical calls: a duration, the running clock's fraction."""
    if isinstance(body, list):
        return [_stable(item) for item in body]
    if isinstance(body, dict):
        # The sessions listing counts the walk's own calls and their real time.
        stable = {k: _stable(v) for k, v in body.items()
                  if k not in ("duration_ms", "duration_seconds", "last_used", "requests")}
        if isinstance(stable.get("epoch"), float):  # POST /_mock/clock/unfreeze: the clock runs again
            stable["epoch"], stable["now"] = int(stable["epoch"]), str(stable["now"])[:19]
        return stable
    return body


def _answer(live: Live, method: str, template: str, path_index: int, slash: str) -> tuple[Any, ...]:
    auth, task_id, mongo_id = _fresh(live)
    path = _concrete_paths(template, task_id, mongo_id)[path_index] + slash
    headers, params = ({"Authorization": "dev-readwrite"}, {"scope": f"{READ} {WRITE}"}) \
        if template == "/api/jwt" else (auth, None)
    body = BODIES.get((method, template))
    got = requests.request(method, f"{live.url}{path}", params=params, json=body(live) if callable(body) else body,
                           headers=headers, timeout=TIMEOUT)
    # The dashboard's page and assets are text; everything else answers JSON.
    body = _stable(got.json()) if got.headers["Content-Type"] == "application/json" else got.text
    return got.status_code, {h: got.headers.get(h) for h in HEADERS_COMPARED}, body


@pytest.mark.parametrize(("method", "template"), OPERATIONS, ids=[f"{m} {t}" for m, t in OPERATIONS])
def test_every_operation_answers_the_same_with_one_trailing_slash(server: Live, method: str,
                                                                   template: str) -> None:
    operation = load_spec()["paths"][template][method.lower()]
    assert "requestBody" not in operation or (method, template) in BODIES, f"no body for {method} {template}"
    _, task_id, mongo_id = _fresh(server)
    for index, path in enumerate(_concrete_paths(template, task_id, mongo_id)):
        plain = _answer(server, method, template, index, "")
        assert 200 <= plain[0] < 300, (path, plain)  # GET /_mock: its 308 followed to the page
        if not path.endswith("/"):  # /_mock/ has its slash: a second one is another path
            assert _answer(server, method, template, index, "/") == plain, path


def test_the_walk_covers_the_documented_api() -> None:
    assert ("GET", "/api/academic/petitions/{id}") in OPERATIONS and ("POST", "/api/jwt") in OPERATIONS
    assert len(OPERATIONS) >= 20


# ---- reason phrases, read from the raw status line ----------------------------------------------------

@pytest.fixture(scope="module")
def cli_url() -> Iterator[str]:
    with running_server() as running:
        yield running.url


@pytest.fixture(scope="module")
def werkzeug_url(server: Live) -> str:
    return server.url


# The CLI's server runs in a subprocess: slow. werkzeug serves from a thread of this process.
@pytest.fixture(params=[pytest.param("cli", marks=pytest.mark.slow), "werkzeug"])
def base_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


def _token(base: str, key: str) -> str:
    got = requests.post(f"{base}/api/jwt", params={"scope": f"{READ} {WRITE}"}, headers={"Authorization": key},
                        timeout=TIMEOUT)
    return str(got.json()["jwt"])


def _status_line(base: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> str:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{head}"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    return received.split(b"\r\n", 1)[0].decode("latin-1")


PETITION_JSON = b'{"petition": {"netid": "f006s0b"}}'
REASON_CASES = [  # method, path, token key (None: no token), extra headers, body, the status line's end
    ("GET", "/_mock/health", None, {}, b"", "200 OK"),
    ("POST", "/api/academic/petitions", "dev-readwrite", {"Content-Type": "application/json"}, PETITION_JSON,
     "202 Accepted"),
    ("GET", "/api/academic/petitions?continuation_key=nope", "dev-readwrite", {}, b"", "400 Bad Request"),
    ("GET", "/api/academic/petitions", None, {}, b"", "401 Unauthorized"),
    ("POST", "/api/academic/petitions", "dev-readonly", {"Content-Type": "application/json"}, PETITION_JSON,
     "403 Forbidden"),
    ("GET", "/api/academic/petitions/no-such-id/", "dev-readwrite", {}, b"", "404 Not Found"),
    ("GET", "/api/jwt", None, {}, b"", "405 Method Not Allowed"),
    ("POST", "/api/academic/petitions", "dev-readwrite", {"Content-Type": "text/plain"}, b"x",
     "415 Unsupported Media Type"),
    ("GET", "/api/petition_types", "dev-readwrite", {"X-Mock-Scenario": "unavailable"}, b"",
     "503 Service Unavailable"),
]


@pytest.mark.parametrize(("method", "path", "key", "headers", "body", "expected"), REASON_CASES,
                         ids=[case[-1] for case in REASON_CASES])
def test_status_lines_carry_the_standard_reason_phrase(base_url: str, method: str, path: str, key: str | None,
                                                       headers: dict[str, str], body: bytes, expected: str) -> None:
    if key is not None:
        headers = {**headers, "Authorization": f"Bearer {_token(base_url, key)}"}
    line = _status_line(base_url, method, path, headers, body)
    assert line.startswith("HTTP/1.") and line.split(" ", 1)[1] == expected, line
