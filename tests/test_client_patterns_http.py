"""Patterns of public clients of the live API, replayed over real HTTP: token times, paging loops,
repeated query parameters, and the date a created petition gets."""
from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from live_server import TIMEOUT, Live, live_server
from mock_api.config import MockConfig
from mock_api.service.dataset import Dataset
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from support import FROZEN_AT

NEW_PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}
SAMPLE_IDS = ["2907841-Q25-24W=L-APPV", "2907841-Q24--FIVEYEAR"]  # seed 001's sample return for f0027k4


@pytest.fixture(scope="module")
def server(dataset: Dataset) -> Iterator[Live]:
    with live_server(MockState(MockConfig(frozen_clock_at=FROZEN_AT), dataset=dataset)) as live:
        yield live


@pytest.fixture
def live(server: Live) -> Live:
    server.state.reset()
    return server


def _token_payload(token: str) -> dict[str, Any]:
    """As dali-lab/dali-os dali-api/app/lib/dartmouth-jwt.ts reads it: the token's middle part, unverified."""
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_token_times_are_numbers_in_the_token_and_the_reply_strings_in_the_task(live: Live) -> None:
    got = requests.post(f"{live.url}/api/jwt", params={"scope": f"{READ} {WRITE}"},
                        headers={"Authorization": "dev-readwrite"}, timeout=TIMEOUT)
    body = got.json()
    decoded = _token_payload(body["jwt"])
    # dali-os throws unless typeof payload.exp === "number"; a Python client calls fromtimestamp(exp).
    assert (type(decoded["exp"]), type(decoded["iat"])) == (int, int)
    assert (decoded["iat"], decoded["exp"]) == (int(FROZEN_AT), int(FROZEN_AT) + 10800)
    assert datetime.fromtimestamp(decoded["exp"], tz=timezone.utc) == datetime(2024, 11, 20, 22, 30, 53,
                                                                               tzinfo=timezone.utc)
    assert body["payload"] == decoded
    # The task's requester is the worker's copy of the claims: the seed's strings.
    auth = {"Authorization": f"Bearer {body['jwt']}"}
    posted = requests.post(f"{live.url}/api/academic/petitions", json={"petition": NEW_PETITION}, headers=auth,
                           timeout=TIMEOUT)
    requester = live.get(posted.headers["Location"], auth).json()["requester"]
    assert (requester["exp"], requester["iat"]) == ("1732141853", "1732131053")


PageLoop = Callable[[Live, dict[str, str], requests.Response], list[requests.Response]]


def keep_the_first_id(live: Live, auth: dict[str, str], first: requests.Response) -> list[requests.Response]:
    """Catalogue scrapers: the first call's X-Request-ID is the key of every later page."""
    key, pages, number = first.headers["X-Request-ID"], [], 2
    while True:
        page = live.get("/api/academic/petitions", auth, {"continuation_key": key, "page": number, "pagesize": 10})
        pages.append(page)
        if page.status_code != 200 or len(page.json()) < 10:
            return pages
        number += 1


def reread_each_page(live: Live, auth: dict[str, str], first: requests.Response) -> list[requests.Response]:
    """An iPaaS client: each page's X-Request-ID is the next call's continuation_key."""
    previous, pages, number = first, [], 2
    while True:
        page = live.get("/api/academic/petitions", auth,
                        {"continuation_key": previous.headers["X-Request-ID"], "page": number, "pagesize": 10})
        pages.append(page)
        if page.status_code != 200 or not page.json():
            return pages
        previous, number = page, number + 1


@pytest.mark.parametrize("loop", [keep_the_first_id, reread_each_page])
def test_both_paging_styles_page_the_same_found_set_to_the_end(live: Live, loop: PageLoop) -> None:
    auth = live.token()
    whole = live.get("/api/academic/petitions", auth, {"petition_code": "Q2*", "pagesize": 1000})
    first = live.get("/api/academic/petitions", auth, {"petition_code": "Q2*", "pagesize": 10})
    assert first.status_code == 200 and len(first.json()) == 10
    # Written after the first call: not in its found set, so no page may show it.
    live.state.backend.add_petition({**NEW_PETITION, "petition_code": "Q25"})
    pages = loop(live, auth, first)
    assert [page.status_code for page in pages] == [200] * len(pages)
    assert len(pages) >= 7  # page 3 and later: where re-reading a fresh id used to fail
    key = first.headers["X-Request-ID"]
    assert [page.headers["X-Request-ID"] for page in pages] == [key] * len(pages)
    seen = [record["id"] for response in (first, *pages) for record in response.json()]
    assert seen == [record["id"] for record in whole.json()] and len(seen) == int(first.headers["X-Count"]) == 77


