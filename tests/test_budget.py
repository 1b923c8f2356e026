"""The one memory budget: every session's stores charge it, and past it relief drops in the documented order."""
from __future__ import annotations

import json
import os
import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import hostile_mix
from badinput import PETITION
from mock_api.config import MockConfig
from mock_api.contract.journal import ENTRY_OVERHEAD_BYTES, Journal
from mock_api.http.app import create_app
from mock_api.http.views.control import PAGE_BYTES
from mock_api.service.budget import MIB, RELIEF_TARGET, MemoryBudget
from mock_api.service.dataset import Dataset
from mock_api.service.scopes import READ, WRITE
from mock_api.sessions import Sessions
from mock_api.state import SESSION_BYTES, MockState
from support import FROZEN_AT, bearer, running_server, token_for, validating

BIG_HEADER = "h" * 200_000


def make(dataset: Dataset, **config: Any) -> tuple[FlaskClient, MockState]:
    state = MockState(MockConfig(frozen_clock_at=FROZEN_AT, **config), dataset=dataset)
    app: Flask = validating(create_app(state=state))
    return app.test_client(), state


def memory(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/_mock/health")
    assert response.status_code == 200
    return dict(response.get_json()["memory"])


def test_health_shows_the_budget_what_each_store_holds_and_the_drops(client: FlaskClient) -> None:
    shown = memory(client)
    assert list(shown) == ["budget_bytes", "used_bytes", "stores", "relief_order", "reliefs", "dropped"]
    assert shown["budget_bytes"] == 256 * MIB
    assert shown["relief_order"] == ["journal", "tasks", "idle sessions"]
    assert shown["dropped"] == {"journal": 0, "tasks": 0, "sessions": 0}
    assert set(shown["stores"]) >= {"journal", "tasks", "petitions", "sessions"}
    assert shown["used_bytes"] == sum(shown["stores"].values())


def test_big_headers_are_kept_cut_and_every_session_draws_from_one_budget(dataset: Dataset) -> None:
    """200 KB header values over 10 sessions: each entry keeps ~8 KB, and past 1 MiB the oldest entries of all
    sessions go first; every request is still answered as usual."""
    client, state = make(dataset, memory_budget=1)
    for number in range(120):
        response = client.get(f"/s/s{number % 10}/api/nowhere/{number}", headers={"X-Big": BIG_HEADER})
        assert response.status_code == 404  # answered as ever: never refused for memory
    state.budget.relieve()  # after the relief thread's: what it left, then one more pass if still over
    shown = memory(client)
    assert shown["used_bytes"] <= 1 * MIB
    assert shown["dropped"]["journal"] > 0 and shown["dropped"]["sessions"] == 0
    sessions = state.budget.session_relief.__self__  # type: ignore[union-attr]
    assert isinstance(sessions, Sessions)
    kept = sorted(int(entry["path"].rsplit("/", 1)[1]) for number in range(10)
                  for entry in sessions.get(f"s{number}").journal.entries())  # type: ignore[union-attr]
    # The oldest went first, across sessions: what is left is the newest requests, whichever session had them.
    assert 10 < len(kept) < 120 and kept == list(range(120 - len(kept), 120))
    assert shown["dropped"]["journal"] == 120 - len(kept)


def test_finished_tasks_go_after_the_journal_then_404(dataset: Dataset) -> None:
    client, state = make(dataset, memory_budget=1)
    auth = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    locations = []
    for number in range(30):
        body = {"petition": {**PETITION, "decision": f"D{number}", "school": "x" * 60_000}}
        response = client.post("/api/academic/petitions", json=body, headers=auth)
        assert response.status_code == 202
        locations.append(response.headers["Location"])
        state.clock.advance(2)  # each completes (and fails: unknown school) before the next POST
        assert client.get(locations[-1], headers=auth).get_json()["status"] == "complete"
    state.budget.relieve()
    shown = memory(client)
    assert shown["dropped"]["journal"] > 0 and shown["dropped"]["tasks"] > 0
    assert shown["used_bytes"] <= 1 * MIB
    assert client.get(locations[0], headers=auth).status_code == 404  # the oldest finished task went
    assert client.get(locations[-1], headers=auth).status_code == 200


def test_idle_sessions_are_ended_last_least_recently_used_first(dataset: Dataset) -> None:
    now = [0.0]
    state = MockState(MockConfig(frozen_clock_at=FROZEN_AT, memory_budget=1), dataset=dataset)
    sessions = Sessions(state, monotonic=lambda: now[0])
    for number in range(50):  # 50 sessions: past the budget by themselves
        sessions.use(f"s{number}")
        now[0] += 10.0
    sessions.use("recent")  # used now: not idle, never ended by relief
    state.budget.relieve()
    kept = [s["name"] for s in sessions.listing()]
    assert kept[0] == "default" and "recent" in kept and "s49" in kept
    assert "s0" not in kept and "s1" not in kept  # least recently used first
    assert state.budget.dropped["sessions"] == 51 - (len(kept) - 1)
    assert state.budget.used <= int(MIB * RELIEF_TARGET)
    assert state.budget.describe()["stores"]["sessions"] == SESSION_BYTES * (len(kept) - 1)


def test_reset_and_an_ended_session_release_what_they_held(dataset: Dataset) -> None:
    state = MockState(MockConfig(frozen_clock_at=FROZEN_AT), dataset=dataset)
    client = create_app(state=state).test_client()  # not validating: openapi.yaml has no /s/{name} paths
    auth = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    client.post("/s/a/api/academic/petitions", json={"petition": PETITION}, headers=auth)
    client.post("/api/academic/petitions", json={"petition": PETITION}, headers=auth)
    stores = memory(client)["stores"]
    assert stores["journal"] > 0 and stores["tasks"] > 0 and stores["sessions"] == SESSION_BYTES
    assert client.delete("/_mock/sessions/a").status_code in (200, 204)
    assert client.post("/_mock/reset").status_code == 200
    stores = memory(client)["stores"]
    assert (stores["journal"], stores["tasks"], stores["sessions"]) == (0, 0, 0)


def test_a_failure_reason_is_cut_and_a_task_page_stays_within_its_bytes(dataset: Dataset) -> None:
    """A 1 MB netid used to come back twice per task (payload and reason): pages of 16 MB."""
    client, state = make(dataset)
    auth = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    for number in range(12):
        body = {"petition": {**PETITION, "netid": f"{number}" + "n" * 1_000_000}}
        assert client.post("/api/academic/petitions", json=body, headers=auth).status_code == 202
    state.clock.advance(2)
    page = client.get("/_mock/tasks")
    tasks = page.get_json()
    assert all(t["status"] == "complete" for t in tasks)
    reason = tasks[0]["failure_reason"]
    assert reason.startswith("no student '0nnn") and reason.endswith("...[mock_api: cut at 64 of 1000003 bytes]")
    assert len(reason) < 200
    assert len(page.data) <= PAGE_BYTES + len(json.dumps(tasks[0])) and "Link" in page.headers


def test_a_body_of_tiny_items_is_counted_as_the_objects_it_becomes(dataset: Dataset) -> None:
    client, _ = make(dataset)
    auth = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    body = b"[" + b",".join([b"{}"] * 100_000) + b"]"
    response = client.post("/api/academic/petitions", data=body, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 202
    # 100,000 dicts are ~6 MB as objects, not the 300 KB of their text.
    assert memory(client)["stores"]["tasks"] > 100_000 * 64


def test_a_journal_without_a_budget_still_counts_its_own_bytes() -> None:
    journal = Journal(limit=10, max_bytes=10**6)
    journal.record({"path": "/p", "headers": {"A": "b"}})
    assert journal._bytes == ENTRY_OVERHEAD_BYTES + 2 + 2 + 160
    budget = MemoryBudget(1000)
    charged = Journal(limit=10, max_bytes=10**6, budget=budget, session="x")
    charged.record({"path": "/p"})
    assert budget.session_bytes("x") == ENTRY_OVERHEAD_BYTES + 2
    charged.close()
    assert budget.used == 0


@pytest.mark.slow
def test_the_hostile_mix_over_http_stays_within_the_budget_and_answers_control_reads() -> None:
    """`python -m mock_api` with a 16 MiB budget from the environment (small: a loaded machine's slower mix
    still passes it), the hostile mix for 12 s: relief drops journal entries and finished tasks, the server's
    RSS stays bounded, control reads stay fast and pages in their bound, and no API request is refused for
    memory (no 5xx but the body buffer's 503, no connection dropped)."""
    os.environ["MOCK_API_MEMORY_BUDGET"] = "16"
    try:
        with running_server() as server:
            port = int(server.url.rsplit(":", 1)[1])
            before = hostile_mix.rss_mb(server.process.pid)
            outcome = hostile_mix.run(port, server.process.pid, seconds=12)
    finally:
        del os.environ["MOCK_API_MEMORY_BUDGET"]
    memory: dict[str, Any] = outcome.memory
    assert memory["budget_bytes"] == 16 * MIB
    assert memory["reliefs"] > 0 and memory["dropped"]["journal"] > 0 and memory["dropped"]["tasks"] > 0
    assert memory["used_bytes"] <= 16 * MIB
    # 503 is the body buffer's refusal (full of the unfinished bodies; issue 23 point 2), never the budget's.
    assert outcome.failures == 0 and not [s for s in outcome.statuses if s >= 500 and s != 503], outcome.statuses
    assert outcome.statuses[202] > 100 and outcome.reads > 20 and len(outcome.sessions) > 100
    # Issue 23's 2 s target is bench_soak.py's to show on a quiet machine; a shared CI runner gets twice that.
    assert outcome.slowest_read < 2 * hostile_mix.READ_TARGET_S, (outcome.slowest_path, outcome.slowest_read)
    assert outcome.largest_page <= PAGE_BYTES
    assert outcome.unfinished > 0
    # The budget bounds what the stores hold, --body-buffer-bytes (64 MiB) the unfinished bodies; the rest is
    # the process's own (code, snapshot, 1 MB bodies and their parsed JSON in flight, what malloc keeps).
    assert outcome.peak_rss < hostile_mix.RSS_TARGET_MB, (before, outcome.rss)


def test_caches_found_sets_and_violations_are_charged_and_reset_releases_them(dataset: Dataset) -> None:
    client, state = make(dataset, strict=True)
    auth = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    assert client.get("/api/academic/petitions?pagesize=5", headers=auth).status_code == 200
    client.get("/api/academic/petitions", headers={"Authorization": "Token nope"})  # a strict-mode violation
    stores = memory(client)["stores"]
    assert stores["found_sets"] >= 256 + 8 * len(state.dataset.petitions.entries)
    assert stores["rendered"] > 5 * 200 and stores["violations"] > 600
    assert client.post("/_mock/reset").status_code == 200
    stores = memory(client)["stores"]
    assert (stores["found_sets"], stores["rendered"], stores["violations"]) == (0, 0, 0)


def reliefs_reach(budget: MemoryBudget, count: int, waits: int = 500) -> bool:
    """Whether the relief thread has run `count` reliefs within `waits` hundredths of a second (it runs apart
    from the caller)."""
    done = threading.Event()
    for _ in range(waits):
        if budget.reliefs >= count:
            return True
        done.wait(0.01)
    return budget.reliefs >= count


def test_relief_that_missed_its_target_waits_for_more_then_runs_again_once_back_under() -> None:
    """A relief that could not get under its target is not woken on every request; once what is held fell back
    under the limit (a reset, an ended session), the next time over wakes it again, however little is held."""
    budget = MemoryBudget(10_000)
    stuck = budget.account("s", "petitions")  # nothing relief can drop
    stuck.charge(20_000)
    budget.relieve_soon()
    assert reliefs_reach(budget, 1) and budget.used == 20_000
    budget.relieve_soon()  # less than 1% more held: not woken again
    assert not reliefs_reach(budget, 2, waits=20)
    stuck.release(20_000)
    journal = Journal(limit=100, max_bytes=10**6, budget=budget, session="s")
    for number in range(10):  # ~1,012 bytes each: the tenth is over the limit, and recording it wakes relief
        journal.record({"path": f"/{number}", "body": "x" * 500})
    assert reliefs_reach(budget, 2)
    assert [e["path"] for e in journal.entries()] == [f"/{number}" for number in range(2, 10)]
    assert budget.used == sum(ENTRY_OVERHEAD_BYTES + len(f"/{number}") + 500 for number in range(2, 10))


def test_a_snapshot_put_back_is_charged_once_and_what_it_replaced_is_released(dataset: Dataset) -> None:
    client, state = make(dataset)
    auth = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    for number in range(3):
        body = {"petition": {**PETITION, "decision": f"D{number}", "school": "x" * 60_000}}
        assert client.post("/api/academic/petitions", json=body, headers=auth).status_code == 202
    state.clock.advance(2)
    assert client.get("/api/academic/petitions?pagesize=5", headers=auth).status_code == 200  # completes them
    held = memory(client)["stores"]
    snapshot = client.get("/_mock/snapshot").get_json()
    more = {"petition": {**PETITION, "school": "y" * 60_000}}
    assert client.post("/api/academic/petitions", json=more, headers=auth).status_code == 202
    assert memory(client)["stores"]["tasks"] > held["tasks"]
    for _ in range(2):  # put back twice: charged once, the replaced state released each time
        assert client.put("/_mock/snapshot", json=snapshot).status_code == 200
    shown = memory(client)
    kinds = ("tasks", "petitions", "found_sets", "counters")
    assert [shown["stores"][kind] for kind in kinds] == [held[kind] for kind in kinds]
    # What a snapshot keeps of the journal: the same, but the API key of the token request masked ("***").
    assert shown["stores"]["journal"] == held["journal"] - len("dev-readwrite") + len("***")
    assert held["tasks"] > 3 * 60_000 and shown["used_bytes"] == sum(shown["stores"].values())
    assert state.backend.relief_age() is not None  # its finished tasks are relief's to drop, oldest first
