"""Helpers every view uses: the instance's state, JSON responses, the caller's token and scopes."""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, current_app, g, request

from mock_api.service import errors
from mock_api.state import MockState
from mock_api.service.tokens import TokenError, token_scopes, verify

F = TypeVar("F", bound=Callable[..., Any])
# Our bound (docs/fidelity.md): a stored body is copied and echoed recursively; near Python's recursion
# limit that fails, and how near depends on the stack, so a fixed, generous depth is checked instead.
MAX_JSON_DEPTH = 64


def mock_state() -> MockState:
    return cast(MockState, current_app.extensions["mock_api"])


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = cast(Response, current_app.json.response(body))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def bearer_claims(state: MockState) -> dict[str, Any]:
    """The verified claims of `Authorization: Bearer {jwt}`; any problem is a plain 401."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.unauthorized()
    try:
        return verify(token.strip(), state.config.signing_key, state.clock.now())
    except TokenError:
        raise errors.unauthorized() from None


def requires_scopes(*scopes: str) -> Callable[[F], F]:
    """401 without a valid token, then 403 naming the scopes the token lacks."""
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            claims = bearer_claims(mock_state())
            missing = [s for s in scopes if s not in token_scopes(claims)]
            if missing:
                raise errors.forbidden(missing)
            g.claims = claims
            return view(*args, **kwargs)
        return cast(F, wrapper)
    return decorate


def _not_json(constant: str) -> Any:
    """NaN and Infinity are Python's extensions, not JSON: stored, they would be echoed as invalid JSON."""
    raise ValueError(f"{constant} is not JSON")


def json_body() -> Any:
    """The request body as JSON: 415 for another media type, 400 if it does not parse, 413 if too big."""
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise errors.detail(415, errors.CONTENT_TYPE_NOT_JSON)
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise errors.detail(400, errors.BODY_NOT_JSON) from None
    if _deeper_than(body, MAX_JSON_DEPTH):
        raise errors.detail(400, errors.BODY_TOO_DEEP.format(limit=MAX_JSON_DEPTH))
    return body


def _deeper_than(value: Any, limit: int) -> bool:
    """Iterative, so that it cannot itself recurse too deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False
