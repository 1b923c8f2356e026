"""POST /api/jwt: trade a raw API key and requested scopes for a signed token."""
from __future__ import annotations

from flask import Blueprint, Response, request

from mock_api.http.views.common import json_response, mock_state
from mock_api.service import errors
from mock_api.service.tokens import granted_scopes, issue

blueprint = Blueprint("auth", __name__)


@blueprint.post("/api/jwt")
def create_jwt() -> Response:
    state = mock_state()
    # Documented: the raw key, no "Bearer". An unknown or missing key is 401 (our choice, fidelity.md).
    account = state.dataset.accounts.get(request.headers.get("Authorization", "").strip())
    if account is None:
        raise errors.unauthorized()
    # Documented: space-separated; only scopes granted to the account come back, no default set.
    accepted = granted_scopes(account, request.args.get("scope", "").split())
    token, claims = issue(account, accepted, state.clock.now(), state.config.token_lifetime,
                          state.config.signing_key)
    return json_response({"jwt": token, "payload": claims, "accepted_scopes": accepted})
