"""Effects and the plain request without Flask: a scenario decides plain data, the http layer answers it."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mock_api.config import DEV_SIGNING_KEY
from mock_api.data.fixtures import ServiceAccount
from mock_api.scenarios.catalog import NO_DECISION, Decision, Scenario, load_scenario_file
from mock_api.scenarios.counters import RuleCounters
from mock_api.scenarios.effects import REGISTRY, Context, Overrides, Reply
from mock_api.service.clock import Clock
from mock_api.service.randomness import SeededRandom
from mock_api.service.requests import PlainRequest, bearer_token, parse_authorization
from mock_api.service.tokens import TokenError, issue

NOW = 1_700_000_000.0


def plain(path: str = "/api/petition_types", authorization: str | None = None, body: bytes = b"") -> PlainRequest:
    headers = [("Authorization", authorization)] if authorization is not None else []
    reads: list[int] = []

    def read() -> bytes:
        reads.append(1)
        assert len(reads) == 1, "the body is read once"
        return body
    return PlainRequest("GET", path, None, headers, {}, "application/json", read, DEV_SIGNING_KEY, Clock(NOW))


def context(request: PlainRequest) -> Context:
    return Context(request, SeededRandom(7), Clock(NOW), lambda seconds: None, RuleCounters(100),
                   lambda: "0" * 24)


def scenario(folder: Path, *effects: object) -> Scenario:
    path = folder / "mine.yaml"
    rules = [{"match": {"path": "**"}, "effects": list(effects)}]
    path.write_text(yaml.safe_dump({"name": "mine", "description": "test", "rules": rules}), encoding="utf-8")
    return load_scenario_file(path)


def test_the_authorization_header_is_split_in_one_place() -> None:
    assert parse_authorization("  Bearer   abc  ") == ("Bearer", "abc")
    assert parse_authorization("dev-readonly") == ("dev-readonly", "")
    assert [bearer_token(v) for v in ("bearer x", "Basic x", "Bearer ", "")] == ["x", None, None, None]


def test_respond_returns_a_plain_reply() -> None:
    effect = REGISTRY["respond"]({"status": 503, "headers": {"Retry-After": 2}})
    assert effect(context(plain())) == Reply(503, {"detail": "Service Unavailable"}, {"Retry-After": "2"})


def test_overrides_and_a_truncating_fault_are_collected_then_a_reply_ends_the_rule(tmp_path: Path) -> None:
    decided = scenario(tmp_path, {"fault": "truncated"}, {"task": {"seconds": 5}}, {"reads": {"count_header": False}},
                       {"respond": 502}, {"task": {"fail": True}}).apply(context(plain()))
    assert decided == Decision(Reply(502, {"detail": "Bad Gateway"}), {"seconds": 5.0}, {"count_header": False},
                               "truncated")


def test_a_dropping_fault_is_a_reply_with_its_kind() -> None:
    assert REGISTRY["fault"]("reset")(context(plain())) == Reply(500, b"", fault="reset")
    assert REGISTRY["fault"]("truncated")(context(plain())) == Overrides(fault="truncated")


def test_token_effects_read_the_plain_request() -> None:
    expired, forbid = REGISTRY["token_expired"](None), REGISTRY["forbid"]("a:b")
    assert expired(context(plain(authorization="Bearer forged"))) == Reply(401, {"message": "Unauthorized"})
    assert expired(context(plain(authorization="dev-readonly"))) is None
    assert forbid(context(plain())) == Reply(401, {"message": "Unauthorized"})


def test_task_not_found_for_answers_404_within_the_window_only() -> None:
    effect = REGISTRY["task_not_found_for"](3)
    young = f"{int(NOW - 2):08x}" + "0" * 16
    old = f"{int(NOW - 3):08x}" + "0" * 16
    assert effect(context(plain(f"/api/tasks/{young}"))) == Reply(404, {"detail": "Not Found"})
    assert effect(context(plain(f"/api/tasks/{old}"))) is None
    assert effect(context(plain("/api/petition_types"))) is None


def test_body_json_and_claims_are_read_once() -> None:
    request = plain(authorization="Bearer forged", body=b'{"petition": {}}')
    assert request.json() == {"petition": {}} and request.json() is request.json()
    assert request.parsed_json() == (True, {"petition": {}}) and request.body() == b'{"petition": {}}'
    first = request.claims_or_error()
    assert isinstance(first, TokenError) and request.claims_or_error() is first


def test_a_scenario_without_rules_decides_nothing_and_its_decision_cannot_be_changed(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(yaml.safe_dump({"name": "empty", "description": "test", "rules": []}), encoding="utf-8")
    decided = load_scenario_file(path).apply(context(plain()))
    assert decided is NO_DECISION  # shared by every request the default scenario serves
    assert decided == Decision()
    with pytest.raises(TypeError):
        decided.task["seconds"] = 5  # type: ignore[index]
    with pytest.raises(TypeError):
        decided.reads["count_header"] = False  # type: ignore[index]
    overridden = scenario(tmp_path, {"task": {"seconds": 5}}).apply(context(plain()))
    assert overridden.task == {"seconds": 5.0} and NO_DECISION.task == {}


def _bearer(sub: str) -> str:
    account = ServiceAccount("k", sub, "Test", "t@example.edu", ())
    return f"Bearer {issue(account, [], NOW, 10800, DEV_SIGNING_KEY)[0]}"


def test_rate_limit_counts_per_token_in_a_window_of_clock_time() -> None:
    effect = REGISTRY["rate_limit"]({"requests": 2, "seconds": 10})
    clock, counters = Clock(NOW), RuleCounters(100)

    def run(authorization: str | None) -> Reply | Overrides | None:
        return effect(Context(plain(authorization=authorization), SeededRandom(7), clock, lambda s: None, counters,
                              lambda: "0" * 24))
    alice, bob = _bearer("alice"), _bearer("bob")
    assert [run(alice), run(alice)] == [None, None]
    assert run(alice) == Reply(429, {"detail": "Too Many Requests"}, {"Retry-After": "10"})
    assert run(bob) is None and run(None) is None and run("Bearer forged") is None  # no valid token: not counted
    clock.advance(9.2)
    assert run(alice) == Reply(429, {"detail": "Too Many Requests"}, {"Retry-After": "1"})  # 0.8 s, rounded up
    clock.advance(0.8)  # the window is over: a new one opens
    assert [run(alice), run(alice), run(alice)] == [None, None, Reply(429, {"detail": "Too Many Requests"},
                                                                        {"Retry-After": "10"})]


def test_throttle_for_good_answers_429_with_its_retry_after() -> None:
    assert REGISTRY["throttle_for_good"](None)(context(plain())) == Reply(429, {"detail": "Too Many Requests"},
                                                                          {"Retry-After": "1"})
    assert REGISTRY["throttle_for_good"](30)(context(plain())).headers == {"Retry-After": "30"}  # type: ignore[union-attr]


def test_windows_are_bounded_and_cleared_with_the_counts() -> None:
    counters = RuleCounters(2)
    a, b, c = (("s", 0, 0, sub) for sub in "abc")
    assert [counters.in_window(key, NOW, 10)[0] for key in (a, a, b, c)] == [1, 2, 1, 1]
    assert (len(counters), counters.dropped) == (2, 1)
    assert counters.in_window(a, NOW, 10) == (1, NOW + 10)  # a's window was dropped: it opens again
    assert counters.in_window(a, NOW - 1, 10) == (1, NOW + 9)  # the clock set back before the window: a new one
    assert counters.windows() == [(c, 1, NOW + 10), (a, 1, NOW + 9)]
    counters.restore([], 0, [(b, 3, NOW + 5), *counters.windows()])  # a snapshot's, cut to the newest 2
    assert counters.windows() == [(c, 1, NOW + 10), (a, 1, NOW + 9)] and counters.in_window(b, NOW, 10)[0] == 1
    counters.clear()
    assert len(counters) == 0
