"""Units behind speed and scale: token memo, bounded found sets, indexed candidates, faster name draws."""
from __future__ import annotations

import subprocess
import sys

import pytest
from faker import Faker

from mock_api.data.fixtures import ServiceAccount
from mock_api.data.generate import _fast_pick
from mock_api.service.indexes import FoundSets, PetitionIndex
from mock_api.service.query import Term
from mock_api.service.records import StoredPetition
from mock_api.service.tokens import TokenError, issue, verify

ACCOUNT = ServiceAccount("k", "f00test", "TEST", "TEST@example.invalid", ("s",))
KEY = "a-test-signing-key-for-units-NOT-A-SECRET"


def test_a_memoised_token_still_expires_by_the_clock() -> None:
    token, _ = issue(ACCOUNT, ["s"], 1000.0, 60, KEY)
    assert verify(token, KEY, 1000.0)["sub"] == "f00test"
    assert verify(token, KEY, 1059.0)["sub"] == "f00test"  # served from the memo
    with pytest.raises(TokenError, match="expired"):
        verify(token, KEY, 1060.0)


def test_a_memoised_token_is_not_valid_under_another_key_or_tampered() -> None:
    token, _ = issue(ACCOUNT, ["s"], 1000.0, 60, KEY)
    verify(token, KEY, 1000.0)
    with pytest.raises(TokenError):
        verify(token, KEY + "x", 1000.0)
    header, payload, signature = token.split(".")
    with pytest.raises(TokenError):
        verify(f"{header}.{payload}.{signature[:-2]}AA", KEY, 1000.0)


def test_verified_claims_are_a_fresh_copy_each_time() -> None:
    token, _ = issue(ACCOUNT, ["s"], 1000.0, 60, KEY)
    verify(token, KEY, 1000.0)["sub"] = "mutated"
    assert verify(token, KEY, 1000.0)["sub"] == "f00test"


def test_found_sets_drop_the_oldest_once_over_the_item_budget() -> None:
    sets = FoundSets(lifetime=100, limit=10, item_budget=10)
    sets.put("a", 0, [1] * 4)
    sets.put("b", 0, [2] * 4)
    sets.put("c", 0, [3] * 4)  # 12 items > 10: "a" goes
    assert sets.get("a", 1) is None
    assert sets.get("b", 1) == [2] * 4 and sets.get("c", 1) == [3] * 4
    sets.put("huge", 0, [4] * 50)  # over the budget alone: kept, everything older goes
    assert sets.get("huge", 1) == [4] * 50
    assert sets.get("b", 1) is None and sets.get("c", 1) is None


def test_found_sets_keep_the_count_limit_and_lifetime() -> None:
    sets = FoundSets(lifetime=100, limit=2)
    for key in "abc":
        sets.put(key, 0, [key])
    assert sets.get("a", 1) is None and sets.get("c", 1) == ["c"]
    assert sets.get("c", 101) is None  # expired, and dropped
    sets.put("c", 200, ["again"])
    assert sets.get("c", 201) == ["again"]


def entry(number: int) -> StoredPetition:
    record = {"id": f"{number}-Q41--APPV", "netid": f"n{number % 1000}", "petition_code": "Q41",
              "origin_code": "UREG", "school": "UG", "decision": "APPV", "grade_term": None}
    return StoredPetition(record, f"m{number}", 0.0)


def test_exact_filters_read_only_the_matching_index_list() -> None:
    index = PetitionIndex(entry(n) for n in range(20_000))
    candidates = list(index.candidates([Term("netid", "eq", "n7"), Term("petition_code", "eq", "Q41")]))
    # The shortest list (netid: 20 entries), not the 20,000 that petition_code Q41 also matches.
    assert [e.record["id"] for e in candidates] == [f"{n}-Q41--APPV" for n in range(7, 20_000, 1000)]
    assert list(index.candidates([Term("grade_term", "eq", "")])) == index.entries  # "" asks for null
    assert list(index.candidates([Term("netid", "eq", "nobody")])) == []
    assert index.lookup("19999-Q41--APPV") is index.entries[19_999]
    assert index.lookup("m123") is index.entries[123]


