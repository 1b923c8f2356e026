"""GET /api/tasks/{id}: the requester polls its own task; any valid token, no scope needed."""
from __future__ import annotations

from flask import Blueprint, Response

from mock_api.http.views.common import current_call, json_response, mock_state
from mock_api.service import errors

blueprint = Blueprint("tasks", __name__)


@blueprint.get("/api/tasks/<task_id>")
def get_task(task_id: str) -> Response:
    from bson import ObjectId  # here: bson is not needed to start (mock_api/service/ids.py)

    state = mock_state()
    claims = current_call().request.claims()
    if not ObjectId.is_valid(task_id) or len(task_id) != 24:
        raise errors.not_found()
    task = state.backend.task(task_id, state.clock.now())
    # "self" release: another account's task is answered as if it did not exist (our choice).
    if task is None or task["requester"].get("sub") != claims["sub"]:
        raise errors.not_found()
    return json_response(task)
