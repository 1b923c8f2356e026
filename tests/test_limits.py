"""Every store is bounded: journal (entries, bytes, cut values), coverage, violations, tasks, token memo."""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from badinput import PETITION
from mock_api import limits
from mock_api.cli import build_parser, config_from_args
from mock_api.config import DEV_SIGNING_KEY, MockConfig
from mock_api.contract.journal import Journal, entry_bytes
from mock_api.http.app import create_app
from mock_api.service import tokens
from mock_api.service.dataset import Dataset
from mock_api.service.indexes import PetitionIndex
from mock_api.service.query import Term
from mock_api.service.records import StoredPetition
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from support import FROZEN_AT, ROOT, bearer, token_for, validating

BIG = 240 * 1024


def make(dataset: Dataset, **config: Any) -> tuple[FlaskClient, MockState]:
    state = MockState(MockConfig(frozen_clock_at=FROZEN_AT, **config), dataset=dataset)
    app: Flask = validating(create_app(state=state))
    return app.test_client(), state


# -- journal -----------------------------------------------------------------------------------------
def test_journal_cuts_long_header_values_and_bodies_with_a_marker(dataset: Dataset) -> None:
    client, _ = make(dataset)
    body = b'{"petition": "' + b"y" * 100_000 + b'"}'
    client.post("/api/academic/petitions", data=body, headers={"X-Big": "x" * BIG, "X-Small": "s" * 8192,
                                                               "Content-Type": "application/json"})
    [entry] = client.get("/_mock/requests").get_json()
    assert entry["headers"]["X-Big"] == "x" * 8192 + f"...[mock_api: cut at 8192 of {BIG} bytes]"
    assert entry["headers"]["X-Small"] == "s" * 8192  # at the limit: kept whole, no marker
    assert entry["body"] == body[:65536].decode() + f"...[mock_api: cut at 65536 of {len(body)} bytes]"


def test_journal_is_bounded_by_bytes_oldest_dropped_first(dataset: Dataset) -> None:
    client, state = make(dataset, journal_bytes=50_000)
    for number in range(40):
        client.get(f"/api/nowhere/{number}", headers={"X-Big": "x" * 8192})
    seqs = [e["seq"] for e in state.journal.entries()]
    # ~8.8 KB an entry: five fit in 50,000 bytes, the newest ones, numbered on.
    assert seqs == [36, 37, 38, 39, 40]


def test_an_observed_entry_is_counted_as_the_bytes_it_reads_as(dataset: Dataset) -> None:
    """The byte bound counts an observed request as entry_bytes of its entry as served: masked secrets,
    cut values with their markers, every value of a repeated parameter, the body."""
    client, state = make(dataset)
    client.get("/api/academic/petitions?netid=a&netid=bb&pagesize=2", headers={"Authorization": "Bearer " + "t" * 500})
    client.post("/api/academic/petitions", data=b'{"petition": "' + b"y" * 70_000 + b'"}',
                headers={"X-Big": "x" * BIG, "Cookie": "c=1", "Content-Type": "application/json"})
    client.get("/api/nowhere", headers={"Authorization": "dev-readonly"})
    kept = list(state.journal._entries)
    assert [size for _, _, size in kept] == [entry_bytes(entry) for entry in state.journal.entries()]
    assert len(kept) == 3


def test_journal_keeps_the_newest_entry_even_alone_over_the_bound() -> None:
    journal = Journal(limit=10, max_bytes=100)
    journal.record({"path": "/a" * 200})
    journal.record({"path": "/b" * 200})
    assert [e["seq"] for e in journal.entries()] == [2]


def test_journal_pages_by_limit_and_cursor_with_a_link_to_the_next(dataset: Dataset) -> None:
    client, _ = make(dataset)
    for number in range(25):
        client.get(f"/api/nowhere/{number}")
    first = client.get("/_mock/requests?limit=10")
    assert [e["seq"] for e in first.get_json()] == list(range(1, 11))
    assert first.headers["Link"] == '</_mock/requests?limit=10&cursor=10>; rel="next"'
    second = client.get("/_mock/requests?limit=10&cursor=10")
    assert [e["seq"] for e in second.get_json()] == list(range(11, 21))
    last = client.get("/_mock/requests?limit=10&cursor=20")
    assert [e["seq"] for e in last.get_json()] == [21, 22, 23, 24, 25] and "Link" not in last.headers
    assert client.get("/_mock/requests?cursor=25").get_json() == []
    default = client.get("/_mock/requests")  # the default page: up to 1,000, so existing callers see all
    assert len(default.get_json()) == 25 and "Link" not in default.headers


