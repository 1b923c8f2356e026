"""The app factory: one Flask app per emulator instance, its state in app.extensions."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Rule

from mock_api.config import MockConfig
from mock_api.http.faults import FaultMiddleware
from mock_api.http.lane import LANE_KEY, InlineLane, LaneFirst
from mock_api.http.observer import observe
from mock_api.http.pipeline import begin
from mock_api.http.sessions import SessionRouting
from mock_api.http.views import auth, contract, control, dashboard, evidence, petitions, scenario, sessions, tasks
from mock_api.http.views.common import flask_plain_request, json_response, mock_state
from mock_api.http.wire import ApiRequest, StandardReasonPhrases
from mock_api.service import errors
from mock_api.sessions import Sessions
from mock_api.state import MockState

log = logging.getLogger("mock_api")


class LazyBuilderRule(Rule):
    """A route whose two URL builders (url_for's: each an `ast` tree compiled to code) are made when first used.

    werkzeug makes them as each rule is added: 5 ms of every start for 29 routes, and the emulator builds
    no URL. Should werkzeug stop calling _compile_builder, the builders are simply made eagerly again."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        def build(rule: Rule, /, **values: Any) -> tuple[str, str]:
            made = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, "_build_unknown" if append_unknown else "_build", made)  # two threads: same code
            return made(**values)  # type: ignore[no-any-return]
        return build


def create_app(config: MockConfig | None = None, state: MockState | None = None) -> Flask:
    """A ready app; pass `state` to share one loaded snapshot between apps (tests, benchmarks)."""
    config = config or (state.config if state else MockConfig())
    app = Flask("mock_api")
    app.url_rule_class = LazyBuilderRule
    app.request_class = ApiRequest  # a repeated query parameter means its last value, as on the real stack
    app.json.sort_keys = False  # type: ignore[attr-defined]  # field order is part of the contract
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    # Flask would answer OPTIONS itself with an empty text/html 200; the API answers JSON, so OPTIONS
    # is a wrong method like any other (405 {"detail": ...}). No CORS: consumers are servers.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.url_map.strict_slashes = False  # the seed's sample calls /api/academic/petitions/?netid=...
    # Merging "//" answers a 308 HTML redirect that Flask lets past every error handler: a JSON API
    # must not redirect, so a doubled slash is just a path that matches nothing (404 JSON).
    app.url_map.merge_slashes = False
    app.extensions["mock_api"] = state = state or MockState(config)  # the session `default`
    for module in (auth, petitions, tasks):
        app.register_blueprint(module.blueprint)
    if config.control_api:
        app.register_blueprint(control.blueprint)
        app.register_blueprint(sessions.blueprint)
        app.register_blueprint(evidence.blueprint)
        app.register_blueprint(dashboard.blueprint)
    contract.install(app, config.control_api)
    _install_error_handlers(app)
    app.before_request(_begin)
    app.before_request(control.require_token)  # before the scenario: a refused call changes nothing
    app.before_request(scenario.apply_scenario)  # after _begin: its answers get a request id too
    app.after_request(observe)
    wsgi = app.wsgi_app
    routing = None
    if config.control_api:  # sessions are a control lever: without the control API, one emulator
        app.extensions[sessions.EXTENSION] = registry = Sessions(state)
        wsgi = routing = SessionRouting(wsgi, registry)
    # Outside Flask, so that a fault breaks the connection after Flask has answered.
    wsgi = FaultMiddleware(StandardReasonPhrases(wsgi))
    if config.inline_lane:  # the server asks the lane itself (LANE_KEY); LaneFirst serves WSGI servers and tests
        app.extensions[LANE_KEY] = lane = InlineLane(state, routing)
        wsgi = LaneFirst(wsgi, lane)
    app.wsgi_app = wsgi  # type: ignore[method-assign]
    return app


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


def _begin() -> None:
    started = time.perf_counter()
    state = mock_state()
    g.call = begin(state, flask_plain_request(state), started)
    # Every endpoint, not only those that read a body: the limit is one documented rule (fidelity.md).
    # A body without Content-Length (chunked) is cut by MAX_CONTENT_LENGTH when it is read.
    if (request.content_length or 0) > state.config.max_body_bytes:
        raise RequestEntityTooLarge()
