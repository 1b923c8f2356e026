"""Strict mode: a consumer's contract violations, found from each request and the mock's answer."""
from __future__ import annotations

import json
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from mock_api.cliargs import OneLineParser, fail
from mock_api.contract.observation import Observation
from mock_api.contract.spec import check_request_body, operation
from mock_api.service.budget import Account, uncounted
from mock_api.service.query import dropped_parameters
from mock_api.service.records import PETITION_FIELDS, PETITION_TYPE_FIELDS
from mock_api.service.requests import parse_authorization
from mock_api.service.texts import cut_text
from mock_api.service.tokens import TokenError, token_scopes

# The record attributes each collection filters on; anything else is silently dropped (the portal's introduction).
COLLECTION_FIELDS: dict[str, Sequence[str]] = {
    "/api/academic/petitions": PETITION_FIELDS,
    "/api/students/{netid}/petitions": PETITION_FIELDS,
    "/api/petition_types": PETITION_TYPE_FIELDS,
}
JWT_PATH = "/api/jwt"
TASK_PATH = "/api/tasks/{id}"
# Tasks whose last poll time is kept for the poll-rate check; the least recently polled is forgotten first.
# A violation's path and message are cut to this (with the journal's marker): a hostile path or query
# name must not make each of the kept violations large.
VIOLATION_TEXT_CHARS = 1024
# A violation's and a polled task's bytes beside their texts (dict, key tuple, numbers), for the memory budget.
VIOLATION_BYTES, POLLED_TASK_BYTES = 600, 150
PETITION_PATH = "/api/academic/petitions/{id}"
MONGO_ID = re.compile(r"[0-9a-fA-F]{24}")
# The status each answer-borne violation explains: a test that expects that status (expect_errors) expects it.
ANSWER_KINDS = {"expired_token": 401, "scope": 403}
# Where a violation's rule is written, in words a reader can find (never an internal tag).
PAGING_SOURCE = "documented in the API portal's introduction, 'Filtering and Paging'"
POST_SOURCE = "documented on the portal's page for POST petitions, 'Academic Attendance API - POST'"


class ViolationLog:
    """Violations in the order first seen; a repeat of the same one only counts up (list-like, thread-safe).

    At most `limit` distinct violations are kept: a new one past it is only counted in `dropped`; the last
    poll time of at most `polled_limit` tasks, the least recently polled forgotten first.
    """

    def __init__(self, limit: int, polled_limit: int = 10_000, account: Account | None = None) -> None:
        self.limit, self.polled_limit = limit, polled_limit
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._last_poll: OrderedDict[str, float] = OrderedDict()
        self.dropped = 0
        self._account = account or uncounted()  # the memory budget's share of violations and poll times

    def add(self, kind: str, method: str, path: str, message: str, seq: int) -> None:
        path, message = cut_text(path, VIOLATION_TEXT_CHARS), cut_text(message, VIOLATION_TEXT_CHARS)
        with self._lock:
            key = (kind, method, path, message)
            if key in self._items:
                self._items[key]["count"] += 1
            elif len(self._items) >= self.limit:
                self.dropped += 1
            else:
                self._items[key] = {"kind": kind, "method": method, "path": path, "message": message,
                                    "count": 1, "first_seq": seq}
                self._account.charge(VIOLATION_BYTES + len(path) + len(message))

    def poll_interval(self, task_id: str, now: float) -> float | None:
        """Seconds since this task was last polled (None on the first poll); remembers this poll."""
        with self._lock:
            last = self._last_poll.pop(task_id, None)
            self._last_poll[task_id] = now
            if last is None:
                self._account.charge(POLLED_TASK_BYTES)
            if len(self._last_poll) > self.polled_limit:
                self._last_poll.popitem(last=False)
                self._account.release(POLLED_TASK_BYTES)
        return None if last is None else now - last

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(item) for item in self._items.values()]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._last_poll.clear()
            self._account.release(self._account.held)
            self.dropped = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.entries())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.entries()[index]

    def __bool__(self) -> bool:
        return len(self) > 0


def _auth_problems(ex: Observation) -> Iterator[tuple[str, str]]:
    method, template = ex.request.method, ex.template
    authorization = ex.request.authorization
    scheme, token = parse_authorization(authorization)
    if template == JWT_PATH:
        if scheme.lower() == "bearer":
            yield "auth_header", "POST /api/jwt takes the raw API key in Authorization, without 'Bearer' (documented)"
        if method == "POST" and not ex.request.query.get("scope", "").split():
            yield "no_scope_requested", ("POST /api/jwt without ?scope=: the real API grants no default scope, "
                                         "so the token can call nothing that needs one (documented)")
        return
    if authorization and scheme.lower() != "bearer":
        yield "auth_header", f"{method} {template} needs 'Authorization: Bearer {{jwt}}' (documented)"
        return
    if ex.injected:
        return  # the scenario's own 401 or 403 says nothing of the consumer's token
    if ex.status == 401 and token:
        claims = ex.request.claims_or_error()  # verified once: by the view, or here
        if isinstance(claims, TokenError) and str(claims) == "expired":
            yield "expired_token", "the token had expired (payload.exp): get a new one before exp"
    if ex.status == 403 and isinstance(ex.reply, dict):
        yield "scope", _scope_message(ex)


def _scope_message(ex: Observation) -> str:
    missing = [str(s) for s in ex.reply.get("missing_scopes", [])]
    claims = ex.request.claims_or_error()
    granted = [] if isinstance(claims, TokenError) else sorted(token_scopes(claims))
    return (f"{ex.request.method} {ex.template} needs scope {' '.join(missing)}; the token carries "
            f"{', '.join(granted) or 'no scope'}. Request it with POST /api/jwt?scope=... and check "
            "accepted_scopes before calling (documented)")