@pytest.mark.parametrize("query, detail", [
    ("limit=0", "limit must be a whole number from 1 to 100000"),
    ("limit=100001", "limit must be a whole number from 1 to 100000"),
    ("limit=-1", "limit must be a whole number from 1 to 100000"),
    ("limit=²", "limit must be a whole number from 1 to 100000"),
    ("cursor=x", "cursor must be a whole number: the one in the previous page's Link header"),
    ("cursor=" + "9" * 19, "cursor must be a whole number: the one in the previous page's Link header"),
])
@pytest.mark.parametrize("path", ["/_mock/requests", "/_mock/tasks"])
def test_bad_page_arguments_are_a_400_naming_the_rule(client: FlaskClient, path: str, query: str,
                                                      detail: str) -> None:
    got = client.get(f"{path}?{query}")
    assert (got.status_code, got.get_json()) == (400, {"detail": detail})


# -- tasks -------------------------------------------------------------------------------------------
def _post(client: FlaskClient, auth: dict[str, str], number: int) -> str:
    got = client.post("/api/academic/petitions", json={"petition": {**PETITION, "decision": f"D{number}"}},
                      headers=auth)
    assert got.status_code == 202
    return str(got.headers["Location"])


def test_completed_tasks_past_the_cap_are_dropped_oldest_first_and_answer_404(dataset: Dataset) -> None:
    client, state = make(dataset, max_tasks=3)
    auth = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    locations = []
    for number in range(5):
        locations.append(_post(client, auth, number))
        state.clock.advance(2)
    statuses = [client.get(location, headers=auth).status_code for location in locations]
    assert statuses == [404, 404, 200, 200, 200]
    assert client.get(locations[0], headers=auth).get_json() == {"detail": "Not Found"}
    assert [t["id"] for t in client.get("/_mock/tasks").get_json()] == [loc.rsplit("/", 1)[1] for loc in locations[2:]]
    # Their petitions stay: only the task records go.
    assert client.get("/api/academic/petitions?netid=f006s0b&decision=D0", headers=auth).get_json() != []


def test_accepted_tasks_past_the_cap_are_dropped_too_and_never_write(dataset: Dataset) -> None:
    client, state = make(dataset, max_tasks=5)  # the clock is frozen: no task completes on its own
    auth = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    locations = [_post(client, auth, number) for number in range(50)]
    assert state.backend.task_count() == 5
    assert [client.get(loc, headers=auth).status_code for loc in locations[:45]] == [404] * 45
    assert [client.get(loc, headers=auth).get_json()["status"] for loc in locations[45:]] == ["accepted"] * 5
    assert [t["id"] for t in client.get("/_mock/tasks").get_json()] == [loc.rsplit("/", 1)[1] for loc in locations[45:]]
    # The dropped tasks' runs are purged from the queue, not kept until their due time: at most twice the live.
    assert len(state.backend._queue) <= 10
    state.clock.advance(2)
    assert [client.get(loc, headers=auth).get_json()["status"] for loc in locations[45:]] == ["complete"] * 5
    assert client.get(locations[0], headers=auth).get_json() == {"detail": "Not Found"}
    written = client.get("/api/academic/petitions?netid=f006s0b", headers=auth).get_json()
    assert sorted(r["decision"] for r in written if r["decision"].startswith("D")) == [f"D{n}" for n in range(45, 50)]


def test_tasks_page_by_limit_and_cursor(dataset: Dataset) -> None:
    client, _ = make(dataset)
    auth = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    ids = [_post(client, auth, number).rsplit("/", 1)[1] for number in range(5)]
    first = client.get("/_mock/tasks?limit=2")
    assert [t["id"] for t in first.get_json()] == ids[:2]
    link = re.fullmatch(r'<(/_mock/tasks\?limit=2&cursor=\d+)>; rel="next"', first.headers["Link"])
    assert link is not None
    second = client.get(link.group(1))
    assert [t["id"] for t in second.get_json()] == ids[2:4]
    last = client.get(re.findall(r"<(.*)>", second.headers["Link"])[0])
    assert [t["id"] for t in last.get_json()] == ids[4:] and "Link" not in last.headers


