"""Sessions over real HTTP: each per-session part isolated, URLs keep the prefix, the header, bad names."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from live_server import TIMEOUT, Live, live_server
from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.service.dataset import Dataset
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from support import FROZEN_AT

NEW_PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}
_names = itertools.count(1)


@pytest.fixture(scope="module")
def live(dataset: Dataset) -> Iterator[Live]:
    config = MockConfig(frozen_clock_at=FROZEN_AT, strict=True)
    with live_server(MockState(config, dataset=dataset)) as server:
        yield server


class Client:
    """One consumer: every call under its base URL (`/s/{name}` or none), with its own token."""

    def __init__(self, live: Live, name: str | None = None, headers: dict[str, str] | None = None) -> None:
        self.base = live.url + (f"/s/{name}" if name else "")
        self.root = live.url
        self.extra = headers or {}
        self.auth: dict[str, str] = {}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.extra, **self.auth, **kwargs.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=TIMEOUT, **kwargs)

    def login(self) -> Client:
        got = self.call("POST", "/api/jwt", params={"scope": f"{READ} {WRITE}"},
                        headers={"Authorization": "dev-readwrite"})
        assert got.status_code == 200, got.text
        self.auth = {"Authorization": f"Bearer {got.json()['jwt']}"}
        return self

    def write(self) -> requests.Response:
        posted = self.call("POST", "/api/academic/petitions", json={"petition": NEW_PETITION})
        assert posted.status_code == 202, posted.text
        return posted

    def mine(self) -> list[str]:
        """Ids of the petitions of NEW_PETITION's student and code (the written one, once completed)."""
        got = self.call("GET", "/api/academic/petitions", params={"netid": "f006s0b", "petition_code": "Q41"})
        assert got.status_code == 200, got.text
        return [record["id"] for record in got.json()]


def fresh(live: Live, **kwargs: Any) -> Client:
    return Client(live, f"t{next(_names)}", **kwargs).login()


def test_writes_tasks_and_ids_stay_in_their_session(live: Live) -> None:
    one, two, default = fresh(live), fresh(live), Client(live).login()
    live.state.reset()
    before = default.mine()
    posted = one.write()
    location = posted.headers["Location"]
    assert location.startswith(one.base.removeprefix(live.url) + "/api/tasks/")  # the prefix kept
    assert one.call("POST", "/_mock/clock/advance", json={"seconds": 5}).status_code == 200
    task = requests.get(live.url + location, headers=one.auth, timeout=TIMEOUT).json()
    assert task["status"] == "complete"
    assert len(one.mine()) == len(before) + 1
    assert two.mine() == before and default.mine() == before
    task_id = location.rsplit("/", 1)[1]
    assert two.call("GET", f"/api/tasks/{task_id}").status_code == 404
    assert default.call("GET", f"/api/tasks/{task_id}").status_code == 404
    # Two sessions never hand out the same task id, even with the same clock and the same first write.
    assert two.write().headers["Location"].rsplit("/", 1)[1] != task_id
    tasks = [t["id"] for t in one.call("GET", "/_mock/tasks").json()]
    assert tasks == [task_id]


def test_default_ids_are_the_ones_a_server_without_sessions_gives(live: Live, dataset: Dataset) -> None:
    live.state.reset()
    default = Client(live).login()
    first = default.write().headers["Location"]
    plain = create_app(MockConfig(frozen_clock_at=FROZEN_AT, control_api=False),
                       MockState(MockConfig(frozen_clock_at=FROZEN_AT, control_api=False), dataset=dataset))
    with plain.test_client() as other:
        jwt = other.post("/api/jwt", query_string={"scope": WRITE}, headers={"Authorization": "dev-readwrite"})
        posted = other.post("/api/academic/petitions", json={"petition": NEW_PETITION},
                            headers={"Authorization": f"Bearer {jwt.get_json()['jwt']}"})
        assert posted.headers["Location"] == first
    # And a session's ids repeat after its reset, like a server's after a restart.
    one = fresh(live)
    once = one.write().headers["Location"]
    assert one.call("POST", "/_mock/reset").json() == {"status": "reset"}
    assert one.login().write().headers["Location"] == once


def test_the_clock_is_per_session(live: Live) -> None:
    one, two = fresh(live), fresh(live)
    start = two.call("GET", "/_mock/clock").json()
    moved = one.call("POST", "/_mock/clock/advance", json={"seconds": 3600}).json()
    assert moved["epoch"] == FROZEN_AT + 3600 and moved["frozen"] is True
    assert two.call("GET", "/_mock/clock").json() == start == {"now": "2024-11-20T19:30:53.000000Z",
                                                                "epoch": FROZEN_AT, "frozen": True}


def test_the_scenario_and_its_dice_are_per_session(live: Live) -> None:
    one, two = fresh(live), fresh(live)
    assert one.call("PUT", "/_mock/scenario", json={"name": "unavailable"}).status_code == 200
    assert one.call("GET", "/api/petition_types").status_code == 503
    assert two.call("GET", "/_mock/scenario").json()["name"] == "default"
    assert two.call("GET", "/api/petition_types").status_code == 200
    # flaky's seeded dice: a session's draws do not move another's.
    statuses = []
    for client in (one, two):
        client.call("PUT", "/_mock/scenario", json={"name": "flaky"})
    alone = [one.call("GET", "/api/petition_types").status_code for _ in range(20)]
    one.call("POST", "/_mock/reset")
    one.call("PUT", "/_mock/scenario", json={"name": "flaky"})
    for _ in range(20):
        statuses.append(one.call("GET", "/api/petition_types").status_code)
        two.call("GET", "/api/petition_types")  # interleaved draws in another session
    assert statuses == alone and set(alone) != {200}


