"""A scenario rule's targeting (query, headers, JSON body, token claims) and counting (per, after, times)."""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from mock_api.scenarios.effects import TASK_PATH, ParamError
from mock_api.service import errors
from mock_api.service.requests import BodyTooLarge, PlainRequest
from mock_api.service.tokens import TokenError, token_scopes

GLOB_CHARS = frozenset("*?[")
CREATE_PATH = "/api/academic/petitions"  # the POST that creates a task: `per: task` counts it for that task
PER_KEYS = ("all", "token", "task")
TextTest = Callable[[str], bool]
_MISSING: Any = object()


def text_test(pattern: str, key: str) -> TextTest:
    """Exact, or fnmatch's glob when the pattern has * ? or [: * any characters, ? one, [abc] / [!abc] one of
    (or none of) a class. A [ that opens no class, or a reversed range, is refused: fnmatch would quietly
    read it literally. ParamError names `key`."""
    if not GLOB_CHARS.intersection(pattern):
        return pattern.__eq__
    _check_classes(pattern, key)
    compiled = re.compile(fnmatch.translate(pattern))  # case-sensitive on every platform, unlike fnmatch()
    return lambda text: compiled.match(text) is not None


def _check_classes(pattern: str, key: str) -> None:
    start = pattern.find("[")
    while start >= 0:
        first = start + 1 + (pattern[start + 1:start + 2] == "!")
        end = pattern.find("]", first + 1)  # a ] right after [ or [! belongs to the class
        if end < 0:
            raise ParamError(key, f"bad glob {pattern!r}: [ opens a class that never closes (write [[] for a [)")
        members = pattern[first:end]
        for low, high in re.findall(r"(.)-(.)", members):
            if low > high:
                raise ParamError(key, f"bad glob {pattern!r}: the range {low}-{high} is reversed")
        start = pattern.find("[", end + 1)


def json_equal(left: Any, right: Any) -> bool:
    """JSON equality: true is not 1, 1 is 1.0; dicts by keys, lists in order."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    return type(left) is type(right) and left == right


def _dig(value: Any, steps: tuple[str, ...]) -> Any:
    """The value at a dotted path (a number indexes a list); _MISSING when there is none."""
    for step in steps:
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return _MISSING
    return value


def _header_matches(request: PlainRequest, lowered: str, test: TextTest) -> bool:
    """The first value of the header tested; an absent header matches nothing (not even *)."""
    return next((test(value) for name, value in request.headers if name.lower() == lowered), False)


def _value_test(expected: Any, key: str) -> Callable[[Any], bool]:
    if isinstance(expected, str):
        matches = text_test(expected, key)
        return lambda value: isinstance(value, str) and matches(value)
    return lambda value: value is not _MISSING and json_equal(value, expected)


@dataclass(frozen=True)
class Targets:
    """What a request must carry besides method and path; empty: every request."""

    query: tuple[tuple[str, TextTest], ...] = ()
    headers: tuple[tuple[str, TextTest], ...] = ()
    body: tuple[tuple[tuple[str, ...], Callable[[Any], bool]], ...] = ()
    sub: TextTest | None = None
    scopes: frozenset[str] | None = None  # None: no token key; else the scopes the token must hold

    @property
    def needs_token(self) -> bool:
        return self.sub is not None or self.scopes is not None

    def matches(self, request: PlainRequest) -> bool:
        if not all(name in request.query and test(request.query[name]) for name, test in self.query):
            return False
        if not all(_header_matches(request, name, test) for name, test in self.headers):
            return False
        if self.body and not self._body_matches(request):
            return False
        return not self.needs_token or self._token_matches(request)

    def _body_matches(self, request: PlainRequest) -> bool:
        try:
            body = request.json()
        except (errors.ApiError, BodyTooLarge):
            return False  # no JSON body: the view answers it as it would without the scenario
        return all(test(_dig(body, steps)) for steps, test in self.body)

    def _token_matches(self, request: PlainRequest) -> bool:
        claims = request.claims_or_error()
        if isinstance(claims, TokenError):
            return False  # skipped, not an error: the view answers 401 as usual
        if self.sub is not None and not self.sub(str(claims["sub"])):
            return False
        return self.scopes is None or self.scopes <= token_scopes(claims)


def parse_targets(match: Mapping[str, Any]) -> Targets:
    """The schema-checked match keys; ParamError (".query.netid") for a bad glob."""
    def text(value: Any, key: str) -> TextTest:
        return text_test(str(value), key)
    token = match.get("token") or {}
    scope = token.get("scope")
    return Targets(
        tuple((name, text(value, f".query.{name}")) for name, value in (match.get("query") or {}).items()),
        tuple((name.lower(), text(value, f".headers.{name}")) for name, value in (match.get("headers") or {}).items()),
        tuple((tuple(path.split(".")), _value_test(value, f".body.{path}"))
              for path, value in (match.get("body") or {}).items()),
        text(token["sub"], ".token.sub") if "sub" in token else None,
        None if scope is None else frozenset([scope] if isinstance(scope, str) else scope))


@dataclass(frozen=True)
class Counting:
    """Which of a rule's matching requests it applies to: counted per key, the first `after` let through,
    then the next `times` (None: every later one)."""

    per: str = "all"
    after: int = 0
    times: int | None = None

    @property
    def counts(self) -> bool:
        return (self.per, self.after, self.times) != ("all", 0, None)

    def applies(self, place: int) -> bool:
        return place > self.after and (self.times is None or place <= self.after + self.times)


def counting_key(per: str, request: PlainRequest, created_task: Callable[[], str]) -> Hashable | None:
    """The counter a request counts in under `per`; None: it cannot be counted so (the rule is skipped)."""
    if per == "all":
        return ""
    if per == "token":
        claims = request.claims_or_error()
        return None if isinstance(claims, TokenError) else str(claims["sub"])
    found = TASK_PATH.fullmatch(request.path)
    if found is not None:
        return found.group(1).lower()
    if request.method == "POST" and (request.path.rstrip("/") or "/") == CREATE_PATH:
        return created_task()
    return None
