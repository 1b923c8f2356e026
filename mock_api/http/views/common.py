"""Helpers the control API's views use: the request's session state, JSON responses, the JSON body."""
from __future__ import annotations

from typing import Any, cast

from flask import Request, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from mock_api.http.parts import Answer, json_answer
from mock_api.http.session_routing import STATE_KEY
from mock_api.service.requests import MAX_JSON_DEPTH, BodyTooLarge, PlainRequest
from mock_api.state import MockState

__all__ = ["MAX_JSON_DEPTH", "answer_response", "json_body", "json_response", "mock_state"]


def mock_state() -> MockState:
    """This request's session state; the app's own (session `default`) without session routing."""
    state = request.environ.get(STATE_KEY)
    return cast(MockState, state if state is not None else current_app.extensions["mock_api"])


def answer_response(answer: Answer) -> Response:
    """Plain answer parts as Flask's response: the same headers, in the same order, and bytes."""
    return Response(answer.body, answer.status, answer.headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return answer_response(json_answer(body, status, headers))


def _read_body(req: Request) -> bytes | None:
    try:
        return req.get_data(cache=True)
    except RequestEntityTooLarge:
        return None


def json_body() -> Any:
    """The request body as JSON, by the API's rules: 415 for another media type, 400 if it does not parse or
    is too deep, 413 if too big."""
    state = mock_state()
    plain = PlainRequest(request.method, request.path, None, [], {}, request.mimetype, lambda: _read_body(request),
                         state.config.signing_key, state.clock)
    try:
        return plain.json()
    except BodyTooLarge:
        raise RequestEntityTooLarge() from None
