"""Rules that target and count, on plain requests (no HTTP): each match key alone and combined, per/after/times,
counters bounded and reset, and the load errors naming file and key."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from mock_api.config import DEV_SIGNING_KEY, MockConfig
from mock_api.scenarios.catalog import Decision, Scenario, ScenarioError, load_scenario_file
from mock_api.scenarios.counters import RuleCounters
from mock_api.scenarios.effects import Context, Reply
from mock_api.service.clock import Clock
from mock_api.service.dataset import Dataset
from mock_api.service.randomness import SeededRandom
from mock_api.service.requests import PlainRequest
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from support import FROZEN_AT

NOW = 1_700_000_000.0
TEAPOT = Reply(418, {"detail": "I'm a Teapot"})
TASK = "673e4c82185254cacb8d2967"
RESERVED = "0123456789abcdef01234567"


def token(sub: str = "f0057pn", scopes: tuple[str, ...] = (READ, WRITE), exp: float = NOW + 60) -> str:
    claims = {"sub": sub, "scope": ",".join(scopes), "exp": int(exp), "iat": int(NOW)}
    return "Bearer " + jwt.encode(claims, DEV_SIGNING_KEY, algorithm="HS256")


def request(method: str = "GET", path: str = "/api/petition_types", query: dict[str, str] | None = None,
            headers: list[tuple[str, str]] | None = None, body: Any = None, mimetype: str = "application/json",
            auth: str | None = None) -> PlainRequest:
    raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = [*(headers or []), *([("Authorization", auth)] if auth else [])]
    return PlainRequest(method, path, None, sent, query or {}, mimetype, lambda: raw, DEV_SIGNING_KEY, Clock(NOW))


class Runner:
    """One scenario with one set of counters, as one emulator holds them."""

    def __init__(self, folder: Path, *rules: dict[str, Any], limit: int = 1000) -> None:
        self.scenario = load(folder, list(rules))
        self.counters = RuleCounters(limit)
        self.dice = SeededRandom(7)
        self.reserved = 0

    def reserve(self) -> str:
        self.reserved += 1
        return RESERVED

    def decide(self, plain: PlainRequest) -> Decision:
        ctx = Context(plain, self.dice, Clock(NOW), lambda seconds: None, self.counters, self.reserve)
        return self.scenario.apply(ctx)

    def statuses(self, *plains: PlainRequest) -> list[int]:
        return [200 if (reply := self.decide(p).reply) is None else reply.status for p in plains]


def load(folder: Path, rules: list[dict[str, Any]]) -> Scenario:
    path = folder / "mine.yaml"
    path.write_text(yaml.safe_dump({"name": "mine", "description": "test", "rules": rules}), encoding="utf-8")
    return load_scenario_file(path)


def teapot(match: dict[str, Any], **keys: Any) -> dict[str, Any]:
    return {"match": match, **keys, "effects": [{"respond": 418}]}


def test_query_matches_exact_or_glob_per_parameter_and_never_an_absent_one(tmp_path: Path) -> None:
    run = Runner(tmp_path, teapot({"query": {"netid": "f00*", "pagesize": 10}}))
    assert run.statuses(request(query={"netid": "f006kdf", "pagesize": "10"}),
                        request(query={"netid": "F006kdf", "pagesize": "10"}),  # globs are case-sensitive
                        request(query={"netid": "f006kdf", "pagesize": "100"}),
                        request(query={"netid": "f006kdf"}),
                        request(query={"pagesize": "10", "netid": "f00"})) == [418, 200, 200, 200, 418]


def test_headers_match_with_any_case_of_the_name_and_an_absent_header_matches_not_even_star(tmp_path: Path) -> None:
    run = Runner(tmp_path, teapot({"headers": {"X-Client": "batch-[0-9]"}}), teapot({"headers": {"X-Other": "*"}}))
    assert run.statuses(request(headers=[("x-client", "batch-7")]), request(headers=[("X-CLIENT", "batch-x")]),
                        request(headers=[("X-Other", "")]), request()) == [418, 200, 418, 200]


def test_body_matches_a_dotted_path_exactly_or_by_glob_and_a_non_json_body_matches_nothing(tmp_path: Path) -> None:
    run = Runner(tmp_path, teapot({"body": {"petition.netid": "f006*", "petition.tags.1": True, "count": 2}}))
    good = {"petition": {"netid": "f006kdf", "tags": [False, True]}, "count": 2.0}
    assert run.statuses(request("POST", body=good),
                        request("POST", body={**good, "count": "2"}),  # a string is not the number 2
                        request("POST", body={"petition": {"netid": "f006kdf", "tags": [0, 1]}, "count": 2}),
                        request("POST", body={"petition": {"netid": 6, "tags": [False, True]}, "count": 2}),
                        request("POST", body={"count": 2}),
                        request("POST", body=b"{not json"),
                        request("POST", body=good, mimetype="text/plain")) == [418, 200, 200, 200, 200, 200, 200]


def test_token_matches_sub_and_held_scopes_and_skips_a_request_without_a_valid_token(tmp_path: Path) -> None:
    run = Runner(tmp_path, teapot({"token": {"sub": "f0057pn", "scope": [READ, WRITE]}}),
                 teapot({"token": {"sub": "f00rd*"}}))
    assert run.statuses(request(auth=token()), request(auth=token(scopes=(READ,))),
                        request(auth=token("f00rd01", (READ,))), request(auth=token(exp=NOW - 1)),
                        request(auth=token()[:-2]), request(auth="dev-readwrite"), request()) == [
        418, 200, 418, 200, 200, 200, 200]


def test_after_and_times_pick_a_window_of_the_matching_requests_in_arrival_order(tmp_path: Path) -> None:
    run = Runner(tmp_path, teapot({"method": "GET", "path": "/api/petition_types"}, after=2, times=3))
    assert run.statuses(*[request() for _ in range(7)]) == [200, 200, 418, 418, 418, 200, 200]
    # A request the rule does not match is not counted.
    run = Runner(tmp_path, teapot({"method": "GET"}, times=1))
    assert run.statuses(request("POST"), request("POST"), request(), request()) == [200, 200, 418, 200]


def test_after_alone_applies_to_every_request_from_the_next_one_on(tmp_path: Path) -> None:
    run = Runner(tmp_path, teapot({}, after=1))
    assert run.statuses(request(), request(), request()) == [200, 418, 418]


def test_per_token_counts_each_sub_apart_and_skips_requests_without_one(tmp_path: Path) -> None:
    run = Runner(tmp_path, teapot({}, per="token", times=1))
    first, second = token(), token("f00rd01", (READ,))
    assert run.statuses(request(), request(auth=first), request(auth=first), request(auth=second),
                        request(auth=token(scopes=(READ,)))) == [200, 418, 200, 418, 200]


def test_per_task_counts_each_tasks_polls_and_the_post_for_the_task_it_creates(tmp_path: Path) -> None:
    run = Runner(tmp_path, teapot({"path": ["/api/tasks/*", "/api/academic/petitions"]}, per="task", after=1, times=1),
                 {"match": {"method": "POST"}, "per": "task", "effects": [{"task": {"seconds": 3}}]})
    other = "673e4c82185254cacb8d2968"
    assert run.statuses(request(path=f"/api/tasks/{TASK}"), request(path=f"/api/tasks/{other}"),
                        request(path=f"/api/tasks/{TASK.upper()}/"), request(path=f"/api/tasks/{TASK}"),
                        request(path="/api/academic/petitions")) == [200, 200, 418, 200, 200]
    posted = run.decide(request("POST", "/api/academic/petitions"))
    assert posted == Decision(None, {"seconds": 3.0}, {}, None, RESERVED)  # one id for both rules
    assert run.reserved == 1
    assert run.statuses(request(path=f"/api/tasks/{RESERVED}"), request(path=f"/api/tasks/{RESERVED}")) == [418, 200]


def test_no_counting_rule_no_reserved_id(tmp_path: Path) -> None:
    run = Runner(tmp_path, {"match": {"method": "POST"}, "effects": [{"task": {"fail": True}}]})
    assert run.decide(request("POST", "/api/academic/petitions")).task_id is None
    assert run.reserved == 0 and len(run.counters) == 0


def test_every_key_combined_with_a_probability_counts_only_what_matched_and_was_drawn(tmp_path: Path) -> None:
    match = {"method": "POST", "path": "/api/academic/petitions", "query": {"dry": "n*"},
             "headers": {"X-Client": "batch-*"}, "body": {"petition.netid": "f006kdf"},
             "token": {"sub": "f0057pn", "scope": WRITE}, "probability": 0.5}
    run = Runner(tmp_path, teapot(match, per="token", after=1, times=2))

    def post(netid: str = "f006kdf", auth: str = token(), client: str = "batch-1") -> PlainRequest:
        return request("POST", "/api/academic/petitions", {"dry": "no"}, [("X-Client", client)],
                       {"petition": {"netid": netid}}, auth=auth)
    assert run.statuses(post("f006s0b"), post(auth=token("f00rd01")), post(client="web")) == [200, 200, 200]
    assert len(run.counters) == 0
    # The three above drew nothing: the dice are drawn only for a request every other key matched.
    dice = SeededRandom(7)
    drawn = [dice.random() < 0.5 for _ in range(40)]
    places = [sum(drawn[:i + 1]) if hit else 0 for i, hit in enumerate(drawn)]
    assert run.statuses(*[post() for _ in range(40)]) == [418 if place in (2, 3) else 200 for place in places]
    assert 10 < sum(drawn) < 30


def test_32_threads_on_a_times_5_rule_apply_it_exactly_5_times(tmp_path: Path) -> None:
    run = Runner(tmp_path, teapot({}, after=3, times=5))
    start = threading.Barrier(32, timeout=10)

    def one(_: int) -> int:
        start.wait()
        return run.statuses(request())[0]
    with ThreadPoolExecutor(32) as pool:
        assert sorted(pool.map(one, range(32))) == [200] * 27 + [418] * 5


def test_counters_are_bounded_the_least_recently_counted_dropped_first() -> None:
    counters = RuleCounters(2)
    assert [counters.count("a"), counters.count("b"), counters.count("a"), counters.count("c")] == [1, 1, 2, 1]
    assert (len(counters), counters.dropped) == (2, 1)
    assert [counters.count("a"), counters.count("b")] == [3, 1]  # "b" was dropped: it counts from 1 again
    counters.clear()
    assert (len(counters), counters.dropped, counters.count("a")) == (0, 0, 1)


def test_reset_and_putting_a_scenario_in_force_clear_the_counters(dataset: Dataset) -> None:
    state = MockState(MockConfig(frozen_clock_at=FROZEN_AT, counters_limit=5), dataset=dataset)
    assert state.counters.limit == 5
    state.counters.count("x")
    state.reset()
    assert len(state.counters) == 0
    state.counters.count("x")
    state.set_scenario("throttled")
    assert len(state.counters) == 0


def rule_error(tmp_path: Path, rule: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, [rule])
    return str(caught.value).removeprefix(f"{tmp_path / 'mine.yaml'}: ")


@pytest.mark.parametrize(("rule", "message"), [
    (teapot({}, tims=1), "rules[0].tims: unknown key"),
    (teapot({}, times=-1), "rules[0].times: expected a whole number >= 1"),
    (teapot({}, times=0), "rules[0].times: expected a whole number >= 1"),
    (teapot({}, after=-2), "rules[0].after: expected a whole number >= 0"),
    (teapot({}, after=1.5), "rules[0].after: expected a whole number >= 0"),
    (teapot({}, per="user"), "rules[0].per: expected one of: all, token, task"),
    (teapot({"query": {"netid": "f00[0-9"}}), "rules[0].match.query.netid: bad glob 'f00[0-9': [ opens a class"),
    (teapot({"query": {"netid": "[]"}}), "rules[0].match.query.netid: bad glob '[]': [ opens a class"),
    (teapot({"headers": {"X-Client": "[z-a]"}}), "rules[0].match.headers.X-Client: bad glob '[z-a]': the range z-a"),
    (teapot({"body": {"petition.netid": "f[!"}}), "rules[0].match.body.petition.netid: bad glob 'f[!'"),
    (teapot({"token": {"sub": "a[b"}}), "rules[0].match.token.sub: bad glob 'a[b'"),
    (teapot({"token": {"aud": "x"}}), "rules[0].match.token.aud: unknown key (expected sub or scope)"),
    (teapot({"query": {"netid": True}}), "rules[0].match.query.netid: expected a string (exact, or a glob"),
    (teapot({"query": {}}), "rules[0].match.query: expected a mapping of query parameter names"),
    (teapot({"headers": {"X Client": "a"}}), "rules[0].match.headers: expected header names (letters, digits"),
    (teapot({"body": {"petition..netid": "a"}}), "rules[0].match.body: expected a dotted path like petition.netid"),
])
def test_a_bad_key_glob_or_count_is_refused_at_load_naming_file_and_key(tmp_path: Path, rule: dict[str, Any],
                                                                        message: str) -> None:
    assert rule_error(tmp_path, rule).startswith(message)


def test_a_glob_class_closes_as_fnmatch_reads_it(tmp_path: Path) -> None:
    run = Runner(tmp_path, teapot({"query": {"a": "[]x]", "b": "[!]]"}}))
    assert run.statuses(request(query={"a": "]", "b": "y"}), request(query={"a": "]", "b": "]"})) == [418, 200]


@pytest.mark.parametrize("rules", [
    [{"match": {"path": "/api/petition_types"}, "effects": [{"rate_limit": {"requests": 2, "seconds": 5}}]},
     {"match": {"path": "/api/**"}, "effects": [{"rate_limit": {"requests": 2, "seconds": 5}}]}],
    [{"match": {"path": "/api/**"}, "effects": [{"rate_limit": {"requests": 2, "seconds": 5}},
                                                {"rate_limit": {"requests": 2, "seconds": 5}}]}],
], ids=["two rules", "two effects of one rule"])
def test_two_rate_limits_never_share_a_window(tmp_path: Path, rules: list[dict[str, Any]]) -> None:
    # One window counting both would have met its 2 on the first request, refusing the second.
    run = Runner(tmp_path, *rules)
    assert run.statuses(*[request(auth=token())] * 3) == [200, 200, 429]
    assert sorted(key for key, _, _ in run.counters.windows()) == sorted(
        [("mine", 0, 0, "f0057pn"), ("mine", 1, 0, "f0057pn")] if len(rules) == 2
        else [("mine", 0, 0, "f0057pn"), ("mine", 0, 1, "f0057pn")])
