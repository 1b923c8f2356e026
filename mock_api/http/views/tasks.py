"""GET /api/tasks/{id}: the requester polls its own task; any valid token, no scope needed."""
from __future__ import annotations

from flask import Blueprint, Response

from mock_api.http import answers
from mock_api.http.views.common import current_call, mock_state, parts_response

blueprint = Blueprint("tasks", __name__)


@blueprint.get("/api/tasks/<task_id>")
def get_task(task_id: str) -> Response:
    return parts_response(answers.task(mock_state(), current_call(), task_id))
