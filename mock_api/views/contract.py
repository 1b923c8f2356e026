"""The contract's HTTP side: the OpenAPI document at /openapi.json."""
from __future__ import annotations

from flask import Blueprint, Flask, Response

from mock_api.spec import load_spec
from mock_api.views.common import json_response

blueprint = Blueprint("contract", __name__)


@blueprint.get("/openapi.json")
def openapi_document() -> Response:
    return json_response(load_spec())


def install(app: Flask) -> None:
    """Register the contract routes on an app."""
    app.register_blueprint(blueprint)
