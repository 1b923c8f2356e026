"""Helpers every view uses: the instance's state, this request's call, JSON responses, the caller's scopes."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from flask import Request, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from mock_api.scenarios.catalog import Decision
from mock_api.scenarios.effects import Reply
from mock_api.service import errors
from mock_api.service.requests import MAX_JSON_DEPTH, BodyTooLarge, PlainRequest
from mock_api.service.tokens import token_scopes
from mock_api.state import MockState

F = TypeVar("F", bound=Callable[..., Any])
__all__ = ["MAX_JSON_DEPTH", "Call", "current_call", "json_body", "json_response", "mock_state", "requires_scopes"]


@dataclass
class Call:
    """This request for the hooks, the views and the observer: made by the first before-hook, on `g`."""

    request: PlainRequest
    request_id: str
    started: float
    scenario: str | None = None  # the scenario applied to it; None when refused before the scenario hook
    decision: Decision = field(default_factory=Decision)  # what the scenario decided (task, reads, fault)
    unpromised: list[tuple[str, str]] = field(default_factory=list)  # reads served before their refresh


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


def plain_request(req: Request, state: MockState) -> PlainRequest:
    """The request as plain data for the layers below: the route Flask matched, headers, last-value query."""
    rule = req.url_rule
    return PlainRequest(req.method, req.path, rule.rule if rule is not None else None, list(req.headers.items()),
                        req.args, req.mimetype, lambda: _read_body(req), state.config.signing_key, state.clock)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = cast(Response, current_app.json.response(body))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def json_bytes_response(body: bytes, headers: dict[str, str] | None = None) -> Response:
    """A 200 of JSON already encoded (records rendered once per cache refresh, service/rendered.py)."""
    return Response(body, 200, headers, mimetype="application/json")


def reply_response(reply: Reply) -> Response:
    """A scenario's plain reply as a response: text as text/plain, bytes as they are, anything else as JSON."""
    if isinstance(reply.body, (str, bytes)):
        response = Response(reply.body, reply.status, mimetype="text/plain" if isinstance(reply.body, str) else None)
        response.headers.update(reply.headers)
        return response
    return json_response(reply.body, reply.status, dict(reply.headers))


def requires_scopes(*scopes: str) -> Callable[[F], F]:
    """401 without a valid token, then 403 naming the scopes the token lacks."""
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            claims = current_call().request.claims()
            missing = [s for s in scopes if s not in token_scopes(claims)]
            if missing:
                raise errors.forbidden(missing)
            return view(*args, **kwargs)
        return cast(F, wrapper)
    return decorate


def json_body() -> Any:
    """The request body as JSON: 415 for another media type, 400 if it does not parse, 413 if too big."""
    try:
        return current_call().request.json()
    except BodyTooLarge:
        raise RequestEntityTooLarge() from None
