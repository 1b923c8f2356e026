"""Applies the active scenario, or the one named by X-Mock-Scenario, to every request outside /_mock."""
from __future__ import annotations

from flask import Response, request

from mock_api.http.faults import request_fault
from mock_api.http.pipeline import decide
from mock_api.http.views.common import current_call, mock_state, reply_response
from mock_api.http.views.control import TOKEN_HEADER, is_control_path, token_matches
from mock_api.scenarios.catalog import ScenarioError, looks_like_path
from mock_api.service import errors

HEADER = "X-Mock-Scenario"


def apply_scenario() -> Response | None:
    """A before_request hook: a reply from an effect replaces the view's; the rest is kept on the call."""
    if is_control_path(request.path):
        return None  # the control API must keep working whatever the scenario does
    state = mock_state()
    scenario = state.scenario
    # The header is a control lever: with the control API off it is ignored, as the real API would.
    override = request.headers.get(HEADER) if state.config.control_api else None
    if override is not None:
        expected = state.config.control_token
        if expected is not None and not token_matches(request.headers.get(TOKEN_HEADER, ""), expected):
            raise errors.detail(401, errors.CONTROL_TOKEN)  # a control lever: guarded as /_mock is
        name = override.strip()
        try:
            if looks_like_path(name):  # a header must not make the server read files
                raise ScenarioError(errors.SCENARIO_HEADER_PATH.format(value=name))
            scenario = state.scenarios.named(name)
        except ScenarioError as exc:
            raise errors.detail(400, errors.SCENARIO_HEADER_UNKNOWN.format(problem=exc)) from None
    decision = decide(state, current_call(), scenario)
    if decision.fault is not None:
        request_fault(request.environ, decision.fault)
    return None if decision.reply is None else reply_response(decision.reply)
