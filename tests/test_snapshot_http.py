"""Snapshots over real HTTP: GET/PUT /_mock/snapshot, and the promise that a restored server answers the same bytes."""
from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from live_server import TIMEOUT, Live, live_server
from mock_api.state import MockState
from support import running_server


def raw(url: str, method: str, target: str, headers: dict[str, str] | None = None, body: Any = None) -> bytes:
    """The whole answer as sent on the wire, its Date line left out, and a control answer's X-Request-ID (random
    by design: control calls never move the seeded ids the API's answers take theirs from)."""
    parts = urlsplit(url)
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=TIMEOUT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    answer = re.sub(rb"\r\nDate: [^\r]*", b"", answer)
    return re.sub(rb"\r\nX-Request-Id: [^\r]*", b"", answer) if target.startswith("/_mock/") else answer


def _body(answer: bytes) -> Any:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


def _header(answer: bytes, name: str) -> str:
    found = re.search(rb"\r\n" + name.encode() + rb": ([^\r]*)", answer, re.IGNORECASE)
    assert found is not None, answer
    return found.group(1).decode()


@pytest.fixture
def pair(state: MockState) -> Iterator[tuple[Live, Live]]:
    fresh = MockState(state.config, dataset=state.dataset)
    with live_server(state) as first, live_server(fresh) as second:
        yield first, second


def _to_a_point(live: Live) -> dict[str, str]:
    """A token's first POST refused by retry_then_succeed (counted), a task accepted, a found set open."""
    requests.put(f"{live.url}/_mock/scenario", json={"name": "retry_then_succeed"}, timeout=TIMEOUT)
    headers = live.token()
    petition = {"petition": {"netid": "f0027k4", "petition_code": "QAPP", "origin_code": "UREG", "school": "UG",
                             "decision": "APPV", "grade_term": None, "user_netid": "F0027K4"}}
    assert _post(live, headers, petition).status_code == 503
    assert _post(live, headers, petition).status_code == 202
    first_page = live.get("/api/academic/petitions", headers, {"pagesize": "2"})
    return {**headers, "X-Key": first_page.headers["X-Request-ID"]}


def _post(live: Live, headers: dict[str, str], body: Any) -> requests.Response:
    return requests.post(f"{live.url}/api/academic/petitions", json=body, headers=headers, timeout=TIMEOUT)


