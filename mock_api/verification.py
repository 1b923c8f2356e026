"""Request verification: how many journal entries meet a scenario-rule match, and the near misses when not enough."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mock_api.data.yaml_schema import first_problem, load_validator
from mock_api.scenarios.catalog import SCHEMA
from mock_api.scenarios.effects import ParamError
from mock_api.scenarios.match import MATCH_KEYS, RequestMatch, parse_match
from mock_api.service.clock import MAX_EPOCH, Clock
from mock_api.service.requests import PlainRequest
from mock_api.state import MockState

NEAR_MISSES = 5  # the closest non-matching entries a failed verification shows
COUNT_KEYS = ("times", "at_least", "at_most")
_RULE_KEY = "rules[0]."  # a match is checked as the one rule of a scenario: its keys start so


class MatchError(ValueError):
    """A match or a count the verification cannot take; the message names the key (`match.query.netid: ...`)."""


def check_match(match: Any) -> RequestMatch:
    """A `match` mapping checked by the scenario rules' JSON Schema (the same `$defs/match`), then parsed."""
    if match is None:
        match = {}
    if isinstance(match, Mapping) and "probability" in match:
        raise MatchError("match.probability: a scenario rule's draw, not something a request carries "
                         f"(expected only: {', '.join(MATCH_KEYS)})")
    rule = {"match": match, "effects": ["token_expired"]}
    document = {"name": "verify", "description": "a verification", "rules": [rule]}
    problem = first_problem(load_validator(SCHEMA), document)
    if problem is not None and problem[0].startswith(_RULE_KEY + "match"):
        raise MatchError(f"{problem[0].removeprefix(_RULE_KEY)}: {problem[1]}")
    if not isinstance(match, Mapping):
        raise MatchError("match: expected a mapping with method, path, query, headers, body and token")
    try:
        return parse_match(match)
    except ParamError as exc:
        raise MatchError(f"match{exc.key}: {exc.problem}") from None


@dataclass(frozen=True)
class Expectation:
    """How many matching requests pass: exactly `times`, or between `at_least` and `at_most`."""

    times: int | None = None
    at_least: int | None = None
    at_most: int | None = None

    @classmethod
    def of(cls, times: Any = None, at_least: Any = None, at_most: Any = None) -> Expectation:
        """Checked counts (whole numbers >= 0; `times` alone); none given: at least 1."""
        for key, value in (("times", times), ("at_least", at_least), ("at_most", at_most)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise MatchError(f"{key}: expected a whole number >= 0")
        if times is not None and (at_least is not None or at_most is not None):
            raise MatchError("times: give times alone, or at_least and/or at_most")
        if times is None and at_least is None and at_most is None:
            at_least = 1
        return cls(times, at_least, at_most)

    @property
    def bounded_above(self) -> bool:
        """Whether entries dropped from the journal could make a pass wrong (they may have matched)."""
        return self.times is not None or self.at_most is not None

    def holds(self, count: int) -> bool:
        if self.times is not None:
            return count == self.times
        return (self.at_least is None or count >= self.at_least) and (self.at_most is None or count <= self.at_most)

    def words(self) -> str:
        if self.times is not None:
            return f"exactly {self.times}"
        if self.at_least is not None and self.at_most is not None:
            return f"between {self.at_least} and {self.at_most}"
        return f"at most {self.at_most}" if self.at_least is None else f"at least {self.at_least}"


@dataclass(frozen=True)
class NearMiss:
    seq: int
    method: str
    path: str
    status: int | None
    differs: tuple[str, ...]

    def body(self) -> dict[str, Any]:
        return {"seq": self.seq, "method": self.method, "path": self.path, "differs": list(self.differs)}


@dataclass(frozen=True)
class Verdict:
    """What a verification found: the matching entries' seqs, the near misses, the journal's dropped entries."""

    ok: bool
    matched: tuple[int, ...]
    dropped: int
    expectation: Expectation
    near_misses: tuple[NearMiss, ...] = field(default=())

    @property
    def count(self) -> int:
        return len(self.matched)

    def body(self) -> dict[str, Any]:
        return {"ok": self.ok, "count": self.count, "matched": list(self.matched), "dropped": self.dropped,
                "near_misses": [miss.body() for miss in self.near_misses]}


def _as_request(record: Mapping[str, Any], state: MockState) -> PlainRequest:
    """A journal record as the plain request it was: its token verified by the clock of its time."""
    headers = [(str(name), str(value)) for name, value in record["headers"]]
    mimetype = next((v for n, v in headers if n.lower() == "content-type"), "").split(";")[0].strip().lower()
    query = {name: values[-1] for name, values in record["query"].items() if values}
    body = (record["body"] or "").encode("utf-8")
    moment = Clock(min(max(float(record["time"]), 0.0), MAX_EPOCH))
    return PlainRequest(record["method"], record["path"], None, headers, query, mimetype, lambda: body,
                        state.config.signing_key, moment)


def verify_requests(state: MockState, match: RequestMatch, expectation: Expectation,
                    allow_dropped: bool = False) -> Verdict:
    """Count the journal's entries that meet `match`; with entries dropped and an upper bound, not ok unless
    allowed. When not ok, up to NEAR_MISSES non-matching entries with the fewest differing keys (newest first)."""
    kept = state.journal.records()
    dropped = int(kept[0]["seq"]) - 1 if kept else 0  # numbered from 1 since the reset; the oldest go first
    records = [record for record in kept if "entry" not in record]  # a ready entry (tools) carries no request
    matched: list[int] = []
    misses: list[NearMiss] = []
    for record in records:
        differs = match.differences(_as_request(record, state))
        if not differs:
            matched.append(int(record["seq"]))
        else:
            misses.append(NearMiss(int(record["seq"]), record["method"], record["path"], record["status"],
                                   tuple(f"{key}: {how}" for key, how in differs)))
    ok = expectation.holds(len(matched)) and (allow_dropped or not dropped or not expectation.bounded_above)
    closest = () if ok else tuple(sorted(misses, key=lambda miss: (len(miss.differs), -miss.seq))[:NEAR_MISSES])
    return Verdict(ok, tuple(matched), dropped, expectation, closest)


def failure_message(match: Mapping[str, Any], verdict: Verdict) -> str:
    """The assertion's message: the match, the counts wanted and found, the dropped entries, the near misses."""
    lines = [f"mock_api: expected {verdict.expectation.words()} request(s) matching {json.dumps(match)}, "
             f"got {verdict.count}" + (f" (seq {', '.join(map(str, verdict.matched))})" if verdict.matched else "")]
    if verdict.dropped:
        lines.append(f"the journal dropped {verdict.dropped} older entries (its bound): they may have matched; "
                     "pass allow_dropped=True to count only the entries kept")
    if verdict.near_misses:
        lines.append(f"closest requests (up to {NEAR_MISSES}):")
        for miss in verdict.near_misses:
            lines.append(f"  #{miss.seq} {miss.method} {miss.path} -> {miss.status}")
            lines.extend(f"      {difference}" for difference in miss.differs)
    elif not verdict.matched:
        lines.append("the journal holds no request since the last reset")
    return "\n".join(lines)
