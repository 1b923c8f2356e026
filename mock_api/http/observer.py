"""After the view: each API request observed once; the journal keeps the record, coverage and strict mode read it."""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import time
from typing import Any

from flask import Response, g, request

from mock_api.contract.observation import Observation
from mock_api.contract.spec import match_path
from mock_api.contract.strict import JWT_PATH, record_violations
from mock_api.http.faults import DROPPING, FAULT_KEY
from mock_api.http.views.common import Call, mock_state, plain_request
from mock_api.http.views.control import is_control_path
from mock_api.state import MockState

log = logging.getLogger("mock_api")
OPENAPI_PATH = "/openapi.json"  # journaled, but neither a contract operation nor a coverage entry
_RULE_PARAMETER = re.compile(r"<(?:[^:<>]+:)?[^<>]+>")


@functools.lru_cache(maxsize=256)
def rule_template(rule: str) -> str | None:
    """The documented template of a Flask route, found once per route: its parameters as one sample segment."""
    return match_path(_RULE_PARAMETER.sub("x", rule))


def documented_template(route: str | None, path: str) -> str | None:
    """The route's template when Flask matched one; the path's regex match only when none did (404, 405)."""
    return rule_template(route) if route is not None else match_path(path)


def _reply(template: str | None, response: Response) -> Any:
    """The body as JSON where the bookkeeping reads it (granted or missing scopes); not every collection."""
    if template != JWT_PATH and response.status_code != 403:
        return None
    if response.mimetype != "application/json" or response.is_streamed:
        return None
    try:
        return json.loads(response.get_data())
    except ValueError:
        return None


def _observation(state: MockState, call: Call, response: Response) -> Observation:
    req = call.request
    fault = request.environ.get(FAULT_KEY)
    template = documented_template(req.route, req.path)
    args = request.args
    return Observation(req, template, state.clock.now(), response.status_code, fault not in DROPPING,
                       _reply(template, response), call.scenario, state.scenario_name, fault,
                       time.perf_counter() - call.started, args.to_dict(flat=False) if args else {}, call.unpromised)


def _check(state: MockState, seen: Observation) -> list[tuple[str, str]]:
    """Coverage always, violations in strict mode; a fault here must never change what the consumer gets."""
    try:
        state.coverage.observe(seen)
        if state.config.strict and seen.template is not None:
            return record_violations(seen, state.violations, state.clock.now(), state.config.min_poll_seconds)
    except Exception:
        log.exception("contract observer failed on %s %s", seen.request.method, seen.request.path)
    return []


def observe(response: Response) -> Response:
    """An after_request hook: X-Request-ID on every answer; one observation of each API request."""
    state = mock_state()
    call: Call | None = g.get("call")
    if call is None:  # a request refused before the first hook ran
        call = Call(plain_request(request._get_current_object(), state),  # type: ignore[attr-defined]
                    state.ids.request_id(), time.perf_counter())
    response.headers["X-Request-ID"] = call.request_id
    if is_control_path(call.request.path):
        return response
    seen = _observation(state, call, response)
    state.journal.record(seen)  # gives it its seq, which violations point to
    violations = _check(state, seen) if call.request.path != OPENAPI_PATH else []
    with contextlib.suppress(OSError):  # stderr closed: the answer matters more than its log line
        state.request_log.write(seen, violations)
    return response
