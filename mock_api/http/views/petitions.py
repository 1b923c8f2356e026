"""The petitions resource: collection and item reads, a student's petitions, petition types, the POST."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, request

from mock_api.http import answers
from mock_api.http.pipeline import parts
from mock_api.http.views.common import current_call, json_response, mock_state, parts_response, requires_scopes
from mock_api.service import errors
from mock_api.service.query import Term, apply_terms, parse_terms
from mock_api.service.records import PETITION_TYPE_FIELDS
from mock_api.service.rendered import to_json
from mock_api.service.scopes import READ, WRITE

blueprint = Blueprint("petitions", __name__)


def _scope() -> str:
    """The found-set scope of this route and its path values (answers.collection)."""
    return f"{request.endpoint}:{sorted((request.view_args or {}).items())}:"


def petition_collection(extra_terms: Sequence[Any] = ()) -> Response:
    return parts_response(answers.petitions(mock_state(), current_call(), request.args, _scope(), extra_terms))


@blueprint.get("/api/academic/petitions")
@requires_scopes(READ)
def list_petitions() -> Response:
    return petition_collection()


# path: a decision may hold a "/", and the record id holds the decision.
@blueprint.get("/api/academic/petitions/<path:key>")
@requires_scopes(READ)
def get_petition(key: str) -> Response:
    state, call = mock_state(), current_call()
    now = state.clock.now()
    entry = state.backend.get_petition(key, now)
    if entry is None and key.endswith("/"):
        # The path converter keeps a trailing slash that the router strips on every other route; one is
        # allowed (fidelity.md), and "{id}//" still finds nothing.
        key = key[:-1]
        entry = state.backend.get_petition(key, now)
    # A key other than the record's id is the Mongo id of a task's path: resolving it is our lenient choice.
    if entry is None or (entry.record["id"] != key and not answers.lenient(call, "by_mongo_id")):
        raise errors.not_found()
    return parts_response(parts(answers.render_petition(call, state.backend, entry, now) + b"\n"))


@blueprint.get("/api/students/<netid>/petitions")
@requires_scopes(READ)
def student_petitions(netid: str) -> Response:
    if mock_state().backend.student(netid) is None:
        raise errors.not_found()  # our choice for an unknown student, see docs/fidelity.md
    return petition_collection([Term("netid", "eq", netid)])


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
