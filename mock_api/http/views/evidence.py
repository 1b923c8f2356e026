"""POST /_mock/verify and GET/PUT /_mock/snapshot: requests counted; the session's state saved and put back."""
from __future__ import annotations

from flask import Blueprint, Response, request

from mock_api.checkpoint import SnapshotConflict, SnapshotError, restore, summary, take
from mock_api.http.paths import CONTROL_PREFIX as PREFIX
from mock_api.http.views.common import json_body, json_response, mock_state
from mock_api.service import errors
from mock_api.verification import COUNT_KEYS, Expectation, MatchError, check_match, verify_requests

blueprint = Blueprint("evidence", __name__, url_prefix=PREFIX)
VERIFY_KEYS = frozenset({"match", *COUNT_KEYS, "allow_dropped"})


@blueprint.post("/verify")
def verify() -> Response:
    """The journal's entries meeting a scenario-rule match, against a count; near misses when not ok."""
    body = json_body()
    if not isinstance(body, dict):
        raise errors.detail(400, errors.VERIFY_BODY.format(key="(not an object)"))
    unknown = next((key for key in body if key not in VERIFY_KEYS), None)
    if unknown is not None:
        raise errors.detail(400, errors.VERIFY_BODY.format(key=unknown))
    allow_dropped = body.get("allow_dropped", False)
    if not isinstance(allow_dropped, bool):
        raise errors.detail(400, errors.VERIFY_ALLOW_DROPPED)
    try:
        match = check_match(body.get("match"))
        expectation = Expectation.of(*(body.get(key) for key in COUNT_KEYS))
    except MatchError as exc:
        raise errors.detail(400, str(exc)) from None
    return json_response(verify_requests(mock_state(), match, expectation, allow_dropped).body())


@blueprint.get("/snapshot")
def get_snapshot() -> Response:
    """The session's whole emulated state as one mock_api.snapshot/1 document (docs/verifying.md)."""
    journal = request.args.get("journal", "true")
    if journal not in ("true", "false"):
        raise errors.detail(400, errors.SNAPSHOT_QUERY)
    return json_response(take(mock_state(), journal=journal == "true"))


@blueprint.put("/snapshot")
def put_snapshot() -> Response:
    """Put a snapshot's state in this session: 409 for other data or a newer format, 400 for a bad document."""
    state = mock_state()
    try:
        restore(state, json_body())
    except SnapshotConflict as exc:
        raise errors.detail(409, str(exc)) from None
    except SnapshotError as exc:
        raise errors.detail(400, str(exc)) from None
    return json_response(summary(state))
