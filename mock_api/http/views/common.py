"""Helpers every view uses: the instance's state, this request's call, JSON responses, the caller's scopes."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Request, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from mock_api.http.answers import check_scopes
from mock_api.http.pipeline import Call, Parts, json_parts, reply_parts
from mock_api.http.wire import environ_headers
from mock_api.scenarios.effects import Reply
from mock_api.service.requests import MAX_JSON_DEPTH, BodyTooLarge, PlainRequest
from mock_api.state import MockState

F = TypeVar("F", bound=Callable[..., Any])
__all__ = ["MAX_JSON_DEPTH", "Call", "current_call", "json_body", "json_response", "mock_state", "requires_scopes"]


STATE_KEY = "mock_api.state"  # the request's session state, put in the environ by http.sessions.SessionRouting


def mock_state() -> MockState:
    """This request's session state; the app's own (session `default`) without session routing."""
    state = request.environ.get(STATE_KEY)
    return cast(MockState, state if state is not None else current_app.extensions["mock_api"])


def current_call() -> Call:
    return cast(Call, g.call)


def _read_body(req: Request) -> bytes | None:
    if not req.content_length and "HTTP_TRANSFER_ENCODING" not in req.environ:
        return b""  # nothing sent: skip setting up a body stream on every GET
    try:
        return req.get_data(cache=True)
    except RequestEntityTooLarge:
        return None


def flask_plain_request(state: MockState) -> PlainRequest:
    """Flask's request as plain data for the layers below: the route matched, headers, last-value query."""
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    rule = req.url_rule
    return PlainRequest(req.method, req.path, rule.rule if rule is not None else None, environ_headers(req.environ),
                        req.args, req.mimetype, lambda: _read_body(req), state.config.signing_key, state.clock)


def parts_response(answer: Parts) -> Response:
    """Plain answer parts as Flask's response: the same headers, in the same order, and bytes."""
    return Response(answer.body, answer.status, answer.headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return parts_response(json_parts(body, status, headers))


def reply_response(reply: Reply) -> Response:
    return parts_response(reply_parts(reply))


def requires_scopes(*scopes: str) -> Callable[[F], F]:
    """401 without a valid token, then 403 naming the scopes the token lacks."""
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check_scopes(current_call(), scopes)
            return view(*args, **kwargs)
        return cast(F, wrapper)
    return decorate


def json_body() -> Any:
    """The request body as JSON: 415 for another media type, 400 if it does not parse, 413 if too big."""
    try:
        return current_call().request.json()
    except BodyTooLarge:
        raise RequestEntityTooLarge() from None