def _requests_r(url: str, headers: dict[str, str], key: str) -> list[bytes]:
    auth = {"Authorization": headers["Authorization"]}
    petition = {"petition": {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                             "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}}
    answers = [raw(url, "GET", f"/api/academic/petitions?pagesize=2&continuation_key={key}", auth),
               raw(url, "POST", "/api/academic/petitions", auth, petition)]
    task = _header(answers[-1], "Location")
    answers += [raw(url, "GET", task, auth),
                raw(url, "POST", "/_mock/clock/advance", None, {"seconds": 30}),
                raw(url, "GET", task, auth),
                raw(url, "GET", "/api/academic/petitions?netid=f006s0b&pagesize=1", auth),
                raw(url, "GET", "/_mock/tasks")]
    new = _body(answers[-2])
    answers.append(raw(url, "GET", f"/api/academic/petitions?pagesize=1&continuation_key="
                                   f"{_header(answers[-2], 'X-Request-ID')}", auth))
    assert new and answers[-1] != answers[-2]
    return answers


def test_a_restored_server_answers_the_same_bytes(pair: tuple[Live, Live]) -> None:
    first, second = pair
    headers = _to_a_point(first)
    requests.post(f"{first.url}/_mock/clock/advance", json={"seconds": 0.25}, timeout=TIMEOUT)
    snapshot = requests.get(f"{first.url}/_mock/snapshot", timeout=TIMEOUT)
    assert snapshot.status_code == 200 and snapshot.json()["format"] == "mock_api.snapshot/1"
    put = requests.put(f"{second.url}/_mock/snapshot", data=snapshot.content,
                       headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
    assert put.status_code == 200, put.text
    assert put.json() == {"status": "restored", "format": "mock_api.snapshot/1",
                          "clock": {"now": snapshot.json()["clock"]["now"], "frozen": True},
                          "scenario": "retry_then_succeed", "tasks": 1, "journal": 4}
    on_first = _requests_r(first.url, headers, headers["X-Key"])
    on_second = _requests_r(second.url, headers, headers["X-Key"])
    assert on_first == on_second
    assert [answer.split(b"\r\n", 1)[0] for answer in on_first] == [
        b"HTTP/1.1 200 OK", b"HTTP/1.1 202 Accepted", b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK",
        b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK"]
    assert _body(on_first[4])["status"] == "complete"
    assert b"X-Request-Id" in on_first[0] and b"X-Request-Id" in on_first[1]  # the API's ids are compared
    journal = requests.get(f"{second.url}/_mock/requests", timeout=TIMEOUT).json()
    assert [entry["seq"] for entry in journal] == list(range(1, 11))  # 4 restored, then the 6 API requests of R


def test_without_a_restore_the_same_requests_differ(pair: tuple[Live, Live]) -> None:
    """The control: a fresh server that did not get the snapshot does not know the found set."""
    first, second = pair
    headers = _to_a_point(first)
    auth = {"Authorization": headers["Authorization"]}
    target = f"/api/academic/petitions?pagesize=2&continuation_key={headers['X-Key']}"
    assert raw(first.url, "GET", target, auth).startswith(b"HTTP/1.1 200")
    assert raw(second.url, "GET", target, auth).startswith(b"HTTP/1.1 400")


def test_the_journal_can_be_left_out_and_secrets_stay_masked(pair: tuple[Live, Live]) -> None:
    first, _ = pair
    _to_a_point(first)
    requests.get(f"{first.url}/api/petition_types", headers={"Authorization": "Bearer not-a-jwt"}, timeout=TIMEOUT)
    whole = requests.get(f"{first.url}/_mock/snapshot", timeout=TIMEOUT).json()
    assert len(whole["journal"]) == 5
    assert dict(whole["journal"][0]["headers"])["Authorization"] == "***"  # the API key of POST /api/jwt
    assert dict(whole["journal"][-1]["headers"])["Authorization"] == "Bearer ***"
    assert dict(whole["journal"][1]["headers"])["Authorization"].startswith("Bearer ey")  # the mock's own token
    bare = requests.get(f"{first.url}/_mock/snapshot", params={"journal": "false"}, timeout=TIMEOUT)
    assert "journal" not in bare.json() and bare.json()["backend"] == whole["backend"]
    got = requests.get(f"{first.url}/_mock/snapshot", params={"journal": "no"}, timeout=TIMEOUT)
    assert (got.status_code, got.json()) == (400, {"detail": "journal must be true or false"})


def test_other_data_or_a_newer_format_is_a_409_and_changes_nothing(state: MockState) -> None:
    with live_server(state) as first:
        snapshot = requests.get(f"{first.url}/_mock/snapshot", timeout=TIMEOUT).json()
        url = f"{first.url}/_mock/snapshot"
        newer = requests.put(url, json={**snapshot, "format": "mock_api.snapshot/2"}, timeout=TIMEOUT)
        assert newer.status_code == 409
        assert newer.json()["detail"].startswith("format: mock_api.snapshot/2 is newer than this mock_api (")
        other = requests.put(url, json={**snapshot, "seed": snapshot["seed"] + 1,
                                        "data": {**snapshot["data"], "digest": "sha256:0"}}, timeout=TIMEOUT)
        assert other.status_code == 409
        assert other.json()["detail"] == (
            f"seed: the snapshot's {snapshot['seed'] + 1}, this server's {snapshot['seed']}; data: made from other "
            f"fixtures or --students (the snapshot's {snapshot['data']['students']} students and "
            f"{snapshot['data']['petitions']} petitions, this server's {snapshot['data']['students']} and "
            f"{snapshot['data']['petitions']}); start with the same --fixtures-dir, --seed and --students")
        for bad, detail in [
                ({**snapshot, "backend": {**snapshot["backend"], "queue": [[1]]}},
                 "backend.queue: expected a list of [due, cursor, task id, fail, stale_cache]"),
                ({**snapshot, "clock": {"epoch": 5e9, "frozen": True}}, "clock.epoch: expected seconds between 1970 "
                                                                        "and 2100"),
                ({**snapshot, "journal": [{"seq": 3, "entry": {}}, {"seq": 5, "entry": {}}]},
                 "journal: expected records numbered one after another (seq)"),
                ({**snapshot, "dice": {"seed": 1, "state": [3, [0] * 624 + [10**6], None]}},
                 "snapshot: not a mock_api.snapshot/1 document (ValueError: invalid state)"),
                ([], 'snapshot: expected a JSON object with "format": "mock_api.snapshot/1"')]:
            got = requests.put(url, json=bad, timeout=TIMEOUT)
            assert (got.status_code, got.json()) == (400, {"detail": detail})
        after = requests.get(f"{first.url}/_mock/snapshot", timeout=TIMEOUT).json()
        assert after == snapshot


@pytest.mark.slow
def test_serve_starts_from_a_snapshot_file(state: MockState, tmp_path: Path) -> None:
    frozen = MockState(replace(state.config, frozen_clock_at=1_800_000_000.0), dataset=state.dataset)
    with live_server(frozen) as first:
        headers = first.token()
        requests.put(f"{first.url}/_mock/scenario", json={"name": "throttled"}, timeout=TIMEOUT)
        snapshot = requests.get(f"{first.url}/_mock/snapshot", timeout=TIMEOUT)
        expected = raw(first.url, "GET", "/api/petition_types", {"Authorization": headers["Authorization"]})
    path = tmp_path / "snap.json"
    path.write_bytes(snapshot.content)
    with running_server("--snapshot", str(path)) as server:
        assert raw(server.url, "GET", "/api/petition_types", {"Authorization": headers["Authorization"]}) == expected
        assert requests.get(f"{server.url}/_mock/scenario", timeout=TIMEOUT).json()["name"] == "throttled"
    path.write_text(json.dumps({**snapshot.json(), "format": "mock_api.snapshot/9"}))
    with pytest.raises(AssertionError, match=r"--snapshot .*snap.json: format: mock_api.snapshot/9 is newer"), \
            running_server("--snapshot", str(path)):
        pass
