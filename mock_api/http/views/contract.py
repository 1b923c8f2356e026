"""The contract's control views: /_mock/violations and /_mock/coverage (strict mode's findings, coverage)."""
from __future__ import annotations

from flask import Blueprint, Response

from mock_api.http.paths import CONTROL_PREFIX
from mock_api.http.views.common import json_response, mock_state

blueprint = Blueprint("contract", __name__, url_prefix=CONTROL_PREFIX)


@blueprint.get("/violations")
def violations() -> Response:
    found = mock_state().violations
    # How many new violations were not kept (past MockConfig.violations_limit).
    return json_response(found.entries(), headers={"X-Violations-Dropped": str(found.dropped)})


@blueprint.get("/coverage")
def coverage() -> Response:
    return json_response(mock_state().coverage.report())


@blueprint.post("/coverage/reset")
def reset_coverage() -> Response:
    state = mock_state()
    state.coverage.clear()
    return json_response(state.coverage.report())