def test_a_repeated_filter_counts_its_last_value(live: Live) -> None:
    auth = live.token()
    last_is_f0027k4 = live.get("/api/academic/petitions", auth, [("netid", "nobody"), ("netid", "f0027k4")])
    assert [r["id"] for r in last_is_f0027k4.json()] == SAMPLE_IDS
    last_is_nobody = live.get("/api/academic/petitions/", auth, [("netid", "f0027k4"), ("netid", "nobody")])
    assert (last_is_nobody.status_code, last_is_nobody.json()) == (200, [])
    types = live.get("/api/petition_types", auth, [("id", "Q25"), ("id", "Q24")])
    assert [t["id"] for t in types.json()] == ["Q24"]


def test_repeated_paging_parameters_count_their_last_value(live: Live) -> None:
    auth = live.token()
    whole = [r["id"] for r in live.get("/api/academic/petitions", auth, {"pagesize": 1000}).json()]
    page = live.get("/api/academic/petitions", auth, [("pagesize", "1"), ("pagesize", "3"), ("page", "1"),
                                                      ("page", "2")])
    assert [r["id"] for r in page.json()] == whole[3:6]
    first = live.get("/api/academic/petitions", auth, {"netid": "f0027k4", "pagesize": 1})
    later = live.get("/api/academic/petitions", auth, [("continuation_key", "no-such-key"),
                                                       ("continuation_key", first.headers["X-Request-ID"]),
                                                       ("page", "2"), ("pagesize", "1")])
    assert (later.status_code, [r["id"] for r in later.json()]) == (200, SAMPLE_IDS[1:])


def test_a_repeated_scope_on_the_token_endpoint_counts_its_last_value(live: Live) -> None:
    got = requests.post(f"{live.url}/api/jwt", params=[("scope", WRITE), ("scope", READ)],
                        headers={"Authorization": "dev-readwrite"}, timeout=TIMEOUT)
    assert got.status_code == 200
    assert (got.json()["accepted_scopes"], got.json()["payload"]["scope"]) == ([READ], READ)


def _at(live: Live, moment: datetime) -> None:
    live.state.clock.advance(moment.timestamp() - live.state.clock.now())


@pytest.mark.parametrize(("requested", "scenario", "effective"), [
    # Winter (EST): the frozen start, 2024-11-20 14:30:53 in Hanover.
    (datetime.fromtimestamp(FROZEN_AT, tz=timezone.utc), "default", "2024-11-20T05:00:00Z"),
    # Summer (EDT), late evening: the UTC date is already the next day, the local one is not.
    (datetime(2025, 7, 1, 2, 30, tzinfo=timezone.utc), "default", "2025-06-30T04:00:00Z"),
    # Requested at 23:59:45 local on the 14th, a 30 s task completes on the 15th: the completion's day.
    (datetime(2025, 1, 15, 4, 59, 45, tzinfo=timezone.utc), "slow_tasks", "2025-01-15T05:00:00Z"),
])
def test_a_created_petition_is_dated_the_local_midnight_of_the_day_its_task_completed(
        live: Live, requested: datetime, scenario: str, effective: str) -> None:
    _at(live, requested)
    auth = live.token()
    posted = requests.post(f"{live.url}/api/academic/petitions", json={"petition": NEW_PETITION},
                           headers={**auth, "X-Mock-Scenario": scenario}, timeout=TIMEOUT)
    live.state.clock.advance(31)
    task = live.get(posted.headers["Location"], auth).json()
    assert task["message"].startswith("Petition created successfully.")
    by_path = live.get(f"/api{task['path']}", auth).json()
    by_filter = live.get("/api/academic/petitions", auth, {"netid": "f006s0b", "petition_code": "Q41"}).json()
    assert by_path["effective_date"] == effective
    assert by_filter == [by_path]


def total_count_loop(live: Live, auth: dict[str, str]) -> tuple[int, list[str]]:
    """As HariniVasanth/People_API utils.py and assets_import dart_api.py page: the page count from
    int(headers["x-total-count"]), then each later page by continuation_key."""
    first = live.get("/api/academic/petitions", auth, {"petition_code": "Q2*", "pagesize": 10})
    total = int(first.headers["x-total-count"])
    ids = [record["id"] for record in first.json()]
    for number in range(2, -(-total // 10) + 1):
        page = live.get("/api/academic/petitions", auth,
                        {"continuation_key": first.headers["x-request-id"], "page": number, "pagesize": 10})
        assert int(page.headers.get("x-total-count", "")) == total
        ids += [record["id"] for record in page.json()]
    return total, ids


@pytest.mark.parametrize("scenario", ["default", "pessimistic"])
def test_a_client_sizing_its_loop_from_x_total_count_pages_the_whole_set(live: Live, scenario: str) -> None:
    live.state.set_scenario(scenario)
    auth = live.token()
    total, ids = total_count_loop(live, auth)
    whole = live.get("/api/academic/petitions", auth, {"petition_code": "Q2*", "pagesize": 1000})
    assert (total, ids) == (77, [record["id"] for record in whole.json()])
    # X-Count stays beside it where the scenario keeps the lenient header, with the same number.
    assert whole.headers.get("X-Count") == ("77" if scenario == "default" else None)
    assert whole.headers["X-Total-Count"] == "77"
