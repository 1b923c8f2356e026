"""The effects a scenario rule can have: small functions, each built once from its YAML parameters."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from bson import ObjectId
from flask import Response, request

from mock_api.service import errors
from mock_api.http.faults import KINDS, request_fault

if TYPE_CHECKING:
    from mock_api.state import MockState

MAX_DELAY_SECONDS = 60.0
MAX_TASK_SECONDS = 365 * 86400
# The lenient choices of a read that the `reads` effect can turn off (each True by default).
READ_CHOICES = ("by_mongo_id", "count_header")
TASK_PATH = re.compile(r"/api/tasks/([0-9a-fA-F]{24})/?")


@dataclass
class Context:
    """What effects see and change for one request."""

    state: MockState
    task: dict[str, Any] = field(default_factory=dict)  # TaskBehaviour overrides for a POST
    reads: dict[str, bool] = field(default_factory=dict)  # READ_CHOICES overrides for a GET


Effect = Callable[[Context], "Response | None"]
Builder = Callable[[Any], Effect]
REGISTRY: dict[str, Builder] = {}


class ParamError(ValueError):
    """A wrong effect parameter; `key` is the sub-key (".max", or "" for the whole value)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key, self.problem = key, problem


def effect(name: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        REGISTRY[name] = builder
        return builder
    return register


def _mapping(params: Any, allowed: tuple[str, ...], scalar_key: str | None = None) -> dict[str, Any]:
    """Parameters as a mapping; a bare scalar is shorthand for `scalar_key`; unknown keys are refused."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        if scalar_key is None:
            raise ParamError("", f"expected a mapping with keys: {', '.join(allowed)}")
        return {scalar_key: params}
    for key in params:
        if key not in allowed:
            raise ParamError(f".{key}", f"unknown parameter (expected one of: {', '.join(allowed)})")
    return dict(params)


def _number(params: dict[str, Any], key: str, low: float, high: float) -> float:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ParamError(f".{key}", f"expected a number between {low:g} and {high:g}")
    return float(value)


def _flag(params: dict[str, Any], key: str) -> bool:
    value = params.get(key, False)
    if not isinstance(value, bool):
        raise ParamError(f".{key}", "expected true or false")
    return value


def _status(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ParamError(".status", "expected an HTTP status 100-599 or a list of them")
    return value


def _headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and k.strip() and isinstance(v, (str, int)) and not isinstance(v, bool)
            and not any(c in f"{k}{v}" for c in "\r\n") for k, v in value.items()):
        raise ParamError(".headers", "expected a mapping of header names to one-line strings")
    return {k: str(v) for k, v in value.items()}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@effect("respond")
def respond(params: Any) -> Effect:
    """Answer instead of the API: status (one, or a list picked by the seeded dice), body, headers."""
    p = _mapping(params, ("status", "body", "headers"), scalar_key="status")
    raw = p.get("status")
    statuses = [_status(s) for s in raw] if isinstance(raw, list) and raw else [_status(raw)]
    headers = _headers(p.get("headers") or {})
    has_body, body = "body" in p, p.get("body")

    def run(ctx: Context) -> Response:
        status = statuses[0] if len(statuses) == 1 else ctx.state.dice.choice(statuses)
        payload = body if has_body else {"detail": _phrase(status)}
        if isinstance(payload, str):
            response = Response(payload, status, mimetype="text/plain")
            response.headers.update(headers)
            return response
        from mock_api.http.views.common import json_response
        return json_response(payload, status, headers)
    return run


@effect("delay")
def delay(params: Any) -> Effect:
    """Real wire latency (the one place mock_api sleeps): fixed `seconds`, or seeded between min and max."""
    p = _mapping(params, ("seconds", "min", "max"), scalar_key="seconds")
    if "seconds" in p:
        if "min" in p or "max" in p:
            raise ParamError("", "give either seconds or min and max")
        fixed = _number(p, "seconds", 0, MAX_DELAY_SECONDS)
        return lambda ctx: ctx.state.sleep(fixed)
    low, high = _number(p, "min", 0, MAX_DELAY_SECONDS), _number(p, "max", 0, MAX_DELAY_SECONDS)
    if low > high:
        raise ParamError(".max", "expected max >= min")
    return lambda ctx: ctx.state.sleep(ctx.state.dice.uniform(low, high))


@effect("task")
def task(params: Any) -> Effect:
    """How a POSTed task runs: `seconds` of clock time (or seeded between min and max), `fail`, `stale_cache`."""
    p = _mapping(params, ("seconds", "min", "max", "fail", "stale_cache"))
    overrides: dict[str, Any] = {k: _flag(p, k) for k in ("fail", "stale_cache") if k in p}
    if "seconds" in p:
        if "min" in p or "max" in p:
            raise ParamError("", "give either seconds or min and max")
        overrides["seconds"] = _number(p, "seconds", 0, MAX_TASK_SECONDS)
    drawn = None
    if "min" in p or "max" in p:
        drawn = _number(p, "min", 0, MAX_TASK_SECONDS), _number(p, "max", 0, MAX_TASK_SECONDS)
        if drawn[0] > drawn[1]:
            raise ParamError(".max", "expected max >= min")
    if not overrides and drawn is None:
        raise ParamError("", "expected at least one of: seconds, min and max, fail, stale_cache")

    def run(ctx: Context) -> None:
        ctx.task.update(overrides)
        if drawn is not None:  # drawn per task, from the seeded dice: the same after a reset
            ctx.task["seconds"] = ctx.state.dice.uniform(*drawn)
    return run


@effect("reads")
def reads(params: Any) -> Effect:
    """Turn a read's lenient choice off: `by_mongo_id: false` (404), `count_header: false` (no X-Count)."""
    p = _mapping(params, READ_CHOICES)
    overrides = {key: _flag(p, key) for key in READ_CHOICES if key in p}
    if not overrides:
        raise ParamError("", f"expected at least one of: {', '.join(READ_CHOICES)}")

    def run(ctx: Context) -> None:
        ctx.reads.update(overrides)
    return run


@effect("token_expired")
def token_expired(params: Any) -> Effect:
    """Every bearer token is refused as an expired one is: 401 Unauthorized; POST /api/jwt still works."""
    if params not in (None, {}, True):
        raise ParamError("", "takes no parameters")

    def run(ctx: Context) -> None:
        scheme = request.headers.get("Authorization", "").strip().partition(" ")[0]
        if scheme.lower() == "bearer":
            raise errors.unauthorized()
    return run


@effect("forbid")
def forbid(params: Any) -> Effect:
    """403 naming the scope, as for a token without it; a missing or bad token is still 401 first."""
    p = _mapping(params, ("scope",), scalar_key="scope")
    raw = p.get("scope")
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(s, str) and s.strip() for s in items):
        raise ParamError(".scope", "expected a scope name or a list of them")
    scopes = [str(s).strip() for s in items]

    def run(ctx: Context) -> None:
        from mock_api.http.views.common import bearer_claims
        bearer_claims(ctx.state)
        raise errors.forbidden(list(scopes))  # a copy: the body must not share the rule's list
    return run