def test_found_sets_are_per_session(live: Live) -> None:
    one, two = fresh(live), fresh(live)
    first = one.call("GET", "/api/academic/petitions", params={"pagesize": 2})
    key = first.headers["X-Request-ID"]
    page = {"continuation_key": key, "page": 2, "pagesize": 2}
    assert one.call("GET", "/api/academic/petitions", params=page).status_code == 200
    other = two.call("GET", "/api/academic/petitions", params=page)
    assert (other.status_code, other.json()) == (400, {"detail": "Unknown or expired continuation_key"})


def test_journal_violations_and_coverage_are_per_session(live: Live) -> None:
    one, two = fresh(live), fresh(live)
    one.call("GET", "/api/academic/petitions", params={"netd": "f0027k4", "pagesize": 3})  # a dropped filter
    journal = one.call("GET", "/_mock/requests").json()
    assert [(e["method"], e["path"]) for e in journal] == [("POST", "/api/jwt"), ("GET", "/api/academic/petitions")]
    assert [e["path"] for e in two.call("GET", "/_mock/requests").json()] == ["/api/jwt"]
    assert [v["kind"] for v in one.call("GET", "/_mock/violations").json()] == ["dropped_filter"]
    assert two.call("GET", "/_mock/violations").json() == []
    assert one.call("GET", "/_mock/coverage").json()["requests"] == 2
    assert two.call("GET", "/_mock/coverage").json()["requests"] == 1


def test_reset_resets_that_session_only(live: Live) -> None:
    one, two = fresh(live), fresh(live)
    for client in (one, two):
        client.write()
        client.call("POST", "/_mock/clock/advance", json={"seconds": 5})
    assert one.call("POST", "/_mock/reset").json() == {"status": "reset"}
    assert one.call("GET", "/_mock/tasks").json() == [] and one.call("GET", "/_mock/requests").json() == []
    assert len(two.call("GET", "/_mock/tasks").json()) == 1
    assert two.call("GET", "/_mock/clock").json()["epoch"] == FROZEN_AT + 5


def test_the_header_names_the_same_session_as_the_prefix(live: Live) -> None:
    name = f"t{next(_names)}"
    live.state.reset()
    by_prefix = Client(live, name).login()
    by_header = Client(live, headers={"X-Mock-Session": name})
    by_header.auth = by_prefix.auth  # a token from one session works in every other (one signing key)
    location = by_header.write().headers["Location"]
    assert location.startswith("/api/tasks/")  # the header's client did not change its base URL
    assert by_prefix.call("GET", "/_mock/tasks").json()[0]["id"] == location.rsplit("/", 1)[1]
    assert Client(live).call("GET", "/_mock/tasks").json() == []  # not in default


def test_the_journal_link_and_the_openapi_servers_keep_the_prefix(live: Live) -> None:
    one = fresh(live)
    one.call("GET", "/api/petition_types")
    page = one.call("GET", "/_mock/requests", params={"limit": 1})
    assert page.headers["Link"] == f'<{one.base.removeprefix(live.url)}/_mock/requests?limit=1&cursor=1>; rel="next"'
    servers = one.call("GET", "/openapi.json").json()["servers"]
    assert servers[0] == {"url": one.base.removeprefix(live.url), "description": "this mock_api session"}
    assert Client(live).call("GET", "/openapi.json").json()["servers"][0]["url"] == "http://127.0.0.1:8000"


BAD_NAMES = ["a.b", "x" * 65, "sp ace"]


# A header value goes as latin-1 (requests, http.client), so the UTF-8 name is tried in the path only.
@pytest.mark.parametrize(("where", "name"), [*(("prefix", n) for n in [*BAD_NAMES, "é"]),
                                             *(("header", n) for n in BAD_NAMES)])
def test_a_bad_session_name_is_a_400_json(live: Live, where: str, name: str) -> None:
    if where == "prefix":
        got = requests.get(f"{live.url}/s/{name}/api/petition_types", timeout=TIMEOUT)
    else:
        got = requests.get(f"{live.url}/api/petition_types", headers={"X-Mock-Session": name}, timeout=TIMEOUT)
    assert got.status_code == 400 and got.reason == "Bad Request"
    assert got.headers["Content-Type"] == "application/json"
    assert got.json() == {"detail": f"session name must be 1 to 64 of A-Z, a-z, 0-9, _ and -, got {name!r}"}
    assert name not in [s["name"] for s in Client(live).call("GET", "/_mock/sessions").json()]


def test_an_empty_prefix_is_a_bad_name_and_a_bare_one_a_404(live: Live) -> None:
    assert requests.get(f"{live.url}/s//api/petition_types", timeout=TIMEOUT).status_code == 400
    bare = requests.get(f"{live.url}/s/t{next(_names)}", timeout=TIMEOUT)
    assert (bare.status_code, bare.json()) == (404, {"detail": "Not Found"})


def test_the_prefix_wins_over_the_header(live: Live) -> None:
    one, two = fresh(live), fresh(live)
    both = requests.post(f"{one.base}/_mock/clock/advance", json={"seconds": 7},
                         headers={"X-Mock-Session": two.base.rsplit("/", 1)[1]}, timeout=TIMEOUT)
    assert both.json()["epoch"] == FROZEN_AT + 7
    assert one.call("GET", "/_mock/clock").json()["epoch"] == FROZEN_AT + 7
    assert two.call("GET", "/_mock/clock").json()["epoch"] == FROZEN_AT
