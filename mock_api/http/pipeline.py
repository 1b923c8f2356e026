"""A request's steps with no web framework: its call, the scenario's decision, the answer's bytes, the observation.

The Flask hooks and the server's inline lane (http/lane.py) both run these, so that an answer and its
journal entry are the same bytes whichever path served the request.
"""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask.json.provider import _default as flask_default  # dates, UUIDs, dataclasses: as Flask writes them

from mock_api.contract.observation import Observation
from mock_api.contract.spec import match_path
from mock_api.contract.strict import JWT_PATH, record_violations
from mock_api.scenarios.catalog import NO_DECISION, Decision, Scenario
from mock_api.scenarios.effects import DROPPING_FAULTS, Context, Reply
from mock_api.service import errors
from mock_api.service.requests import PlainRequest
from mock_api.state import MockState

log = logging.getLogger("mock_api")
Headers = list[tuple[str, str]]
OPENAPI_PATH = "/openapi.json"  # journaled, but neither a contract operation nor a coverage entry
JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"  # werkzeug's default for a body given without a media type
_RULE_PARAMETER = re.compile(r"<(?:[^:<>]+:)?[^<>]+>")


@dataclass
class Call:
    """This request for the hooks, the views and the observer: made when the request begins."""

    request: PlainRequest
    request_id: str
    started: float
    scenario: str | None = None  # the scenario applied to it; None when refused before the scenario hook
    decision: Decision = NO_DECISION  # what the scenario decided (task, reads, fault)
    unpromised: list[tuple[str, str]] = field(default_factory=list)  # reads served before their refresh


@dataclass
class Parts:
    """An answer as plain data: status, headers in the order Flask writes them (Content-Type, Content-Length,
    then the view's), body bytes."""

    status: int
    headers: Headers
    body: bytes

    @property
    def media_type(self) -> str:
        return self.headers[0][1] if self.headers and self.headers[0][0] == "Content-Type" else ""


def begin(state: MockState, request: PlainRequest, started: float) -> Call:
    return Call(request, state.ids.request_id(), started)


def json_text(value: Any) -> bytes:
    """A JSON answer's body as Flask's JSON provider writes it: compact, ASCII escapes, a trailing newline."""
    return (json.dumps(value, default=flask_default, ensure_ascii=True, separators=(",", ":")) + "\n").encode()


def with_headers(headers: Headers, extra: Mapping[str, str]) -> Headers:
    """werkzeug's Headers.update: a name already there is replaced where it stands, a new one appended."""
    for name, value in extra.items():
        lowered = name.lower()
        found = [at for at, (existing, _) in enumerate(headers) if existing.lower() == lowered]
        if not found:
            headers.append((name, value))
            continue
        headers[found[0]] = (name, value)
        for at in reversed(found[1:]):
            del headers[at]
    return headers


def parts(body: bytes, status: int = 200, extra: Mapping[str, str] | None = None,
          media_type: str = JSON_TYPE) -> Parts:
    length = str(len(body))
    headers = [("Content-Type", media_type), ("Content-Length", length)]
    if not extra:
        return Parts(status, headers, body)
    with_headers(headers, extra)
    if any(name.lower() == "content-length" for name in extra):
        # A scenario's Content-Length (any case) is replaced by the body's, as Response.set_data does after it
        with_headers(headers, {"Content-Length": length})
    return Parts(status, headers, body)


def json_parts(value: Any, status: int = 200, extra: Mapping[str, str] | None = None) -> Parts:
    return parts(json_text(value), status, extra)


def reply_parts(reply: Reply) -> Parts:
    """A scenario's plain reply: text as text/plain, bytes as they are, anything else as JSON."""
    if isinstance(reply.body, str):
        return parts(reply.body.encode(), reply.status, reply.headers, TEXT_TYPE)
    if isinstance(reply.body, bytes):
        return parts(reply.body, reply.status, reply.headers, HTML_TYPE)
    return json_parts(reply.body, reply.status, reply.headers)


def error_parts(exc: errors.ApiError) -> Parts:
    return json_parts(exc.body, exc.status, exc.headers)


def decide(state: MockState, call: Call, scenario: Scenario) -> Decision:
    """The scenario's decision for this request, kept on the call for the view and the observer."""
    call.scenario = scenario.name
    if not scenario.rules:  # the default scenario: nothing to apply, no context to build (~4 µs a request)
        call.decision = NO_DECISION
        return NO_DECISION
    context = Context(call.request, state.dice, state.clock, state.sleep, state.counters, state.new_task_id)
    call.decision = decision = scenario.apply(context)
    return decision


@functools.lru_cache(maxsize=256)
def rule_template(rule: str) -> str | None:
    """The documented template of a route, found once per route: its parameters as one sample segment."""
    return match_path(_RULE_PARAMETER.sub("x", rule))


def _reply_json(template: str | None, answer: Parts) -> Any:
    """The body as JSON where the bookkeeping reads it (granted or missing scopes); not every collection."""
    if template != JWT_PATH and answer.status != 403:
        return None
    if answer.media_type.split(";")[0].strip() != JSON_TYPE:
        return None
    try:
        return json.loads(answer.body)
    except ValueError:
        return None


def observe(state: MockState, call: Call, answer: Parts, fault: str | None,
            query_lists: dict[str, list[str]]) -> None:
    """One observation of an API request (not /_mock): the journal, coverage, strict mode, the request log."""
    req = call.request
    template = rule_template(req.route) if req.route is not None else match_path(req.path)
    seen = Observation(req, template, state.clock.now(), answer.status, fault not in DROPPING_FAULTS,
                       _reply_json(template, answer), call.scenario, state.scenario_name, fault,
                       time.perf_counter() - call.started, query_lists, call.unpromised,
                       injected=call.decision.reply is not None)
    state.journal.record(seen)  # gives it its seq, which violations point to
    violations = _check(state, seen) if req.path != OPENAPI_PATH else []
    with contextlib.suppress(OSError):  # stderr closed: the answer matters more than its log line
        state.request_log.write(seen, violations)


def _check(state: MockState, seen: Observation) -> Sequence[tuple[str, str]]:
    """Coverage always, violations in strict mode; a fault here must never change what the consumer gets."""
    try:
        state.coverage.observe(seen)
        if state.config.strict and seen.template is not None:
            return record_violations(seen, state.violations, state.clock.now(), state.config.min_poll_seconds)
    except Exception:
        log.exception("contract observer failed on %s %s", seen.request.method, seen.request.path)
    return []
