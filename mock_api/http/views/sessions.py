"""GET /_mock/sessions and DELETE /_mock/sessions/{name}: the server's sessions, whichever session asks."""
from __future__ import annotations

from typing import cast

from flask import Blueprint, Response, current_app

from mock_api.http.paths import CONTROL_PREFIX as PREFIX
from mock_api.http.views.common import json_response
from mock_api.service import errors
from mock_api.sessions import SessionError, Sessions

EXTENSION = "mock_api_sessions"  # app.extensions key of the Sessions registry
blueprint = Blueprint("sessions", __name__, url_prefix=PREFIX)


def registry() -> Sessions:
    return cast(Sessions, current_app.extensions[EXTENSION])


@blueprint.get("/sessions")
def list_sessions() -> Response:
    return json_response(registry().listing())


@blueprint.delete("/sessions/<name>")
def end_session(name: str) -> Response:
    try:
        registry().end(name)
    except SessionError as exc:
        raise errors.detail(exc.status, exc.detail) from None
    return json_response({"status": "ended", "name": name})