@effect("task_not_found_for")
def task_not_found_for(params: Any) -> Effect:
    """GET /api/tasks/{id} answers 404 until `seconds` of clock time after the task's creation second."""
    p = _mapping(params, ("seconds",), scalar_key="seconds")
    seconds = _number(p, "seconds", 0, 86400)

    def run(ctx: Context) -> None:
        found = TASK_PATH.fullmatch(request.path)
        if found is None:
            return
        # The id is an ObjectId made from the emulator clock, so its timestamp is the creation second.
        created = ObjectId(found.group(1).lower()).generation_time.timestamp()
        if ctx.state.clock.now() < created + seconds:
            raise errors.not_found()
    return run


@effect("fault")
def fault(params: Any) -> Effect:
    """Below HTTP: `reset` (TCP RST), `empty` (closed with no reply), `truncated` (half the body)."""
    p = _mapping(params, ("kind",), scalar_key="kind")
    kind = p.get("kind")
    if kind not in KINDS:
        raise ParamError(".kind" if isinstance(params, dict) else "", f"expected one of: {', '.join(KINDS)}")

    def run(ctx: Context) -> Response | None:
        request_fault(request.environ, kind)
        # reset and empty drop the request unhandled; truncated cuts whatever the API answers.
        return None if kind == "truncated" else Response(b"", 500)
    return run
