"""The effects a scenario rule can have: small functions, each built once from its YAML parameters."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol

from mock_api.scenarios.counters import RuleCounters
from mock_api.service import errors
from mock_api.service.clock import Clock
from mock_api.service.ids import object_id_seconds
from mock_api.service.requests import PlainRequest, parse_authorization

# The lenient choices of a read that the `reads` effect can turn off (each True by default).
READ_CHOICES = ("by_mongo_id", "count_header")
TASK_PATH = re.compile(r"/api/tasks/([0-9a-fA-F]{24})/?")
# Faults below HTTP, done by the http layer's middleware: reset and empty drop the connection unanswered.
FAULT_KINDS = ("reset", "empty", "truncated")
DROPPING_FAULTS = frozenset({"reset", "empty"})
WAITING_EFFECTS = frozenset({"delay"})  # the effects that sleep (real wire latency)


class Chance(Protocol):
    """The seeded random source effects draw from (the same draws after a reset)."""

    def random(self) -> float: ...
    def uniform(self, low: float, high: float) -> float: ...
    def choice(self, options: Sequence[Any]) -> Any: ...


@dataclass(frozen=True)
class Context:
    """What a scenario sees for one request: the request as plain data, the seeded dice, the clock, sleep;
    and, for its rules' counting, the emulator's counters and a way to reserve the id of the task a POST creates."""

    request: PlainRequest
    dice: Chance
    clock: Clock
    sleep: Callable[[float], None]
    counters: RuleCounters
    new_task_id: Callable[[], str]


@dataclass(frozen=True)
class Reply:
    """An answer instead of the API's: a JSON body (or text, or bytes), status and headers; with a fault,
    the connection is then broken below HTTP."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    fault: str | None = None

    @classmethod
    def error(cls, exc: errors.ApiError) -> Reply:
        return cls(exc.status, exc.body, exc.headers)


@dataclass(frozen=True)
class Overrides:
    """What an effect changes without answering: how a POSTed task runs, a read's lenient choices, a fault."""

    task: Mapping[str, Any] = field(default_factory=dict)  # TaskBehaviour fields
    reads: Mapping[str, bool] = field(default_factory=dict)  # READ_CHOICES
    fault: str | None = None


Effect = Callable[[Context], "Reply | Overrides | None"]
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


def one_or_many(value: Any) -> list[Any]:
    """A YAML value that may be one item or a list of them, as a list."""
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
    statuses: list[int] = one_or_many(p["status"])
    headers = {name: str(value) for name, value in (p.get("headers") or {}).items()}
    has_body, body = "body" in p, p.get("body")

    def run(ctx: Context) -> Reply:
        status = statuses[0] if len(statuses) == 1 else ctx.dice.choice(statuses)
        return Reply(status, body if has_body else {"detail": _phrase(status)}, headers)
    return run


@effect("delay")
def delay(params: Any) -> Effect:
    """Real wire latency (the one place mock_api sleeps): fixed `seconds`, or seeded between min and max."""
    p = _params(params, "seconds")
    if "seconds" in p:
        fixed = float(p["seconds"])
        return lambda ctx: ctx.sleep(fixed)
    low, high = float(p["min"]), float(p["max"])
    if low > high:
        raise ParamError(".max", "expected max >= min")
    return lambda ctx: ctx.sleep(ctx.dice.uniform(low, high))


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

    def run(ctx: Context) -> Overrides:
        if drawn is None:
            return Overrides(task=overrides)
        # drawn per task, from the seeded dice: the same after a reset
        return Overrides(task={**overrides, "seconds": ctx.dice.uniform(*drawn)})
    return run


@effect("reads")
def reads(params: Any) -> Effect:
    """Turn a read's lenient choice off: `by_mongo_id: false` (404), `count_header: false` (no X-Count)."""
    p = _params(params)
    overrides = {key: bool(p[key]) for key in READ_CHOICES if key in p}

    def run(ctx: Context) -> Overrides:
        return Overrides(reads=overrides)
    return run


@effect("token_expired")
def token_expired(params: Any) -> Effect:
    """Every bearer token is refused as an expired one is: 401 Unauthorized; POST /api/jwt still works."""

    def run(ctx: Context) -> Reply | None:
        # Any bearer token, valid or not, even an empty one: the scheme is what marks a token-checked call.
        if parse_authorization(ctx.request.authorization)[0].lower() == "bearer":
            return Reply.error(errors.unauthorized())
        return None
    return run


@effect("forbid")
def forbid(params: Any) -> Effect:
    """403 naming the scope, as for a token without it; a missing or bad token is still 401 first."""
    scopes = [str(s).strip() for s in one_or_many(_params(params, "scope")["scope"])]

    def run(ctx: Context) -> Reply:
        try:
            ctx.request.claims()
        except errors.ApiError as exc:
            return Reply.error(exc)
        return Reply.error(errors.forbidden(list(scopes)))  # a copy: the body must not share the rule's list
    return run


@effect("task_not_found_for")
def task_not_found_for(params: Any) -> Effect:
    """GET /api/tasks/{id} answers 404 until `seconds` of clock time after the task's creation second."""
    seconds = float(_params(params, "seconds")["seconds"])

    def run(ctx: Context) -> Reply | None:
        found = TASK_PATH.fullmatch(ctx.request.path)
        if found is None:
            return None
        # The id is an ObjectId made from the emulator clock, so its timestamp is the creation second.
        created = object_id_seconds(found.group(1))
        if ctx.clock.now() < created + seconds:
            return Reply.error(errors.not_found())
        return None
    return run


@effect("fault")
def fault(params: Any) -> Effect:
    """Below HTTP: `reset` (TCP RST), `empty` (closed with no reply), `truncated` (half the body)."""
    kind = _params(params, "kind")["kind"]
    # reset and empty drop the request unhandled; truncated cuts whatever the API answers.
    outcome = Overrides(fault=kind) if kind not in DROPPING_FAULTS else Reply(500, b"", fault=kind)

    def run(ctx: Context) -> Reply | Overrides:
        return outcome
    return run
