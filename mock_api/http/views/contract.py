"""The contract's HTTP side: /openapi.json, the strict-mode and coverage observer, and their /_mock views."""
from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from mock_api.contract.strict import JWT_PATH, Exchange, find_violations
from mock_api.contract.spec import load_spec, match_path
from mock_api.state import MockState
from mock_api.http.views.common import json_response, mock_state
from mock_api.http.views.control import PREFIX

log = logging.getLogger("mock_api")
document = Blueprint("openapi", __name__)
control = Blueprint("contract", __name__, url_prefix=PREFIX)


def published_document(control_api: bool) -> dict[str, Any]:
    """openapi.yaml as this instance serves it: without the /_mock paths when the control API is off."""
    document = load_spec()
    if control_api:
        return document
    paths = {path: item for path, item in document["paths"].items() if not path.startswith(PREFIX + "/")}
    return {**document, "paths": paths}


@document.get("/openapi.json")
def openapi_document() -> Response:
    return json_response(published_document(mock_state().config.control_api))


@control.get("/violations")
def violations() -> Response:
    found = mock_state().violations
    # How many new violations were not kept (past MockConfig.violations_limit).
    return json_response(found.entries(), headers={"X-Violations-Dropped": str(found.dropped)})


@control.get("/coverage")
def coverage() -> Response:
    return json_response(mock_state().coverage.report())


@control.post("/coverage/reset")
def reset_coverage() -> Response:
    state = mock_state()
    state.coverage.clear()
    return json_response(state.coverage.report())


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


def _body() -> bytes | None:
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        return None


def _observe(state: MockState, response: Response) -> None:
    # Counted like the journal's seq (every request outside /_mock), so first_seq points into the journal.
    seq = state.violations.next_request() if state.config.strict else 0
    if request.path == "/openapi.json":
        return
    template = match_path(request.path)
    reply = _reply(template, response)
    # The scenario in force for this request: X-Mock-Scenario's, else the active one (a request refused
    # before the scenario hook ran, e.g. a 413, has none of its own).
    scenario = str(g.get("scenario_name") or state.scenario_name)
    state.coverage.record(request.method, request.path, template, response.status_code, request.args, reply,
                          scenario)
    if not state.config.strict or template is None:
        return
    exchange = Exchange(request.method, request.path, template, request.args,
                        request.headers.get("Authorization", ""), request.mimetype, _body(),
                        response.status_code, reply, g.get("unpromised_reads", ()))
    now = state.clock.now()
    for kind, message in find_violations(exchange, state.violations, state.config.signing_key, now,
                                         state.config.min_poll_seconds):
        state.violations.add(kind, request.method, request.path, message, seq)


def after_request(response: Response) -> Response:
    """Coverage always, violations in strict mode; for API requests only (not /_mock, not /openapi.json)."""
    if request.path.startswith(PREFIX):
        return response
    try:
        _observe(mock_state(), response)
    except Exception:  # a fault in the bookkeeping must never change what the consumer gets
        log.exception("contract observer failed on %s %s", request.method, request.path)
    return response


def install(app: Flask, control_api: bool) -> None:
    """Register /openapi.json, the observer and (with the control API) /_mock/violations and /coverage."""
    app.register_blueprint(document)
    if control_api:
        app.register_blueprint(control)
    app.after_request(after_request)
