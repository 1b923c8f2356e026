"""The inline lane: the hot routes (petition reads, task polls, the POST) answered without Flask's dispatch, same bytes.

The server calls it in its event loop; anything it does not take (another route, HEAD, a scenario that
may sleep, an X-Mock-Scenario override, a body over the limit, a refused session) it returns None for, and
Flask answers. Each step is http/pipeline's and http/answers', which the Flask hooks and views run too.
"""
from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.http import parse_options_header, remove_entity_headers

from mock_api.http import answers
from mock_api.http.answer import TRIED_KEY, Answer
from mock_api.http.faults import deliver_fault
from mock_api.http.pipeline import (
    Call,
    Headers,
    Parts,
    begin,
    decide,
    error_parts,
    json_parts,
    observe,
    reply_parts,
    with_headers,
)
from mock_api.http.sessions import HEADER_KEY, PREFIX, SessionRouting
from mock_api.http.views.common import STATE_KEY
from mock_api.http.wire import LastValueArgs, environ_headers, status_line
from mock_api.service import errors
from mock_api.service.requests import PlainRequest
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState

log = logging.getLogger("mock_api")
LANE_KEY = "mock_api.lane"  # the app's lane, in app.extensions, for the server
PETITIONS = "/api/academic/petitions"
TASKS = "/api/tasks/"
Handler = Callable[[MockState, Call, "LaneRequest"], Parts]
# Query strings kept parsed: at most this many, of at most this many characters (~1 MiB in all).
QUERY_MEMO_ENTRIES = 256
QUERY_MEMO_CHARS = 2048


def _list(state: MockState, call: Call, req: LaneRequest) -> Parts:
    answers.check_scopes(call, (READ,))
    return answers.petitions(state, call, req.args, answers.LIST_PETITIONS_SCOPE)


def _create(state: MockState, call: Call, req: LaneRequest) -> Parts:
    answers.check_scopes(call, (WRITE,))
    return answers.create_petition(state, call, req.script_root)


def _task(state: MockState, call: Call, req: LaneRequest) -> Parts:
    return answers.task(state, call, req.path[len(TASKS):])


def _petition(state: MockState, call: Call, req: LaneRequest) -> Parts:
    return answers.petition(state, call, req.path[len(PETITIONS) + 1:])


def _student(state: MockState, call: Call, req: LaneRequest) -> Parts:
    return answers.student_petitions(state, call, req.args, req.path[len(STUDENTS):-len(PETITIONS_TAIL)])


# Paths the lane takes: plain segments only; an empty segment, a trailing slash or a non-ASCII byte goes to
# Flask, whose router decides what they mean.
_SEGMENTS = re.compile(r"[!-.0-~]+(?:/[!-.0-~]+)*")  # printable ASCII but "/", joined by single slashes
STUDENTS, PETITIONS_TAIL = "/api/students/", "/petitions"


def _route(method: str, path: str) -> tuple[str, Handler] | None:
    """The Flask rule and the handler of a hot route, matched exactly."""
    if path == PETITIONS:
        return (PETITIONS, _list) if method == "GET" else (PETITIONS, _create)
    if method != "GET":
        return None
    if path.startswith(TASKS) and _SEGMENTS.fullmatch(rest := path[len(TASKS):]) and "/" not in rest:
        return "/api/tasks/<task_id>", _task
    if path.startswith(PETITIONS + "/") and _SEGMENTS.fullmatch(path[len(PETITIONS) + 1:]):
        return "/api/academic/petitions/<path:key>", _petition
    if path.startswith(STUDENTS) and path.endswith(PETITIONS_TAIL):
        netid = path[len(STUDENTS):-len(PETITIONS_TAIL)]
        if _SEGMENTS.fullmatch(netid) and "/" not in netid:
            return "/api/students/<netid>/petitions", _student
    return None


def _length_within(value: str | None, limit: int) -> bool:
    """A Content-Length the lane takes: none, or a whole number up to the limit (Flask answers the rest)."""
    if not value:
        return True
    # ASCII digits only: str.isdigit takes "²" (a latin-1 byte a client can send), which int() refuses
    return value.isascii() and value.isdigit() and int(value) <= limit


