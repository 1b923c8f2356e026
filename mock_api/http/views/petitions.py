"""The petitions resource: collection and item reads, a student's petitions, petition types, the POST."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import Blueprint, Response, request

from mock_api.http.views.common import (
    current_call,
    json_body,
    json_bytes_response,
    json_response,
    mock_state,
    requires_scopes,
)
from mock_api.scenarios.effects import READ_CHOICES
from mock_api.service import errors
from mock_api.service.backend import Backend
from mock_api.service.clock import iso_z
from mock_api.service.query import Term, apply_terms, parse_page, parse_terms
from mock_api.service.records import PETITION_FIELDS, PETITION_TYPE_FIELDS, StoredPetition
from mock_api.service.rendered import json_array, to_json
from mock_api.service.scopes import READ, WRITE

blueprint = Blueprint("petitions", __name__)


def lenient(choice: str) -> bool:
    """Whether this request keeps a lenient read choice (READ_CHOICES) that the scenario may turn off."""
    assert choice in READ_CHOICES
    return current_call().decision.reads.get(choice, True)


def render_petition(backend: Backend, entry: StoredPetition, now: float) -> bytes:
    """The record's JSON; one served before the refresh the real API promises is noted for strict mode."""
    if entry.promised_from > now:
        current_call().unpromised.append((entry.record["id"], iso_z(entry.promised_from)))
    return backend.render_json(entry, now)


def collection(find: Callable[[], Sequence[Any]], render: Callable[[Any], bytes]) -> Response:
    """One page of a found set; a first call stores the set under its X-Request-ID for later pages."""
    state = mock_state()
    backend, now = state.backend, state.clock.now()
    # A key is good only on the collection that made it: another route (or another student's) would be
    # served records that are not its own.
    scope = f"{request.endpoint}:{sorted((request.view_args or {}).items())}:"
    key = request.args.get("continuation_key")
    call = current_call()
    if key:
        found = backend.found_sets.get(scope + key, now)
        if found is None:
            raise errors.detail(400, errors.BAD_CONTINUATION_KEY)
        # A page of the found set answers with the set's id: a client that re-reads X-Request-ID from each
        # page and passes it on (observed, an iPaaS client) pages the same set as one that keeps the first.
        call.request_id = key
    else:
        found = find()
        backend.found_sets.put(scope + call.request_id, now, found)
    page = parse_page(request.args, state.config.default_pagesize, state.config.max_pagesize)
    headers = {"X-Count": str(len(found))} if lenient("count_header") else {}
    return json_bytes_response(json_array([render(item) for item in page.cut(found)]), headers)


def petition_collection(extra_terms: Sequence[Any] = ()) -> Response:
    state = mock_state()
    now = state.clock.now()
    terms = [*extra_terms, *parse_terms(request.args, PETITION_FIELDS)]
    backend = state.backend
    return collection(lambda: backend.find_petitions(terms, now), lambda entry: render_petition(backend, entry, now))


@blueprint.get("/api/academic/petitions")
@requires_scopes(READ)
def list_petitions() -> Response:
    return petition_collection()


# path: a decision may hold a "/", and the record id holds the decision.
@blueprint.get("/api/academic/petitions/<path:key>")
@requires_scopes(READ)
def get_petition(key: str) -> Response:
    state = mock_state()
    now = state.clock.now()
    entry = state.backend.get_petition(key, now)
    if entry is None and key.endswith("/"):
        # The path converter keeps a trailing slash that the router strips on every other route; one is
        # allowed (fidelity.md), and "{id}//" still finds nothing.
        key = key[:-1]
        entry = state.backend.get_petition(key, now)
    # A key other than the record's id is the Mongo id of a task's path: resolving it is our lenient choice.
    if entry is None or (entry.record["id"] != key and not lenient("by_mongo_id")):
        raise errors.not_found()
    return json_bytes_response(render_petition(state.backend, entry, now) + b"\n")


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
    return collection(lambda: apply_terms(types, terms, lambda r, f: r.get(f)), to_json)


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
    state, call = mock_state(), current_call()
    body = json_body()
    # The scenario's task overrides, decided in its before-hook and read here once, explicitly.
    task_id = state.backend.submit(body, call.request.claims(), state.task_behaviour(**call.decision.task),
                                   len(call.request.body() or b""), call.decision.task_id)
    return json_response({"status": "accepted"}, 202, {"Location": f"{request.script_root}/api/tasks/{task_id}"})
