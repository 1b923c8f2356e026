"""Snapshots in-process: a restored state takes the same snapshot as the one it came from, every part included."""
from __future__ import annotations

from dataclasses import replace

from flask.testing import FlaskClient

from mock_api.checkpoint import data_digest, restore, take
from mock_api.http.app import create_app
from mock_api.state import MockState
from support import bearer, submit, token_for

NEW = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
       "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}


def _busy(state: MockState) -> None:
    """Every kind of state: written and dropped petitions (one left in a found set), a failed and a completed
    task, an accepted one, an added student, rule counts, a moved clock."""
    client: FlaskClient = create_app(state=state).test_client()
    headers = bearer(token_for(client))
    state.backend.add_student(state.dataset.students["f006s0b"].__class__("f009new", "9000001", "New", "Student"))
    submit(client, headers, NEW)
    submit(client, headers, {**NEW, "petition_code": "Q52"})
    submit(client, headers, {**NEW, "netid": "nobody"})  # fails: no such student
    state.clock.advance(5)
    assert client.get("/api/academic/petitions", query_string={"netid": "f006s0b", "pagesize": 1},
                      headers=headers).status_code == 200
    submit(client, headers, {**NEW, "petition_code": "Q35"})  # past max_written_petitions: drops the first
    state.clock.advance(5)
    state.set_scenario("retry_then_succeed")
    assert client.post("/api/academic/petitions", json={"petition": NEW}, headers=headers).status_code == 503
    submit(client, headers, {**NEW, "grade_term": "25W"})  # accepted, due later


def test_a_restored_state_takes_the_same_snapshot(state: MockState) -> None:
    config = replace(state.config, max_written_petitions=2)
    first = MockState(config, dataset=state.dataset)
    _busy(first)
    taken = take(first)
    backend = taken["backend"]
    assert len(backend["petitions"]) == 2 and len(backend["found_set_orphans"]) == 1
    assert [task["failure_reason"] is not None for task in backend["tasks"]] == [False, False, True, False, False]
    assert "payload" in backend["tasks"][-1] and len(backend["queue"]) == 1
    assert taken["counters"]["counts"] and taken["backend"]["students"] == [["f009new", "9000001", "New", "Student"]]

    # The 503 retry_then_succeed answered is the one answer the scenario injected, and it stays marked so.
    assert [(r["status"], r["injected"]) for r in taken["journal"] if r["injected"]] == [(503, True)]

    second = MockState(config, dataset=state.dataset)
    restore(second, taken)
    assert take(second) == taken


def test_a_journal_record_without_injected_restores_as_not_injected(state: MockState) -> None:
    first = MockState(state.config, dataset=state.dataset)
    _busy(first)
    taken = take(first)
    for record in taken["journal"]:
        del record["injected"]  # as a snapshot written before the field
    second = MockState(state.config, dataset=state.dataset)
    restore(second, taken)
    assert [r["injected"] for r in take(second)["journal"]] == [False] * len(taken["journal"])


def test_the_data_digest_is_the_data_sets(state: MockState) -> None:
    assert data_digest(state.dataset) == data_digest(state.dataset)
    assert data_digest(state.dataset).startswith("sha256:") and len(data_digest(state.dataset)) == 71


def test_a_restore_keeps_this_servers_bounds(state: MockState) -> None:
    """A snapshot from a server with larger bounds: the oldest tasks and entries go, as if sent here."""
    first = MockState(state.config, dataset=state.dataset)
    _busy(first)
    taken = take(first)
    small = MockState(replace(state.config, max_tasks=2, journal_limit=3), dataset=state.dataset)
    restore(small, taken)
    kept = take(small)
    assert [task["id"] for task in kept["backend"]["tasks"]] == [task["id"] for task in taken["backend"]["tasks"][-2:]]
    assert [record["seq"] for record in kept["journal"]] == [record["seq"] for record in taken["journal"][-3:]]


def test_a_forged_byte_count_never_charges_less_than_the_task_holds(state: MockState) -> None:
    first = MockState(state.config, dataset=state.dataset)
    _busy(first)
    taken = take(first)
    honest = [task["bytes"] for task in taken["backend"]["tasks"]]
    for task in taken["backend"]["tasks"]:
        task["bytes"] = 0
    second = MockState(state.config, dataset=state.dataset)
    restore(second, taken)
    restored = [task["bytes"] for task in take(second)["backend"]["tasks"]]
    assert all(0 < got <= want for got, want in zip(restored, honest, strict=True)), (restored, honest)
    assert second.budget.used >= sum(restored)


def test_a_found_set_of_petition_types_is_kept_and_pages_on_after_a_restore(state: MockState) -> None:
    first = MockState(state.config, dataset=state.dataset)
    client = create_app(state=first).test_client()
    headers = bearer(token_for(client))
    got = client.get("/api/petition_types", query_string={"pagesize": 1}, headers=headers)
    assert got.status_code == 200 and len(state.dataset.petition_types) > 1
    taken = take(first)
    assert [ref for _, _, refs in taken["backend"]["found_sets"] for ref in refs][:1] == [
        f"petition_type:{state.dataset.petition_types[0]['id']}"]
    second = MockState(state.config, dataset=state.dataset)
    restore(second, taken)
    assert take(second) == taken
    again = create_app(state=second).test_client().get(
        "/api/petition_types", headers=headers,
        query_string={"pagesize": 1, "page": 2, "continuation_key": got.headers["X-Request-ID"]})
    assert again.status_code == 200 and again.get_json() == [state.dataset.petition_types[1]]