def test_a_lone_position_is_held_as_the_int_and_answers_alone() -> None:
    index = PetitionIndex(entry(n) for n in range(3_000))
    assert index.by_field["id"]["5-Q41--APPV"] == 5 and index.by_field["netid"]["n5"] == [5, 1005, 2005]
    # A unique id is the shortest candidate list whatever the other terms; they are checked by the caller.
    got = index.candidates([Term("petition_code", "eq", "Q41"), Term("id", "eq", "5-Q41--APPV"),
                            Term("netid", "eq", "n6")])
    assert list(got) == [index.entries[5]]
    assert list(index.candidates([Term("school", "eq", "GR"), Term("id", "eq", "5-Q41--APPV")])) == []  # no GR
    assert index.lookup("5-Q41--APPV") is index.entries[5] and index.lookup("nothing") is None


def test_stored_petitions_keep_the_record_order_and_answer_none_for_other_names() -> None:
    stored = entry(1)
    assert list(stored.record) == ["id", "netid", "petition_code", "petition_name", "origin_code", "origin_name",
                                   "school", "decision", "grade_term", "effective_date"]
    assert stored.get("netid") == "n1" and stored.get("mongo_id") is None and stored.get("record") is None


def test_stored_petitions_have_no_per_instance_dict() -> None:
    assert not hasattr(entry(1), "__dict__")


@pytest.mark.parametrize("method", ["first_name", "last_name"])
def test_fast_name_draws_equal_fakers_own(method: str) -> None:
    ours, theirs = Faker("en_US"), Faker("en_US")
    ours.seed_instance(7)
    theirs.seed_instance(7)
    pick = _fast_pick(getattr(ours, method), method + "s")
    assert pick is not getattr(ours, method)  # the fast path is taken
    assert [pick() for _ in range(500)] == [getattr(theirs, method)() for _ in range(500)]
    assert ours.random.random() == theirs.random.random()  # same random state afterwards


def test_a_write_keeps_one_copy_and_imports_no_mongo_emulation() -> None:
    # The store of record is the dict indexes; a second (mongomock) copy cost memory, time and a crash.
    code = """if True:
        import sys
        from mock_api.config import MockConfig
        from mock_api.service.taskqueue import TaskBehaviour
        from mock_api.state import MockState
        state = MockState(MockConfig(frozen_clock_at=1732131053.0))
        payload = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                   "decision": "APPV", "grade_term": "24W", "user_netid": "f006s0b"}
        task_id = state.backend.submit(payload, {"sub": "f0057pn"}, TaskBehaviour(seconds=0))
        task = state.backend.task(task_id, state.clock.now())
        mongo_id = task["path"].rsplit("/", 1)[1]
        entry = state.backend.get_petition(mongo_id, state.clock.now())
        print(task["status"], entry.record["id"], "mongomock" in sys.modules)
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "complete 2911310-Q41-24W-APPV False\n"


def dated(number: int) -> StoredPetition:
    record = {"id": f"{number}-Q{41 + number % 3}--APPV", "netid": f"n{number}", "petition_code": f"Q{41 + number % 3}",
              "origin_code": "UREG", "school": "UG", "decision": "APPV", "grade_term": None,
              "effective_date": f"20{19 + number % 6}-01-01T05:00:00Z"}
    return StoredPetition(record, f"m{number}", 0.0)


@pytest.mark.parametrize("term", [Term("effective_date", "ge", "2023"), Term("effective_date", "lt", "2020-06"),
                                  Term("petition_code", "prefix", "Q4"), Term("petition_code", "gt", "Q42"),
                                  Term("effective_date", "prefix", "2021")])
def test_prefix_and_range_filters_read_the_index_in_read_order(term: Term) -> None:
    index = PetitionIndex(dated(n) for n in range(6000))
    expected = [e for e in index.entries if term.matches(e.get(term.field))]
    assert index._positions_matching(term) is not None  # 6 dates, 3 codes: walked by value
    assert list(index.candidates([term])) == expected


def test_a_range_on_a_field_of_nearly_unique_values_is_a_plain_scan() -> None:
    index = PetitionIndex(dated(n) for n in range(100))
    term = Term("netid", "prefix", "n1")
    assert index._positions_matching(term) is None
    assert list(index.candidates([term])) == index.entries
