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
from mock_api.http.faults import request_fault

if TYPE_CHECKING:
    from mock_api.state import MockState

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
    """A parameter the schema lets through but the effect cannot use (min > max); `key` is the sub-key (".max")."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key, self.problem = key, problem


def effect(name: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        REGISTRY[name] = builder
        return builder
    return register


def _params(params: Any, scalar_key: str | None = None) -> dict[str, Any]:
    """Schema-checked parameters as a mapping; a bare scalar stands for `scalar_key`."""
    if params is None or params is True:
        return {}
    return dict(params) if isinstance(params, dict) else {str(scalar_key): params}


def _one_or_many(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@effect("respond")
def respond(params: Any) -> Effect:
    """Answer instead of the API: status (one, or a list picked by the seeded dice), body, headers."""
    p = _params(params, "status")
    statuses: list[int] = _one_or_many(p["status"])
    headers = {name: str(value) for name, value in (p.get("headers") or {}).items()}
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
    p = _params(params, "seconds")
    if "seconds" in p:
        fixed = float(p["seconds"])
        return lambda ctx: ctx.state.sleep(fixed)
    low, high = float(p["min"]), float(p["max"])
    if low > high:
        raise ParamError(".max", "expected max >= min")
    return lambda ctx: ctx.state.sleep(ctx.state.dice.uniform(low, high))


@effect("task")
def task(params: Any) -> Effect:
    """How a POSTed task runs: `seconds` of clock time (or seeded between min and max), `fail`, `stale_cache`."""
    p = _params(params)
    overrides: dict[str, Any] = {k: p[k] for k in ("fail", "stale_cache") if k in p}
    if "seconds" in p:
        overrides["seconds"] = float(p["seconds"])
    drawn = None
    if "min" in p:
        drawn = float(p["min"]), float(p["max"])
        if drawn[0] > drawn[1]:
            raise ParamError(".max", "expected max >= min")

    def run(ctx: Context) -> None:
        ctx.task.update(overrides)
        if drawn is not None:  # drawn per task, from the seeded dice: the same after a reset
            ctx.task["seconds"] = ctx.state.dice.uniform(*drawn)
    return run


@effect("reads")
def reads(params: Any) -> Effect:
    """Turn a read's lenient choice off: `by_mongo_id: false` (404), `count_header: false` (no X-Count)."""
    p = _params(params)
    overrides = {key: bool(p[key]) for key in READ_CHOICES if key in p}

    def run(ctx: Context) -> None:
        ctx.reads.update(overrides)
    return run


@effect("token_expired")
def token_expired(params: Any) -> Effect:
    """Every bearer token is refused as an expired one is: 401 Unauthorized; POST /api/jwt still works."""

    def run(ctx: Context) -> None:
        scheme = request.headers.get("Authorization", "").strip().partition(" ")[0]
        if scheme.lower() == "bearer":
            raise errors.unauthorized()
    return run


@effect("forbid")
def forbid(params: Any) -> Effect:
    """403 naming the scope, as for a token without it; a missing or bad token is still 401 first."""
    scopes = [str(s).strip() for s in _one_or_many(_params(params, "scope")["scope"])]

    def run(ctx: Context) -> None:
        from mock_api.http.views.common import bearer_claims
        bearer_claims(ctx.state)
        raise errors.forbidden(list(scopes))  # a copy: the body must not share the rule's list
    return run


@effect("task_not_found_for")
def task_not_found_for(params: Any) -> Effect:
    """GET /api/tasks/{id} answers 404 until `seconds` of clock time after the task's creation second."""
    seconds = float(_params(params, "seconds")["seconds"])

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
    kind = _params(params, "kind")["kind"]

    def run(ctx: Context) -> Response | None:
        request_fault(request.environ, kind)
        # reset and empty drop the request unhandled; truncated cuts whatever the API answers.
        return None if kind == "truncated" else Response(b"", 500)
    return run
