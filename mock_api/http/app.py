"""The app factory: one Flask app per emulator instance, its state in app.extensions, its requests through
one Dispatcher (the API's chain; Flask for the control API and the dashboard)."""
from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from mock_api.config import MockConfig
from mock_api.http.connection import Front
from mock_api.http.dispatch import Dispatcher, too_large
from mock_api.http.session_routing import SessionRouter
from mock_api.http.views import contract, control, dashboard, evidence, sessions
from mock_api.http.views.common import json_response, mock_state
from mock_api.http.wsgi import WsgiFront
from mock_api.service import errors
from mock_api.sessions import Sessions
from mock_api.state import MockState

log = logging.getLogger("mock_api")
FRONT_KEY = "mock_api.front"  # app.extensions: the app's Dispatcher, which mock_api's server calls


def create_app(config: MockConfig | None = None, state: MockState | None = None) -> Flask:
    """A ready app; pass `state` to share one loaded snapshot between apps (tests, benchmarks)."""
    config = config or (state.config if state else MockConfig())
    app = Flask("mock_api")
    app.json.sort_keys = False  # type: ignore[attr-defined]  # field order is part of the contract
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    # Flask would answer OPTIONS itself with an empty text/html 200; a wrong method is a 405 {"detail": ...}.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False  # a doubled slash matches nothing (404 JSON), never a 308 redirect
    app.extensions["mock_api"] = state = state or MockState(config)  # the session `default`
    router = None
    if config.control_api:
        for module in (control, sessions, dashboard, contract, evidence):
            app.register_blueprint(module.blueprint)
        app.before_request(_refuse_large_body)  # first, as mock_api's server refuses it at the head
        app.before_request(control.require_token)
        # Sessions are a control lever: without the control API, one emulator.
        app.extensions[sessions.EXTENSION] = registry = Sessions(state)
        router = SessionRouter(registry)
    app.after_request(_request_id)
    _install_error_handlers(app)
    app.extensions[FRONT_KEY] = front = Dispatcher(app.wsgi_app, state, router)
    app.wsgi_app = front  # type: ignore[method-assign]
    return app


def front_of(app: Any) -> Front:
    """What mock_api's server calls: the Dispatcher of an app made by create_app; any other WSGI app served
    whole in worker threads."""
    if isinstance(app, Front):
        return app
    front = getattr(app, "extensions", {}).get(FRONT_KEY)
    return front if front is not None else WsgiFront(app)


def _refuse_large_body() -> None:
    """The API's 413 rule on the control API too, also for a view that never reads the body (a redirect)."""
    refused = too_large(mock_state(), request.environ)
    if refused is not None:
        raise refused


def _request_id(response: Response) -> Response:
    """Every control answer carries an X-Request-ID too: a random one, so that control calls (a health probe, a
    reset) never move the seeded sequence the API's answers take their ids from."""
    response.headers["X-Request-ID"] = str(uuid.uuid4())
    return response


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(errors.ApiError)
    def api_error(exc: errors.ApiError) -> Response:
        return json_response(exc.body, exc.status, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 404:
            body: dict[str, Any] = dict(errors.NOT_FOUND)
        elif status == 405:
            body = dict(errors.METHOD_NOT_ALLOWED)
        elif isinstance(exc, RequestEntityTooLarge):
            body = {"detail": errors.BODY_TOO_LARGE.format(limit=mock_state().config.max_body_bytes)}
        else:
            body = {"detail": exc.name}
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        return json_response(body, status, headers)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return json_response({"detail": errors.INTERNAL_ERROR}, 500)
