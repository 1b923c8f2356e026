"""Applies the active scenario, or the one named by X-Mock-Scenario, to every request outside /_mock."""
from __future__ import annotations

from flask import Response, g, request

from mock_api.service import errors
from mock_api.scenarios.effects import Context
from mock_api.scenarios.catalog import ScenarioError, looks_like_path
from mock_api.http.views.common import mock_state
from mock_api.http.views.control import PREFIX

HEADER = "X-Mock-Scenario"


def apply_scenario() -> Response | None:
    """A before_request hook: a response from an effect replaces the view's."""
    if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
        return None  # the control API must keep working whatever the scenario does
    state = mock_state()
    scenario = state.scenario
    # The header is a control lever: with the control API off it is ignored, as the real API would.
    override = request.headers.get(HEADER) if state.config.control_api else None
    if override is not None:
        name = override.strip()
        try:
            if looks_like_path(name):  # a header must not make the server read files
                raise ScenarioError(errors.SCENARIO_HEADER_PATH.format(value=name))
            scenario = state.scenarios.named(name)
        except ScenarioError as exc:
            raise errors.detail(400, errors.SCENARIO_HEADER_UNKNOWN.format(problem=exc)) from None
    g.scenario_name = scenario.name
    ctx = Context(state)
    g.task_overrides = ctx.task
    g.read_choices = ctx.reads
    return scenario.apply(ctx, request.method, request.path)