# -- written petitions ------------------------------------------------------------------------------
def test_written_petitions_past_the_cap_drop_the_oldest_which_then_answer_404(dataset: Dataset) -> None:
    client, state = make(dataset, max_written_petitions=3)
    auth = bearer(token_for(client, "dev-readonly", (READ,)))
    added = [state.backend.add_petition({**PETITION, "decision": f"W{number}"}) for number in range(5)]
    for record in added[:2]:
        got = client.get(f"/api/academic/petitions/{record['id']}", headers=auth)
        assert (got.status_code, got.get_json()) == (404, {"detail": "Not Found"})
    for record in added[2:]:
        got = client.get(f"/api/academic/petitions/{record['id']}", headers=auth)
        assert (got.status_code, got.get_json()) == (200, record)
    listed = client.get("/api/academic/petitions?netid=f006s0b&decision=W*", headers=auth).get_json()
    assert listed == added[2:]
    assert len(state.backend.created) == 3
    # A dropped petition's id is free again: the worker's duplicate check no longer sees it.
    assert not state.backend.contains_petition_id(added[0]["id"])
    assert state.backend.add_petition({**PETITION, "decision": "W0"}) == added[0]
    assert [r["decision"] for r in client.get("/api/academic/petitions?netid=f006s0b&decision=W*",
                                              headers=auth).get_json()] == ["W3", "W4", "W0"]


def test_petitions_written_by_tasks_are_bounded_too(dataset: Dataset) -> None:
    client, state = make(dataset, max_written_petitions=2)
    auth = bearer(token_for(client, "dev-readwrite", (READ, WRITE)))
    locations = []
    for number in range(4):
        locations.append(_post(client, auth, number))
        state.clock.advance(2)
    paths = [client.get(loc, headers=auth).get_json()["path"] for loc in locations]
    statuses = [client.get(f"/api{path}", headers=auth).status_code for path in paths]  # by Mongo id
    assert statuses == [404, 404, 200, 200]
    listed = client.get("/api/academic/petitions?netid=f006s0b&decision=D*", headers=auth).get_json()
    assert [r["decision"] for r in listed] == ["D2", "D3"]


def test_a_bounded_index_stays_correct_across_many_drops_and_compactions() -> None:
    index = PetitionIndex(limit=3)
    added = []
    for number in range(20):
        entry = StoredPetition({"id": f"p{number}", "school": "UG" if number % 2 else "GR", "decision": "APPV"},
                               f"m{number}", 0.0)
        index.add(entry)
        added.append(entry)
        kept = added[-3:]
        assert index.entries == kept and len(index) == len(kept)
        gone = [None] * (len(added) - len(kept))
        assert [index.lookup(e.record["id"]) for e in added] == gone + kept
        assert [index.lookup(e.mongo_id) for e in added] == gone + kept
        for school in ("UG", "GR"):
            got = list(index.candidates([Term("school", "eq", school)]))
            assert got == [e for e in kept if e.record["school"] == school]
    assert set(index.by_field["id"]) == {"p17", "p18", "p19"} and set(index.by_mongo_id) == {"m17", "m18", "m19"}


# -- coverage ----------------------------------------------------------------------------------------
def test_a_request_that_fails_authentication_adds_no_scope(client: FlaskClient) -> None:
    client.post("/api/jwt?scope=" + "j" * 20_000, headers={"Authorization": "wrong-key"})
    client.post(f"/api/jwt?scope={READ}", headers={"Authorization": "wrong-key"})
    assert client.get("/_mock/coverage").get_json()["scopes"]["requested"] == []


def test_junk_scopes_do_not_grow_the_coverage(client: FlaskClient) -> None:
    for number in range(50):
        client.post(f"/api/jwt?scope={READ}%20junk{number}", headers={"Authorization": "dev-readonly"})
    assert client.get("/_mock/coverage").get_json()["scopes"]["requested"] == [READ]


def test_coverage_sets_are_capped(dataset: Dataset) -> None:
    client, _ = make(dataset, coverage_limit=3)
    for number in range(10):
        client.get(f"/api/nowhere/{number}{'x' * 1000}")
    undocumented = client.get("/_mock/coverage").get_json()["undocumented"]
    assert len(undocumented) == 3 and all(len(item) < 220 for item in undocumented)


# -- violations and the token memo -------------------------------------------------------------------
def test_violations_past_the_cap_are_counted_not_kept(dataset: Dataset) -> None:
    client, _ = make(dataset, strict=True, violations_limit=2)
    auth = bearer(token_for(client, "dev-readonly", (READ,)))
    for name in ("nope1", "nope2", "nope3", "nope4"):
        client.get(f"/api/academic/petitions?{name}=1", headers=auth)
    client.get("/api/academic/petitions?nope1=1", headers=auth)  # a repeat of a kept one still counts up
    got = client.get("/_mock/violations")
    assert [(v["message"].split("'")[1], v["count"]) for v in got.get_json()] == [("nope1", 2), ("nope2", 1)]
    assert got.headers["X-Violations-Dropped"] == "2"


