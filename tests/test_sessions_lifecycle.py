"""Sessions' lifecycle: created on first use, listed, ended, idle ones dropped, the limit refuses and evicts none."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from live_server import TIMEOUT, Live, live_server
from mock_api.config import MockConfig
from mock_api.contract.journal import ENTRY_OVERHEAD_BYTES
from mock_api.http.app import create_app
from mock_api.service.dataset import Dataset
from mock_api.sessions import SessionError, Sessions, session_seed
from mock_api.state import SESSION_BYTES, MockState
from support import FROZEN_AT

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def live(dataset: Dataset) -> Iterator[Live]:
    config = MockConfig(frozen_clock_at=FROZEN_AT, max_sessions=3)
    with live_server(MockState(config, dataset=dataset)) as server:
        yield server


def sessions_of(live: Live) -> list[dict[str, object]]:
    got = requests.get(f"{live.url}/_mock/sessions", timeout=TIMEOUT)
    assert got.status_code == 200
    return list(got.json())


def end_all(live: Live) -> None:
    for session in sessions_of(live):
        if session["name"] != "default":
            requests.delete(f"{live.url}/_mock/sessions/{session['name']}", timeout=TIMEOUT)


def test_a_session_is_created_on_first_use_and_listed(live: Live) -> None:
    end_all(live)
    requests.get(f"{live.url}/s/alpha/api/petition_types", timeout=TIMEOUT)  # 401: still a use
    requests.get(f"{live.url}/s/alpha/_mock/health", timeout=TIMEOUT)
    listed = sessions_of(live)
    assert [s["name"] for s in listed] == ["default", "alpha"]
    alpha = listed[1]
    assert list(alpha) == ["name", "created", "last_used", "requests", "tasks", "memory_bytes"]
    assert alpha["requests"] == 2 and alpha["tasks"] == 0
    # Its own stores, and the one journal entry of its API request, in the server's memory budget.
    assert SESSION_BYTES + ENTRY_OVERHEAD_BYTES < int(str(alpha["memory_bytes"])) < SESSION_BYTES + 8192
    assert ISO.match(str(alpha["created"])) and ISO.match(str(alpha["last_used"]))
    assert str(alpha["created"]) <= str(alpha["last_used"])


def test_delete_ends_a_session_and_its_next_use_starts_fresh(live: Live) -> None:
    end_all(live)
    requests.post(f"{live.url}/s/beta/_mock/clock/advance", json={"seconds": 60}, timeout=TIMEOUT)
    ended = requests.delete(f"{live.url}/_mock/sessions/beta", timeout=TIMEOUT)
    assert (ended.status_code, ended.json()) == (200, {"status": "ended", "name": "beta"})
    assert [s["name"] for s in sessions_of(live)] == ["default"]
    clock = requests.get(f"{live.url}/s/beta/_mock/clock", timeout=TIMEOUT).json()
    assert clock["epoch"] == FROZEN_AT  # a fresh session: the clock back at start-up


@pytest.mark.parametrize(("name", "status", "detail"), [
    ("nobody", 404, "no session named 'nobody'"),
    ("default", 400, "the default session cannot be ended; POST /_mock/reset resets it"),
    ("a.b", 400, "session name must be 1 to 64 of A-Z, a-z, 0-9, _ and -, got 'a.b'"),
])
def test_delete_refusals(live: Live, name: str, status: int, detail: str) -> None:
    got = requests.delete(f"{live.url}/_mock/sessions/{name}", timeout=TIMEOUT)
    assert (got.status_code, got.json()) == (status, {"detail": detail})


def test_past_the_limit_a_new_session_gets_503_and_none_is_evicted(live: Live) -> None:
    end_all(live)
    for name in ("one", "two"):  # with default: 3, the limit
        assert requests.get(f"{live.url}/s/{name}/_mock/health", timeout=TIMEOUT).status_code == 200
    refused = requests.get(f"{live.url}/s/three/_mock/health", timeout=TIMEOUT)
    assert (refused.status_code, refused.reason) == (503, "Service Unavailable")
    assert refused.json() == {"detail": "session limit reached (3)"}
    by_header = requests.get(f"{live.url}/_mock/health", headers={"X-Mock-Session": "three"}, timeout=TIMEOUT)
    assert by_header.status_code == 503
    assert [s["name"] for s in sessions_of(live)] == ["default", "one", "two"]
    assert requests.get(f"{live.url}/s/one/_mock/health", timeout=TIMEOUT).status_code == 200  # existing ones serve


def test_an_idle_session_is_ended_and_default_never(dataset: Dataset) -> None:
    monotonic = FakeTime()
    registry = Sessions(MockState(MockConfig(session_idle_seconds=60, max_sessions=2), dataset=dataset),
                        monotonic=monotonic)
    first = registry.use("a")
    assert registry.use("a") is first
    monotonic.now += 61
    assert registry.use("b") is not None  # "a" was idle: ended, so "b" fits under the limit of 2
    assert [s["name"] for s in registry.listing()] == ["default", "b"]
    monotonic.now += 10_000
    assert [s["name"] for s in registry.listing()] == ["default"]


def test_an_idle_session_used_again_starts_fresh(dataset: Dataset) -> None:
    monotonic = FakeTime()
    registry = Sessions(MockState(MockConfig(session_idle_seconds=60), dataset=dataset), monotonic=monotonic)
    first = registry.use("a")
    monotonic.now += 30
    assert registry.use("a") is first  # used within the idle time: kept, and its idle time restarts
    monotonic.now += 59
    assert registry.use("a") is first
    monotonic.now += 60.5
    assert registry.use("a") is not first


def test_the_limit_counts_default_and_a_refusal_changes_nothing(dataset: Dataset) -> None:
    registry = Sessions(MockState(MockConfig(max_sessions=1), dataset=dataset))
    with pytest.raises(SessionError) as refused:
        registry.use("x")
    assert (refused.value.status, refused.value.detail) == (503, "session limit reached (1)")
    assert len(registry) == 1 and registry.get("x") is None


def test_session_seeds_differ_by_name_and_default_keeps_the_dataset_seed() -> None:
    assert session_seed(7, "default") == 7
    assert session_seed(7, "a") == session_seed(7, "a") != session_seed(7, "b")


def test_without_the_control_api_there_are_no_sessions(dataset: Dataset) -> None:
    config = MockConfig(control_api=False)
    client = create_app(config, MockState(config, dataset=dataset)).test_client()
    got = client.get("/s/alpha/api/petition_types")
    assert (got.status_code, got.get_json()) == (404, {"detail": "Not Found"})
    assert client.get("/api/petition_types", headers={"X-Mock-Session": "a.b"}).status_code == 401  # header ignored


def test_a_session_prefix_does_not_get_past_the_control_token(dataset: Dataset) -> None:
    config = MockConfig(control_token="secret-of-this-test")
    client = create_app(config, MockState(config, dataset=dataset)).test_client()
    refused = client.get("/s/alpha/_mock/requests")
    assert (refused.status_code, refused.get_json()) == (401, {"detail": "X-Mock-Control-Token is missing or wrong"})
    assert client.delete("/_mock/sessions/alpha").status_code == 401
    token = {"X-Mock-Control-Token": "secret-of-this-test"}
    assert client.get("/s/alpha/_mock/requests", headers=token).status_code == 200
    assert client.delete("/_mock/sessions/alpha", headers=token).get_json() == {"status": "ended", "name": "alpha"}
