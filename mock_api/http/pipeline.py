"""A request's one path through the API: its call, the scenario's decision, scopes, the handler, errors as
JSON, then one observation. Every server (ours, any WSGI server, the Flask test client) runs `run`."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mock_api.contract.observation import Observation
from mock_api.contract.strict import JWT_PATH, record_violations
from mock_api.http.parts import JSON_TYPE, OCTET_TYPE, TEXT_TYPE, Answer, answer, json_answer, with_headers
from mock_api.scenarios.catalog import NO_DECISION, Decision, Scenario
from mock_api.scenarios.effects import DROPPING_FAULTS, Context, Reply
from mock_api.service import errors
from mock_api.service.requests import PlainRequest
from mock_api.service.tokens import token_scopes
from mock_api.state import MockState

log = logging.getLogger("mock_api")
OPENAPI_PATH = "/openapi.json"  # journaled, but neither a contract operation nor a coverage entry
Values = Mapping[str, str]


@dataclass
class Call:
    """This request as the chain carries it: made when it begins."""

    request: PlainRequest
    request_id: str
    started: float
    template: str | None  # the documented path template of its route (None: undocumented)
    script_root: str = ""  # "/s/{name}" under a session: the prefix of every URL the answer gives
    query_lists: dict[str, list[str]] = field(default_factory=dict)  # every value of each query parameter
    scenario: str | None = None  # the scenario applied to it; None when refused before the scenario
    decision: Decision = NO_DECISION  # what the scenario decided (task, reads, fault)
    unpromised: list[tuple[str, str]] = field(default_factory=list)  # reads served before their refresh


Handler = Callable[[MockState, Call, Values], Answer]


@dataclass(frozen=True)
class Route:
    """One API route, declared once: method, path rule (werkzeug syntax), the OpenAPI path it implements, the
    scopes it needs (None: no token; (): any valid token), its handler, and, for a read whose cost depends
    on the query, whether this one is small enough for the server's event loop."""

    endpoint: str
    method: str
    rule: str
    template: str
    scopes: tuple[str, ...] | None
    handler: Handler
    small: Callable[[MockState, PlainRequest], bool] | None = None


def begin(state: MockState, request: PlainRequest, template: str | None, script_root: str = "",
          query_lists: dict[str, list[str]] | None = None) -> Call:
    return Call(request, state.ids.request_id(), time.perf_counter(), template, script_root, query_lists or {})


def check_scopes(call: Call, scopes: tuple[str, ...]) -> None:
    """401 without a valid token, then 403 naming the scopes the token lacks."""
    missing = [s for s in scopes if s not in token_scopes(call.request.claims())]
    if missing:
        raise errors.forbidden(missing)


def reply_answer(reply: Reply) -> Answer:
    """A scenario's plain reply: text as text/plain, bytes as they are, anything else as JSON."""
    if isinstance(reply.body, str):
        return answer(reply.body.encode(), reply.status, reply.headers, TEXT_TYPE)
    if isinstance(reply.body, bytes):
        return answer(reply.body, reply.status, reply.headers, OCTET_TYPE)
    return json_answer(reply.body, reply.status, reply.headers)


def error_answer(exc: errors.ApiError) -> Answer:
    return json_answer(exc.body, exc.status, exc.headers)


def decide(state: MockState, call: Call, scenario: Scenario) -> Decision:
    """The scenario's decision for this request, kept on the call for the handler and the observation."""
    call.scenario = scenario.name
    if not scenario.rules:  # the default scenario: nothing to apply, no context to build
        call.decision = NO_DECISION
        return NO_DECISION
    context = Context(call.request, state.dice, state.clock, state.sleep, state.counters, state.new_task_id)
    call.decision = decision = scenario.apply(context)
    return decision


def run(state: MockState, call: Call, scenario: Scenario | errors.ApiError, route: Route | errors.ApiError,
        values: Values) -> Answer:
    """The answer to one API request, observed once. A refusal before the scenario (a bad X-Mock-Scenario,
    a body over the limit) comes in the scenario's place; a route that does not exist (404, 405) is answered
    after the scenario, so a scenario's reply covers any path. Any
    unexpected error is a logged 500 with the request id; an error in observing never changes the answer."""
    fault = None
    try:
        found, fault = _respond(state, call, scenario, route, values)
    except Exception:
        log.exception("unexpected error on %s %s (request %s)", call.request.method, call.request.path,
                      call.request_id)
        found = json_answer({"detail": errors.INTERNAL_ERROR}, 500)
    with_headers(found.headers, {"X-Request-ID": call.request_id})
    try:
        observe(state, call, found, fault)
    except Exception:
        log.exception("observing %s %s failed (request %s); the answer stands", call.request.method,
                      call.request.path, call.request_id)
    return found._replace(fault=fault)


def _respond(state: MockState, call: Call, scenario: Scenario | errors.ApiError, route: Route | errors.ApiError,
             values: Values) -> tuple[Answer, str | None]:
    decision = NO_DECISION
    try:
        if isinstance(scenario, errors.ApiError):
            raise scenario
        decision = decide(state, call, scenario)
        if decision.reply is not None:
            return reply_answer(decision.reply), decision.fault
        if isinstance(route, errors.ApiError):
            raise route
        if route.scopes is not None:
            check_scopes(call, route.scopes)
        return route.handler(state, call, values), decision.fault
    except errors.ApiError as exc:
        return error_answer(exc), decision.fault


def _reply_json(template: str | None, found: Answer) -> Any:
    """The body as JSON where the bookkeeping reads it (granted or missing scopes); not every collection."""
    if template != JWT_PATH and found.status != 403:
        return None
    if found.media_type.split(";")[0].strip() != JSON_TYPE:
        return None
    try:
        return json.loads(found.body)
    except ValueError:
        return None


def observe(state: MockState, call: Call, found: Answer, fault: str | None) -> None:
    """One observation of an API request: the journal, coverage, strict mode, the request log."""
    seen = Observation(call.request, call.template, state.clock.now(), found.status, fault not in DROPPING_FAULTS,
                       _reply_json(call.template, found), call.scenario, state.scenario_name, fault,
                       time.perf_counter() - call.started, call.query_lists, call.unpromised)
    state.journal.record(seen)  # gives it its seq, which violations point to
    violations: Sequence[tuple[str, str]] = []
    if call.request.path != OPENAPI_PATH:
        state.coverage.observe(seen)
        if state.config.strict and seen.template is not None:
            violations = record_violations(seen, state.violations, state.clock.now(), state.config.min_poll_seconds)
    state.request_log.write(seen, violations)
