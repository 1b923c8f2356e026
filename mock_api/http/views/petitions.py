"""The petitions resource: collection and item reads, a student's petitions, petition types, the POST."""
from __future__ import annotations

from flask import Blueprint, Response, request

from mock_api.http import answers
from mock_api.http.views.common import current_call, json_response, mock_state, parts_response, requires_scopes
from mock_api.service import errors
from mock_api.service.query import apply_terms, parse_terms
from mock_api.service.records import PETITION_TYPE_FIELDS
from mock_api.service.rendered import to_json
from mock_api.service.scopes import READ, WRITE

blueprint = Blueprint("petitions", __name__)


def _scope() -> str:
    """The found-set scope of this route and its path values (answers.collection)."""
    return f"{request.endpoint}:{sorted((request.view_args or {}).items())}:"


@blueprint.get("/api/academic/petitions")
@requires_scopes(READ)
def list_petitions() -> Response:
    return parts_response(answers.petitions(mock_state(), current_call(), request.args,
                                            answers.LIST_PETITIONS_SCOPE))


# path: a decision may hold a "/", and the record id holds the decision.
@blueprint.get("/api/academic/petitions/<path:key>")
def get_petition(key: str) -> Response:
    return parts_response(answers.petition(mock_state(), current_call(), key))


@blueprint.get("/api/students/<netid>/petitions")
def student_petitions(netid: str) -> Response:
    return parts_response(answers.student_petitions(mock_state(), current_call(), request.args, netid))


@blueprint.get("/api/petition_types")
@requires_scopes(READ)
def list_petition_types() -> Response:
    types = mock_state().dataset.petition_types
    terms = parse_terms(request.args, PETITION_TYPE_FIELDS)
    return parts_response(answers.collection(mock_state(), current_call(), request.args, _scope(),
                                             lambda: apply_terms(types, terms, lambda r, f: r.get(f)), to_json))


@blueprint.get("/api/petition_types/<code>")
@requires_scopes(READ)
def get_petition_type(code: str) -> Response:
    for record in mock_state().dataset.petition_types:
        if record["id"] == code:
            return json_response(record)
    raise errors.not_found()


@blueprint.post("/api/academic/petitions")
@requires_scopes(WRITE)
def create_petition() -> Response:
    return parts_response(answers.create_petition(mock_state(), current_call(), request.script_root))