def _request_json(ex: Observation, raw: bytes) -> tuple[bool, Any]:
    """The body's JSON: the view's parse when it made one, else parsed here (leniently, as a client's)."""
    parsed = ex.request.parsed_json()
    if parsed[0]:
        return parsed
    try:
        return True, json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False, None


def _request_problems(ex: Observation) -> Iterator[tuple[str, str]]:
    method, template = ex.request.method, ex.template or ""
    fields = COLLECTION_FIELDS.get(template)
    if method == "GET" and fields is not None:
        for name in dropped_parameters(ex.request.query, fields):
            yield "dropped_filter", (f"GET {template}: '{name}' is not an attribute of the record; the real API "
                                     f"silently drops it and answers as if it were not given ({PAGING_SOURCE}). "
                                     f"Attributes: {', '.join(fields)}")
    op = operation(template, method)
    if op is None or "requestBody" not in op:
        return
    raw = ex.request.body()
    if raw is None:
        return
    mimetype = ex.request.mimetype
    if mimetype != "application/json":
        yield "content_type", (f"{method} {template} sent Content-Type '{mimetype or 'none'}'; "
                               f"it requires application/json ({POST_SOURCE})")
        return
    parsed, body = _request_json(ex, raw)
    if not parsed:
        yield "payload", f"{method} {template}: the body is not JSON"
        return
    for problem in check_request_body(template, method, body):
        yield "payload", (f"{method} {template} payload {str(problem).removeprefix('body ')} "
                          f"({POST_SOURCE}; the real API still answers 202 and the task fails later)")


def _lenient_reads(ex: Observation) -> Iterator[tuple[str, str]]:
    """Reads that only the mock's lenient default answered so; the pessimistic scenario refuses them."""
    method, template = ex.request.method, ex.template
    for record_id, promised in ex.unpromised:
        yield "read_before_refresh", (
            f"{method} {template} returned petition {record_id}, created since the last hourly cache "
            f"refresh; the real API promises it only from the next refresh ({promised}) and may leave it out of "
            "a collection, or answer 404 for it, until then (documented: 'Academic Petitions API', cache "
            "refresh interval 1 hour). Poll the collection until it appears; check with --scenario pessimistic")
    key = ex.request.path.rstrip("/").rsplit("/", 1)[-1]
    if template == PETITION_PATH and method == "GET" and ex.status == 200 and MONGO_ID.fullmatch(key):
        yield "read_by_mongo_id", (
            f"GET {template} with the Mongo id {key} from a task's path: the real API's ids are "
            "{pidm}-{petition_code}-{grade_term}-{decision} and it may answer 404 for a Mongo id (unknown). "
            "Find the new petition by its fields instead (GET /api/academic/petitions?netid=...&petition_code=...)")


def find_violations(ex: Observation, log: ViolationLog, now: float, min_poll_seconds: float) -> list[tuple[str, str]]:
    """(kind, message) for each way this observed request breaks the real API's contract."""
    found = [*_auth_problems(ex), *_request_problems(ex), *([] if ex.injected else _lenient_reads(ex))]
    if ex.template == TASK_PATH and ex.request.method == "GET" and ex.status == 200:
        task_id = ex.request.path.rstrip("/").rsplit("/", 1)[-1]
        interval = log.poll_interval(task_id, now)
        if interval is not None and interval < min_poll_seconds:
            found.append(("poll_rate", f"task {task_id} polled again within {min_poll_seconds:g} s; poll at most "
                                       f"once every {min_poll_seconds:g} s "
                                       "(our choice: the real rate is undocumented)"))
    return found


def record_violations(ex: Observation, log: ViolationLog, now: float,
                      min_poll_seconds: float) -> list[tuple[str, str]]:
    """Strict mode's look at one observed request: each violation numbered with the request's journal seq."""
    found = find_violations(ex, log, now, min_poll_seconds)
    for kind, message in found:
        log.add(kind, ex.request.method, ex.request.path, message, ex.seq)
    return found


def format_violations(violations: Sequence[Mapping[str, Any]], dropped: int = 0) -> str:
    """A readable block, one violation a line, for a failing test or a CI log; empty string if none."""
    if not violations:
        return ""
    lines = [f"mock_api strict mode: {len(violations)} contract violation(s) by the consumer:"]
    for number, item in enumerate(violations, 1):
        repeat = f" (x{item['count']})" if item.get("count", 1) > 1 else ""
        message, method = item["message"], item["method"]
        # Most messages start with the operation already; name the request only where one does not.
        where = "" if message.startswith(f"{method} ") else f"{method} {item['path']}: "
        lines.append(f"  {number}. [{item['kind']}]{repeat} {where}{message}")
    if dropped:
        lines.append(f"  ... and {dropped} more not kept (violations limit reached)")
    return "\n".join(lines)


def build_parser(prog: str = "python -m mock_api.contract") -> OneLineParser:
    parser = OneLineParser(prog=prog, description="Print contract violations saved from GET /_mock/violations, "
                                                  "one a line; exit 1 if there is any (for CI), 0 if none.")
    parser.add_argument("file", metavar="FILE", type=Path, help="the JSON list saved from GET /_mock/violations")
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "python -m mock_api.contract") -> int:
    """Print saved violations readably; exit 1 if there is any (CI), 2 if the file is unreadable."""
    path: Path = build_parser(prog).parse_args(sys.argv[1:] if argv is None else argv).file
    try:
        violations = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return fail(f"cannot read violations from {path}: {exc}")
    if not isinstance(violations, list):
        return fail(f"{path} is not a JSON list of violations")
    print(format_violations(violations) or "mock_api strict mode: no contract violation")
    return 1 if violations else 0