def test_a_violation_keeps_at_most_1024_characters_of_path_and_message(dataset: Dataset) -> None:
    client, _ = make(dataset, strict=True)
    auth = bearer(token_for(client, "dev-readonly", (READ,)))
    client.get(f"/api/academic/petitions?{'n' * 50_000}=1", headers=auth)
    [violation] = client.get("/_mock/violations").get_json()
    assert violation["message"].startswith("GET /api/academic/petitions: 'nnn")
    assert re.search(r"\.\.\.\[mock_api: cut at 1024 of \d+ bytes\]$", violation["message"])
    assert len(violation["message"]) < 1100


def test_tokens_longer_than_the_memo_bound_are_verified_but_not_memoised() -> None:
    tokens._memo_checked.cache_clear()
    long_token = "a." + "b" * (tokens.TOKEN_MEMO_CHARS + 10) + ".c"
    with pytest.raises(tokens.TokenError):
        tokens.verify(long_token, DEV_SIGNING_KEY, FROZEN_AT)
    assert tokens._memo_checked.cache_info().currsize == 0
    assert tokens._memo_checked.cache_info().maxsize == tokens.TOKEN_MEMO_ENTRIES


# -- settable: flags, ini, documented ----------------------------------------------------------------
def test_every_limit_has_a_flag_that_sets_its_config_field() -> None:
    argv = [arg for number, limit in enumerate(limits.LIMITS, 1) for arg in (limit.flag, str(number))]
    config = config_from_args(build_parser().parse_args(argv))
    assert [getattr(config, limit.field) for limit in limits.LIMITS] == list(range(1, len(limits.LIMITS) + 1))
    assert config_from_args(build_parser().parse_args(["--quiet"])) == MockConfig()  # the CLI logs requests


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_a_limit_flag_below_one_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--max-tasks", value])
    assert exit_.value.code == 2
    assert f"--max-tasks: expected a whole number >= 1, got '{value}'" in capsys.readouterr().err


def test_ini_options_set_the_limits_of_the_fixtures_server() -> None:
    ini = {"mock_api_max_tasks": "7", "mock_api_journal_bytes": " 1000 "}
    overrides = limits.from_ini(lambda name: ini.get(name, ""))
    assert overrides["max_tasks"] == 7 and overrides["journal_bytes"] == 1000 and overrides["coverage_limit"] is None
    with pytest.raises(ValueError, match="ini mock_api_max_tasks must be a whole number >= 1, got '0'"):
        limits.from_ini(lambda name: "0" if name == "mock_api_max_tasks" else "")


def test_the_reference_limits_table_lists_every_limit_with_its_flag_ini_and_default() -> None:
    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    section = reference.split("\n## Limits", 1)[1].split("\n#", 1)[0]
    for limit in limits.LIMITS:
        row = next((line for line in section.splitlines() if f"`{limit.flag}`" in line), None)
        assert row is not None, limit.flag
        assert f"`{limit.ini}`" in row and f"{limit.default:,}" in row, row


def test_strict_poll_rate_memory_forgets_the_least_recently_polled_task(dataset: Dataset) -> None:
    state = MockState(MockConfig(polled_tasks_limit=2, frozen_clock_at=FROZEN_AT), dataset=dataset)
    log = state.violations
    assert [log.poll_interval(task, 100.0) for task in ("a", "b", "c")] == [None, None, None]
    assert log.poll_interval("c", 101.5) == 1.5  # remembered: one of the two most recent
    assert log.poll_interval("a", 102.0) is None  # forgotten when c came: its poll counts as a first one


def test_found_set_items_bound_comes_from_the_config(dataset: Dataset) -> None:
    state = MockState(MockConfig(found_set_items=3, frozen_clock_at=FROZEN_AT), dataset=dataset)
    sets = state.backend.found_sets
    sets.put("first", FROZEN_AT, ["r1", "r2"])
    sets.put("second", FROZEN_AT, ["r3", "r4"])  # 4 items in all: the oldest set goes
    assert (sets.get("first", FROZEN_AT), sets.get("second", FROZEN_AT)) == (None, ["r3", "r4"])

