"""Petition records rendered to JSON bytes once per cache refresh: the bytes Starlette's JSONResponse writes (the
real API's stack), bounded, refreshed."""
from __future__ import annotations

import json
from typing import Any, cast

import pytest
from starlette.responses import JSONResponse

from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.service.dataset import Dataset
from mock_api.service.rendered import RenderedRecords, json_array, to_json
from mock_api.state import MockState
from support import FROZEN_AT, bearer, token_for, validating

RECORD = {"id": "1-Q1-24W-APPV", "netid": "f0027k4", "petition_name": "Café \u2013 \"quoted\"", "school": None,
          "z_first": 1, "a_last": [1, 2]}


@pytest.mark.parametrize("value", [[RECORD, RECORD], [], RECORD, {"emoji": "😀", "n": [1.5, -0.0, 10**20, None]}])
def test_bytes_are_what_starlette_writes_for_the_same_value_field_order_included(value: Any) -> None:
    reference = JSONResponse(value).body
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        assert json_array([to_json(item) for item in value]) == reference
    assert to_json(value) == reference
    assert to_json(RECORD).startswith('{"id":"1-Q1-24W-APPV","netid":"f0027k4","petition_name":"Café \u2013'.encode())


def test_a_lone_surrogate_keeps_its_escape_and_parses_back() -> None:
    assert to_json({"d": "\ud800é"}) == b'{"d":"\\ud800\\u00e9"}'
    assert json.loads(to_json({"d": "\ud800é"})) == {"d": "\ud800é"}


def test_a_record_renders_once_per_cache_date_and_again_when_it_moves() -> None:
    rendered = RenderedRecords(limit=10)
    calls: list[float] = []

    def render(at: float) -> Any:
        def one() -> dict[str, Any]:
            calls.append(at)
            return {"cache_date": at}
        return one
    first = rendered.get("a", 100.0, render(100.0))
    assert rendered.get("a", 100.0, render(100.0)) is first and calls == [100.0]
    assert rendered.get("a", 3700.0, render(3700.0)) == b'{"cache_date":3700.0}' and calls == [100.0, 3700.0]
    assert len(rendered) == 1


def test_past_the_limit_the_record_rendered_longest_ago_is_dropped_and_renders_again() -> None:
    rendered = RenderedRecords(limit=2)
    calls: list[str] = []

    def render(key: str) -> Any:
        def one() -> dict[str, Any]:
            calls.append(key)
            return {"id": key}
        return one
    for key in ("a", "b", "c"):
        rendered.get(key, 0.0, render(key))
    assert len(rendered) == 2
    rendered.get("b", 0.0, render("b"))  # still held
    rendered.get("a", 0.0, render("a"))  # dropped: rendered again
    assert calls == ["a", "b", "c", "a"] and len(rendered) == 2


def test_reads_over_http_show_the_new_cache_date_after_a_refresh_with_a_tiny_render_cache(dataset: Dataset) -> None:
    state = MockState(MockConfig(frozen_clock_at=FROZEN_AT, render_cache_limit=1), dataset=dataset)
    client = validating(create_app(state=state)).test_client()
    auth = bearer(token_for(client))
    before = client.get("/api/academic/petitions?netid=f0027k4", headers=auth)
    again = client.get("/api/academic/petitions?netid=f0027k4", headers=auth)
    assert before.status_code == again.status_code == 200 and before.get_data() == again.get_data()
    assert len(before.get_json()) == 2 and len(state.backend.rendered) == 1
    state.clock.advance(3600)
    after = client.get("/api/academic/petitions?netid=f0027k4", headers=auth).get_json()
    old = before.get_json()
    assert [r["cache_date"] for r in after] != [r["cache_date"] for r in old]
    assert [{**r, "cache_date": None} for r in after] == [{**r, "cache_date": None} for r in old]
    assert list(after[0]) == list(old[0])  # field order kept


def test_a_task_renders_once_per_status_in_the_same_bounded_cache(dataset: Dataset) -> None:
    state = MockState(MockConfig(frozen_clock_at=FROZEN_AT, render_cache_limit=5), dataset)
    backend = state.backend
    claims = {"sub": "f0057pn", "scope": "x"}
    payload = {"petition": {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                            "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}}
    task_id = backend.submit(payload, claims, state.task_behaviour())
    now = state.clock.now()
    sub, accepted = cast(tuple[Any, bytes], backend.task_json(task_id, now))
    assert sub == "f0057pn" and accepted == to_json(backend.task(task_id, now))
    assert backend.task_json(task_id, now) == (sub, accepted) and len(backend.rendered) == 1
    state.clock.advance(1.0)
    completed = cast(tuple[Any, bytes], backend.task_json(task_id, state.clock.now()))[1]
    assert b'"status":"complete"' in completed and completed == to_json(backend.task(task_id, state.clock.now()))
    assert backend.task_json("0" * 24, now) is None
    for _ in range(8):  # more tasks than the cache holds: still bounded
        other = backend.submit(payload, claims, state.task_behaviour())
        backend.task_json(other, state.clock.now())
    assert len(backend.rendered) == 5


def test_a_task_whose_payload_is_not_json_still_completes_and_fails_only_when_rendered(dataset: Dataset) -> None:
    # Only a Python caller can give such a payload; it is held as its dict, not as JSON (service/tasks.py).
    state = MockState(MockConfig(frozen_clock_at=FROZEN_AT), dataset)
    backend = state.backend
    task_id = backend.submit({"petition": {"codes": {1, 2}}}, {"sub": "f0057pn"}, state.task_behaviour())
    state.clock.advance(1.0)
    now = state.clock.now()
    task = cast(dict[str, Any], backend.task(task_id, now))
    assert (task["status"], task["payload"], task["message"]) == ("complete", {"codes": {1, 2}},
                                                                  "Petition did not update successfully. ")
    [listed] = backend.tasks(now)
    assert listed["status"] == "complete" and listed["failure_reason"].startswith("missing fields: netid")
    with pytest.raises(TypeError, match="not JSON serializable"):
        backend.task_json(task_id, now)
