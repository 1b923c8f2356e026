"""A request match (method, path, query, headers, JSON body, token): whether a request meets it, and how it differs."""
from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mock_api.scenarios.effects import ParamError, one_or_many
from mock_api.service import errors
from mock_api.service.requests import BodyTooLarge, PlainRequest
from mock_api.service.tokens import TokenError, token_scopes

GLOB_CHARS = frozenset("*?[")
MATCH_KEYS = ("method", "path", "query", "headers", "body", "token")  # a verification's keys: no probability
TextTest = Callable[[str], bool]
_MISSING: Any = object()
# One difference: the key (`query.netid`) and what differed, in words (`wanted f0027k4, got f0027k5`).
Difference = tuple[str, str]


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


def path_glob(pattern: str) -> re.Pattern[str]:
    """`**` spans segments, `*` stays within one; a trailing slash never matters (strict_slashes off)."""
    parts = re.split(r"(\*\*|\*)", strip_slash(pattern))
    mapping = {"**": ".*", "*": "[^/]*"}
    return re.compile("".join(mapping.get(part, re.escape(part)) for part in parts))


def strip_slash(path: str) -> str:
    return path.rstrip("/") or "/"


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


def _value_test(expected: Any, key: str) -> Callable[[Any], bool]:
    if isinstance(expected, str):
        matches = text_test(expected, key)
        return lambda value: isinstance(value, str) and matches(value)
    return lambda value: value is not _MISSING and json_equal(value, expected)


def _shown(value: Any) -> str:
    """A value in a difference: text as it is, anything else as JSON."""
    if value is _MISSING:
        return "absent"
    return value if isinstance(value, str) else json.dumps(value)


def _got(wanted: str, value: Any) -> str:
    return f"wanted {wanted}, {'absent' if value is _MISSING else 'got ' + _shown(value)}"


@dataclass(frozen=True)
class Text:
    """One text key: its name, the pattern as given (for differences), and its test."""

    name: str
    pattern: str
    test: TextTest


@dataclass(frozen=True)
class Targets:
    """What a request must carry besides method and path; empty: every request."""

    query: tuple[Text, ...] = ()
    headers: tuple[Text, ...] = ()  # names lowered
    body: tuple[tuple[str, Any, Callable[[Any], bool]], ...] = ()  # (dotted path, value as given, test)
    sub: Text | None = None
    scopes: frozenset[str] | None = None  # None: no token key; else the scopes the token must hold

    @property
    def needs_token(self) -> bool:
        return self.sub is not None or self.scopes is not None

    def matches(self, request: PlainRequest) -> bool:
        return next(self.differences(request), None) is None

    def differences(self, request: PlainRequest) -> Iterator[Difference]:
        """Each key the request does not meet, lazily: the first one is enough to skip a rule."""
        for key in self.query:
            value = request.query.get(key.name, _MISSING)
            if value is _MISSING or not key.test(value):
                yield f"query.{key.name}", _got(key.pattern, value)
        for key in self.headers:
            value = next((v for n, v in request.headers if n.lower() == key.name), _MISSING)
            if value is _MISSING or not key.test(value):  # an absent header matches nothing, not even *
                yield f"headers.{key.name}", _got(key.pattern, value)
        if self.body:
            yield from self._body_differences(request)
        if self.needs_token:
            yield from self._token_differences(request)

    def _body_differences(self, request: PlainRequest) -> Iterator[Difference]:
        try:
            body = request.json()
        except (errors.ApiError, BodyTooLarge):
            # No JSON body: the view answers it as it would without the scenario.
            yield "body", "not a JSON body"
            return
        for path, expected, test in self.body:
            value = _dig(body, tuple(path.split(".")))
            if not test(value):
                yield f"body.{path}", _got(_shown(expected), value)

    def _token_differences(self, request: PlainRequest) -> Iterator[Difference]:
        claims = request.claims_or_error()
        if isinstance(claims, TokenError):
            yield "token", f"no valid token ({claims})"  # skipped, not an error: the view answers 401 as usual
            return
        if self.sub is not None and not self.sub.test(str(claims["sub"])):
            yield "token.sub", _got(self.sub.pattern, str(claims["sub"]))
        if self.scopes is not None:
            missing = sorted(self.scopes - token_scopes(claims))
            if missing:
                yield "token.scope", f"{' '.join(missing)} not held"


def parse_targets(match: Mapping[str, Any]) -> Targets:
    """The schema-checked match keys; ParamError (".query.netid") for a bad glob."""
    def text(name: str, value: Any, key: str) -> Text:
        return Text(name, str(value), text_test(str(value), key))
    token = match.get("token") or {}
    scope = token.get("scope")
    return Targets(
        tuple(text(name, value, f".query.{name}") for name, value in (match.get("query") or {}).items()),
        tuple(text(name.lower(), value, f".headers.{name}") for name, value in (match.get("headers") or {}).items()),
        tuple((path, value, _value_test(value, f".body.{path}")) for path, value in (match.get("body") or {}).items()),
        text("sub", token["sub"], ".token.sub") if "sub" in token else None,
        None if scope is None else frozenset([scope] if isinstance(scope, str) else scope))


@dataclass(frozen=True)
class RequestMatch:
    """Every match key but the draw: a scenario rule's targeting and a verification's, one code for both."""

    methods: frozenset[str] | None = None  # None: any method
    paths: tuple[re.Pattern[str], ...] = (path_glob("**"),)
    targets: Targets = field(default_factory=Targets)
    path_texts: tuple[str, ...] = ("**",)  # the globs as given, for differences

    def line_matches(self, method: str, path: str) -> bool:
        """Method and path only: what is known before the request is read."""
        return self._method_matches(method) and self._path_matches(path)

    def _method_matches(self, method: str) -> bool:
        return self.methods is None or method in self.methods or (method == "HEAD" and "GET" in self.methods)

    def _path_matches(self, path: str) -> bool:
        path = strip_slash(path)
        return any(pattern.fullmatch(path) for pattern in self.paths)

    def matches(self, request: PlainRequest) -> bool:
        return self.line_matches(request.method, request.path) and self.targets.matches(request)

    def differences(self, request: PlainRequest) -> list[Difference]:
        """Every key the request does not meet, in the order of MATCH_KEYS; empty: it matches."""
        found: list[Difference] = []
        if not self._method_matches(request.method):
            found.append(("method", _got(" or ".join(sorted(self.methods or ())), request.method)))
        if not self._path_matches(request.path):
            found.append(("path", _got(" or ".join(self.path_texts), request.path)))
        found.extend(self.targets.differences(request))
        return found


def parse_match(match: Mapping[str, Any]) -> RequestMatch:
    """A schema-checked `match` mapping as a RequestMatch; ParamError (".query.netid") for a bad glob."""
    methods = {method.upper() for method in one_or_many(match.get("method", "*"))}
    paths = tuple(str(path) for path in one_or_many(match.get("path", "**")))
    return RequestMatch(None if "*" in methods else frozenset(methods), tuple(path_glob(p) for p in paths),
                        parse_targets(match), paths)
