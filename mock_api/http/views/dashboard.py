"""The dashboard: GET /_mock/ serves one HTML page whose script reads and steers the control API."""
from __future__ import annotations

import functools
from pathlib import Path

from flask import Blueprint, Response, render_template

from mock_api.config import VERSION
from mock_api.http.paths import CONTROL_PREFIX as PREFIX
from mock_api.http.views.common import mock_state
from mock_api.http.views.control import without_token
from mock_api.service import errors

FILES = Path(__file__).resolve().parent.parent / "dashboard"
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
# Only the page's own script and style sheet, calls to its own origin, no framing: a value that slipped
# into markup still could not run (the script renders every value as text anyway).
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SAFETY_HEADERS = {"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff",
                  "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
blueprint = Blueprint("dashboard", __name__, url_prefix=PREFIX, template_folder=str(FILES))


@blueprint.get("", strict_slashes=True)
@without_token
def to_dashboard() -> Response:
    # Relative, so that /s/{session}/_mock lands on its own page too; the page's calls are relative to /_mock/.
    return Response(status=308, headers={"Location": "_mock/"})


@blueprint.get("/", strict_slashes=True)
@without_token
def dashboard() -> Response:
    config = mock_state().config
    page = render_template("dashboard.html", version=VERSION, strict=config.strict,
                           token_required=config.control_token is not None)
    return Response(page, mimetype="text/html", headers=SAFETY_HEADERS)


@blueprint.get("/assets/<name>")
@without_token
def asset(name: str) -> Response:
    mimetype = ASSETS.get(name)
    if mimetype is None:
        raise errors.not_found()
    return Response(_read(name), mimetype=mimetype, headers=SAFETY_HEADERS)


@functools.cache
def _read(name: str) -> bytes:
    return (FILES / name).read_bytes()