class LaneRequest:
    """What the lane reads of a request, straight from the environ, parsed as werkzeug's Request parses it
    (its query parser and arguments, its header list as environ_headers gives it, its options-header parser)
    but with no Request object: building one, and the environ-request reference cycle it leaves for the GC,
    cost ~10 µs a request."""

    __slots__ = ("args", "environ", "method", "path", "query_lists", "script_root")

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ, self.method = environ, environ["REQUEST_METHOD"]
        self.path = environ["PATH_INFO"]  # printable ASCII (_route): werkzeug's decoding leaves it as it is
        self.script_root = environ.get("SCRIPT_NAME", "").rstrip("/")  # "/s/{name}": an ASCII session name
        query = environ.get("QUERY_STRING", "")
        self.args, self.query_lists = _parsed_query(query) if len(query) <= QUERY_MEMO_CHARS else _parse(query)

    def plain(self, state: MockState, rule: str) -> PlainRequest:
        environ = self.environ
        media_type = parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower()
        return PlainRequest(self.method, self.path, rule, environ_headers(environ), self.args, media_type,
                            self._body, state.config.signing_key, state.clock)

    def _body(self) -> bytes:
        length = int(self.environ.get("CONTENT_LENGTH") or 0)  # digits, within the limit (_length_within)
        return self.environ["wsgi.input"].read(length) if length else b""


def _parse(query: str) -> tuple[LastValueArgs, dict[str, list[str]]]:
    """The query's arguments (werkzeug's parser) and every value of each, as the journal keeps them."""
    args = LastValueArgs(parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"))
    return args, args.to_dict(flat=False) if args else {}


@functools.lru_cache(maxsize=QUERY_MEMO_ENTRIES)
def _parsed_query(query: str) -> tuple[LastValueArgs, dict[str, list[str]]]:
    """_parse, memoised: a client repeats its queries. Both are only read (the arguments are immutable)."""
    return _parse(query)


class InlineLane:
    """Callable by the server with a WSGI environ: an Answer, or None for Flask to answer."""

    def __init__(self, state: MockState, sessions: SessionRouting | None) -> None:
        self.state, self.sessions = state, sessions

    def _state(self, environ: dict[str, Any]) -> MockState | None:
        if STATE_KEY in environ:
            return environ[STATE_KEY]  # type: ignore[no-any-return]
        if self.sessions is None or not (environ.get("PATH_INFO", "").startswith(PREFIX) or HEADER_KEY in environ):
            return self.state
        return None if self.sessions.route(environ) is not None else environ[STATE_KEY]  # refused: Flask says why

    def __call__(self, environ: dict[str, Any]) -> Answer | None:
        if environ.get("REQUEST_METHOD") not in ("GET", "POST") or "HTTP_X_MOCK_SCENARIO" in environ \
                or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        state = self._state(environ)
        if state is None:
            return None
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        route = _route(method, path)
        # A query that is not ASCII holds raw bytes werkzeug may refuse to decode: Flask answers it.
        if route is None or state.scenario.may_wait(method, path) or not environ.get("QUERY_STRING", "").isascii() \
                or not _length_within(environ.get("CONTENT_LENGTH"), state.config.max_body_bytes):
            return None
        return self._answer(state, LaneRequest(environ), *route)

    def _answer(self, state: MockState, req: LaneRequest, rule: str, handler: Handler) -> Answer:
        call = begin(state, req.plain(state, rule), time.perf_counter())
        fault = None
        try:
            decision = decide(state, call, state.scenario)
            fault = decision.fault
            answer = reply_parts(decision.reply) if decision.reply is not None else handler(state, call, req)
        except errors.ApiError as exc:
            answer = error_parts(exc)
        except Exception:
            log.exception("unexpected error on %s %s", req.method, req.path)
            answer = json_parts({"detail": errors.INTERNAL_ERROR}, 500)
        # Replaced where it stands, as Flask's `response.headers[...] =` does to a scenario's own X-Request-ID
        with_headers(answer.headers, {"X-Request-ID": call.request_id})
        observe(state, call, answer, fault, req.query_lists)
        return Answer(answer.status, *_as_sent(answer.status, answer.headers, answer.body), fault)


def _as_sent(status: int, headers: Headers, body: bytes) -> tuple[Headers, bytes]:
    """What werkzeug sends of an answer (Response.get_wsgi_headers, get_app_iter): a 1xx or 204 without
    Content-Length, a 304 without its entity headers (Content-Type...), and none of them with a body.
    A scenario may `respond` with any of them; the journal keeps the body as Flask's after_request sees it."""
    if 100 <= status < 200 or status == 204:
        return [(k, v) for k, v in headers if k.lower() != "content-length"], b""
    if status == 304:
        kept = list(headers)
        remove_entity_headers(kept)
        return kept, b""
    return headers, body


class LaneFirst:
    """WSGI middleware: the lane first, then the app; so every WSGI server (and the test clients) serve the
    hot routes the way the CLI's server does."""

    def __init__(self, app: Any, lane: InlineLane) -> None:
        self.app, self.lane = app, lane

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        answer = None if environ.get(TRIED_KEY) else self.lane(environ)
        if answer is None:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        status = status_line(answer.status)
        if answer.fault is not None:
            return deliver_fault(environ, answer.fault, status, answer.headers, answer.body, start_response)
        start_response(status, answer.headers)
        return [answer.body]
