"""The API routes' handlers: plain functions of the state, the call and the path's values, returning an Answer."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mock_api.contract.spec import load_spec
from mock_api.http.parts import ACCEPTED_BODY, Answer, answer, json_answer
from mock_api.http.paths import is_control_path
from mock_api.http.pipeline import Call
from mock_api.scenarios.effects import READ_CHOICES
from mock_api.service import errors
from mock_api.service.backend import Backend
from mock_api.service.clock import iso_z
from mock_api.service.query import Term, apply_terms, parse_page, parse_terms
from mock_api.service.records import PETITION_FIELDS, PETITION_TYPE_FIELDS, StoredPetition
from mock_api.service.rendered import json_array, to_json
from mock_api.service.requests import BodyTooLarge
from mock_api.service.tokens import granted_scopes, issue
from mock_api.state import MockState

Values = Mapping[str, str]
OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")  # a Mongo ObjectId as text


def lenient(call: Call, choice: str) -> bool:
    """Whether this request keeps a lenient read choice (READ_CHOICES) that the scenario may turn off."""
    assert choice in READ_CHOICES
    return call.decision.reads.get(choice, True)


def create_jwt(state: MockState, call: Call, values: Values) -> Answer:
    """Trade a raw API key (no "Bearer") and the requested scopes for a signed token."""
    account = state.dataset.accounts.get(call.request.authorization.strip())
    if account is None:  # an unknown or missing key is 401 (our choice, fidelity.md)
        raise errors.unauthorized()
    # Documented: space-separated; only scopes granted to the account come back, no default set.
    accepted = granted_scopes(account, call.request.query.get("scope", "").split())
    token, claims = issue(account, accepted, state.clock.now(), state.config.token_lifetime,
                          state.config.signing_key)
    return json_answer({"jwt": token, "payload": claims, "accepted_scopes": accepted})


def render_petition(call: Call, backend: Backend, entry: StoredPetition, now: float) -> bytes:
    """The record's JSON; one served before the refresh the real API promises is noted for strict mode."""
    if entry.promised_from > now:
        call.unpromised.append((entry.record["id"], iso_z(entry.promised_from)))
    return backend.render_json(entry, now)


def collection(state: MockState, call: Call, scope: str, find: Callable[[], Sequence[Any]],
               render: Callable[[Any], bytes]) -> Answer:
    """One page of a found set; a first call stores the set under its X-Request-ID for later pages.

    `scope` names the route and its path values: a key is good only on the collection that made it, since
    another route (or another student's) would be served records that are not its own."""
    args, backend, now = call.request.query, state.backend, state.clock.now()
    key = args.get("continuation_key")
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
    page = parse_page(args, state.config.default_pagesize, state.config.max_pagesize)
    extra = {"X-Count": str(len(found))} if lenient(call, "count_header") else None
    return answer(json_array([render(item) for item in page.cut(found)]), 200, extra)


def _petitions(state: MockState, call: Call, scope: str, extra_terms: Sequence[Term] = ()) -> Answer:
    """A page of petitions matching the query's filters (and a route's own, like the student's netid)."""
    now = state.clock.now()
    terms = [*extra_terms, *parse_terms(call.request.query, PETITION_FIELDS)]
    backend = state.backend
    return collection(state, call, scope, lambda: backend.find_petitions(terms, now),
                      lambda entry: render_petition(call, backend, entry, now))


def list_petitions(state: MockState, call: Call, values: Values) -> Answer:
    return _petitions(state, call, "petitions:")


def student_petitions(state: MockState, call: Call, values: Values) -> Answer:
    """A student's petitions; an unknown student is a 404 (our choice, see docs/fidelity.md)."""
    netid = values["netid"]
    if state.backend.student(netid) is None:
        raise errors.not_found()
    return _petitions(state, call, f"student:{netid}:", [Term("netid", "eq", netid)])


def get_petition(state: MockState, call: Call, values: Values) -> Answer:
    """One petition by its id (or, our lenient choice, by the Mongo id of a task's path)."""
    key, now = values["key"], state.clock.now()
    entry = state.backend.get_petition(key, now)
    if entry is None and key.endswith("/"):
        # The path converter keeps a trailing slash that the router strips on every other route; one is
        # allowed (fidelity.md), and "{id}//" still finds nothing.
        key = key[:-1]
        entry = state.backend.get_petition(key, now)
    if entry is None or (entry.record["id"] != key and not lenient(call, "by_mongo_id")):
        raise errors.not_found()
    return answer(render_petition(call, state.backend, entry, now))


def list_petition_types(state: MockState, call: Call, values: Values) -> Answer:
    types = state.dataset.petition_types
    terms = parse_terms(call.request.query, PETITION_TYPE_FIELDS)
    return collection(state, call, "petition_types:", lambda: apply_terms(types, terms, lambda r, f: r.get(f)),
                      to_json)


def get_petition_type(state: MockState, call: Call, values: Values) -> Answer:
    for record in state.dataset.petition_types:
        if record["id"] == values["code"]:
            return json_answer(record)
    raise errors.not_found()


def get_task(state: MockState, call: Call, values: Values) -> Answer:
    """The requester's own task ("self" release: another account's task is answered as if it did not exist)."""
    task_id, claims = values["task_id"], call.request.claims()
    found = state.backend.task_json(task_id, state.clock.now()) if OBJECT_ID.fullmatch(task_id) else None
    if found is None or found[0] != claims["sub"]:
        raise errors.not_found()
    return answer(found[1])


def create_petition(state: MockState, call: Call, values: Values) -> Answer:
    """The POST: 202 and the task's Location; the task validates and writes later (the real service's way)."""
    try:
        body = call.request.json()
    except BodyTooLarge:
        raise errors.detail(413, errors.BODY_TOO_LARGE.format(limit=state.config.max_body_bytes)) from None
    task_id = state.backend.submit(body, call.request.claims(), state.task_behaviour(**call.decision.task),
                                   len(call.request.body() or b""), call.decision.task_id)
    return answer(ACCEPTED_BODY, 202, {"Location": f"{call.script_root}/api/tasks/{task_id}"})


def openapi_document(state: MockState, call: Call, values: Values) -> Answer:
    """openapi.yaml as this instance serves it: without /_mock when the control API is off; a session's
    prefix as its first server, so that a generated client stays in the session."""
    document = load_spec()
    if not state.config.control_api:
        document = {**document, "paths": {p: i for p, i in document["paths"].items() if not is_control_path(p)}}
    if call.script_root:
        session_server = {"url": call.script_root, "description": "this mock_api session"}
        document = {**document, "servers": [session_server, *document.get("servers", [])]}
    return json_answer(document)
