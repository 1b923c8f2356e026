"""The API routes' answers as plain parts, with no web framework: the Flask views and the inline lane call these."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mock_api.http.pipeline import Call, Parts, json_text, parts
from mock_api.scenarios.effects import READ_CHOICES
from mock_api.service import errors
from mock_api.service.backend import Backend
from mock_api.service.clock import iso_z
from mock_api.service.query import Term, parse_page, parse_terms
from mock_api.service.records import PETITION_FIELDS, StoredPetition
from mock_api.service.rendered import json_array
from mock_api.service.requests import BodyTooLarge
from mock_api.service.scopes import READ
from mock_api.service.tokens import token_scopes
from mock_api.state import MockState

OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")  # what bson's ObjectId.is_valid takes as text, without importing bson
# The found-set scope of the collection routes, "{endpoint}:{sorted view args}:", as the Flask views name them:
# a continuation key made by one path pages on the other.
LIST_PETITIONS_SCOPE = "petitions.list_petitions:[]:"
ACCEPTED_BODY = json_text({"status": "accepted"})  # the POST's answer, the same bytes every time


def check_scopes(call: Call, scopes: tuple[str, ...]) -> None:
    """401 without a valid token, then 403 naming the scopes the token lacks."""
    missing = [s for s in scopes if s not in token_scopes(call.request.claims())]
    if missing:
        raise errors.forbidden(missing)


def lenient(call: Call, choice: str) -> bool:
    """Whether this request keeps a lenient read choice (READ_CHOICES) that the scenario may turn off."""
    assert choice in READ_CHOICES
    return call.decision.reads.get(choice, True)


def render_petition(call: Call, backend: Backend, entry: StoredPetition, now: float) -> bytes:
    """The record's JSON; one served before the refresh the real API promises is noted for strict mode."""
    if entry.promised_from > now:
        call.unpromised.append((entry.record["id"], iso_z(entry.promised_from)))
    return backend.render_json(entry, now)


def collection(state: MockState, call: Call, args: Mapping[str, str], scope: str,
               find: Callable[[], Sequence[Any]], render: Callable[[Any], bytes]) -> Parts:
    """One page of a found set; a first call stores the set under its X-Request-ID for later pages.

    `scope` names the route and its path values: a key is good only on the collection that made it, since
    another route (or another student's) would be served records that are not its own."""
    backend, now = state.backend, state.clock.now()
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
    total = str(len(found))
    # X-Total-Count is observed in two live clients (docs/fidelity.md), so no scenario turns it off;
    # X-Count, seen in one commented-out block only, is the lenient choice `pessimistic` drops.
    extra = {"X-Count": total, "X-Total-Count": total} if lenient(call, "count_header") else {"X-Total-Count": total}
    return parts(json_array([render(item) for item in page.cut(found)]), 200, extra)


def petitions(state: MockState, call: Call, args: Mapping[str, str], scope: str,
              extra_terms: Sequence[Term] = ()) -> Parts:
    """A page of petitions matching the query's filters (and a route's own, like the student's netid)."""
    now = state.clock.now()
    terms = [*extra_terms, *parse_terms(args, PETITION_FIELDS)]
    backend = state.backend
    return collection(state, call, args, scope, lambda: backend.find_petitions(terms, now),
                      lambda entry: render_petition(call, backend, entry, now))


def student_petitions(state: MockState, call: Call, args: Mapping[str, str], netid: str) -> Parts:
    """A student's petitions; an unknown student is a 404 (our choice, see docs/fidelity.md)."""
    check_scopes(call, (READ,))
    if state.backend.student(netid) is None:
        raise errors.not_found()
    return petitions(state, call, args, student_scope(netid), [Term("netid", "eq", netid)])


def student_scope(netid: str) -> str:
    return f"petitions.student_petitions:{[('netid', netid)]}:"


def petition(state: MockState, call: Call, key: str) -> Parts:
    """One petition by its id (or, our lenient choice, by the Mongo id of a task's path)."""
    check_scopes(call, (READ,))
    now = state.clock.now()
    entry = state.backend.get_petition(key, now)
    if entry is None and key.endswith("/"):
        # The path converter keeps a trailing slash that the router strips on every other route; one is
        # allowed (fidelity.md), and "{id}//" still finds nothing.
        key = key[:-1]
        entry = state.backend.get_petition(key, now)
    if entry is None or (entry.record["id"] != key and not lenient(call, "by_mongo_id")):
        raise errors.not_found()
    return parts(render_petition(call, state.backend, entry, now) + b"\n")


def task(state: MockState, call: Call, task_id: str) -> Parts:
    """The requester's own task; any valid token, no scope needed."""
    claims = call.request.claims()
    if not OBJECT_ID.fullmatch(task_id):
        raise errors.not_found()
    found = state.backend.task_json(task_id, state.clock.now())
    # "self" release: another account's task is answered as if it did not exist (our choice).
    if found is None or found[0] != claims["sub"]:
        raise errors.not_found()
    return parts(found[1] + b"\n")


def create_petition(state: MockState, call: Call, script_root: str) -> Parts:
    """The POST: 202 and the task's Location; the task validates and writes later (the real service's way)."""
    try:
        body = call.request.json()
    except BodyTooLarge:
        raise errors.detail(413, errors.BODY_TOO_LARGE.format(limit=state.config.max_body_bytes)) from None
    # The scenario's task overrides, decided before the view and read here once, explicitly.
    task_id = state.backend.submit(body, call.request.claims(), state.task_behaviour(**call.decision.task),
                                   len(call.request.body() or b""), call.decision.task_id)
    return parts(ACCEPTED_BODY, 202, {"Location": f"{script_root}/api/tasks/{task_id}"})
