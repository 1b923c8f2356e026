"""The contract's HTTP side: /openapi.json, and the /_mock views of strict mode and coverage."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, request

from mock_api.contract.spec import load_spec
from mock_api.http.views.common import json_response, mock_state
from mock_api.http.views.control import PREFIX, is_control_path

document = Blueprint("openapi", __name__)
control = Blueprint("contract", __name__, url_prefix=PREFIX)


def published_document(control_api: bool) -> dict[str, Any]:
    """openapi.yaml as this instance serves it: without the /_mock paths when the control API is off."""
    document = load_spec()
    if control_api:
        return document
    paths = {path: item for path, item in document["paths"].items() if not is_control_path(path)}
    return {**document, "paths": paths}


@document.get("/openapi.json")
def openapi_document() -> Response:
    published = published_document(mock_state().config.control_api)
    if request.script_root:  # a session's document: its own prefix first, so a generated client stays in it
        session_server = {"url": request.script_root, "description": "this mock_api session"}
        published = {**published, "servers": [session_server, *published.get("servers", [])]}
    return json_response(published)


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


def install(app: Flask, control_api: bool) -> None:
    """Register /openapi.json and (with the control API) /_mock/violations and /coverage."""
    app.register_blueprint(document)
    if control_api:
        app.register_blueprint(control)
