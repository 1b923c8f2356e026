"""The control API under /_mock: health, reset, scenario, the clock, the request journal and the tasks."""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, request

from mock_api.config import VERSION
from mock_api.http.parts import answer
from mock_api.http.paths import CONTROL_PREFIX as PREFIX
from mock_api.http.paths import NOSNIFF, TOKEN_HEADER, foreign_origin, is_control_path, token_matches
from mock_api.http.views.common import answer_response, json_body, json_response, mock_state
from mock_api.scenarios.catalog import Scenario, ScenarioError, looks_like_path
from mock_api.service import errors
from mock_api.service.clock import iso_micro_z
from mock_api.service.rendered import json_array
from mock_api.state import KEEPABLE

# Pages of the journal and the task list: `limit` items (default 1,000) after `cursor`, and no more than
# ~8 MiB (estimated) past the first item, so that no page is too large to answer in time.
DEFAULT_PAGE_LIMIT = 1000
MAX_PAGE_LIMIT = 100_000
PAGE_BYTES = 8 * 1024 * 1024
MAX_CURSOR_DIGITS = 18
F = TypeVar("F", bound=Callable[..., Any])
blueprint = Blueprint("control", __name__, url_prefix=PREFIX)


def without_token(view: F) -> F:
    """Mark a /_mock view that needs no control token: the dashboard's shell, the same bytes for everyone."""
    view.mock_api_without_token = True  # type: ignore[attr-defined]
    return view


def require_token() -> None:
    """A before_request hook: with --control-token, a /_mock call without the token is a 401."""
    expected = mock_state().config.control_token
    if expected is None:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "mock_api_without_token", False):
        return
    refused = token_refusal(expected)
    if refused is not None:
        raise refused


def token_refusal(expected: str | None) -> errors.ApiError | None:
    """The 401 of a control call without the token, when one is set (the supervisor's control app too)."""
    if expected is None or token_matches(request.headers.get(TOKEN_HEADER, ""), expected):
        return None
    return errors.detail(401, errors.CONTROL_TOKEN)


def origin_refusal() -> errors.ApiError | None:
    """The 403 of a control call from another site's page (its Origin), so that another web page cannot reset,
    steer or read the emulator (the supervisor's control app too)."""
    origin = request.headers.get("Origin")
    if foreign_origin(origin, request.host_url):
        return errors.detail(403, errors.FOREIGN_ORIGIN.format(origin=origin))
    return None


@blueprint.before_app_request
def refuse_other_origins() -> None:
    """A before_request hook: origin_refusal on every /_mock call, before any work."""
    refused = origin_refusal() if is_control_path(request.path) else None
    if refused is not None:
        raise refused


@blueprint.after_app_request
def no_sniffing(response: Response) -> Response:
    """An after_request hook: every control answer says X-Content-Type-Options: nosniff (JSON stays JSON)."""
    if is_control_path(request.path):
        response.headers[NOSNIFF[0]] = NOSNIFF[1]
    return response


def allowed_scenario_path(name: str) -> str:
    """The resolved path of a scenario file under a --scenarios-dir; a 400 naming nothing otherwise."""
    try:
        path = Path(name).resolve()
    except (OSError, RuntimeError, ValueError):
        raise errors.detail(400, errors.SCENARIO_PUT_OUTSIDE) from None
    if not any(path.is_relative_to(folder) for folder in mock_state().config.scenario_dirs):
        raise errors.detail(400, errors.SCENARIO_PUT_OUTSIDE)
    return str(path)


def clock_body() -> dict[str, Any]:
    clock = mock_state().clock
    now = clock.now()
    return {"now": iso_micro_z(now), "epoch": now, "frozen": clock.frozen}


@blueprint.get("/health")
def health() -> Response:
    # The server's one memory budget (every session's stores) and what relief dropped past it.
    return json_response({"status": "ok", "version": VERSION, "memory": mock_state().budget.describe()})


@blueprint.post("/reset")
def reset() -> Response:
    keep = frozenset(filter(None, request.args.get("keep", "").split(",")))
    if not keep <= set(KEEPABLE):
        raise errors.detail(400, errors.RESET_KEEP.format(names=", ".join(KEEPABLE)))
    mock_state().reset(keep)
    return json_response({"status": "reset"})


def scenario_body() -> dict[str, Any]:
    state = mock_state()
    active: Scenario = state.scenario
    return {"name": active.name, "description": active.description, "source": active.source,
            "startup": state.startup_scenario.name}


@blueprint.get("/scenario")
def get_scenario() -> Response:
    return json_response(scenario_body())


@blueprint.put("/scenario")
def put_scenario() -> Response:
    body = json_body()
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise errors.detail(400, errors.SCENARIO_BODY)
    name = name.strip()
    if looks_like_path(name):
        if not name.endswith((".yaml", ".yml")):
            raise errors.detail(400, errors.SCENARIO_PUT_PATH)
        name = allowed_scenario_path(name)
    try:
        mock_state().set_scenario(name)
    except ScenarioError as exc:
        raise errors.detail(400, str(exc)) from None
    return json_response(scenario_body())


@blueprint.get("/scenarios")
def list_scenarios() -> Response:
    """The built-in scenarios, then any scenario file loaded since start-up."""
    catalog = mock_state().scenarios
    return json_response([{"name": s.name, "description": s.description, "source": s.source}
                          for s in (catalog.named(n) for n in catalog.names())])


@blueprint.post("/token")
def dev_token() -> Response:
    """A JWT as POST /api/jwt would issue it, with no journal entry: the attached pytest plugin's token()."""
    body = json_body()
    key = body.get("key") if isinstance(body, dict) else None
    scopes = body.get("scopes") if isinstance(body, dict) else None
    scopes_ok = scopes is None or (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes))
    if not isinstance(key, str) or not scopes_ok:
        raise errors.detail(400, errors.TOKEN_BODY)
    try:
        return json_response({"jwt": mock_state().dev_token(key, scopes)})
    except ValueError as exc:
        raise errors.detail(400, str(exc)) from None


@blueprint.get("/clock")
def get_clock() -> Response:
    return json_response(clock_body())


@blueprint.post("/clock/advance")
def advance_clock() -> Response:
    body = json_body()
    seconds = body.get("seconds") if isinstance(body, dict) else None
    try:
        # float() of a 400-digit int overflows.
        valid = not isinstance(seconds, bool) and isinstance(seconds, (int, float)) \
            and math.isfinite(float(seconds)) and seconds >= 0
    except OverflowError:
        valid = False
    if not valid:
        raise errors.detail(400, errors.BAD_CLOCK_ADVANCE)
    try:
        mock_state().clock.advance(float(seconds))  # type: ignore[arg-type]
    except ValueError:  # past the clock's MAX_EPOCH (ObjectIds need 4-byte times); the clock is unchanged
        raise errors.detail(400, errors.CLOCK_PAST_LIMIT) from None
    return json_response(clock_body())


@blueprint.post("/clock/freeze")
def freeze_clock() -> Response:
    mock_state().clock.freeze()
    return json_response(clock_body())


@blueprint.post("/clock/unfreeze")
def unfreeze_clock() -> Response:
    mock_state().clock.unfreeze()
    return json_response(clock_body())


def _count(text: str) -> bool:
    """Whether `text` is a whole number from 1 to MAX_PAGE_LIMIT (a `limit` or a `tail`)."""
    return text.isascii() and text.isdigit() and len(text) <= 7 and 1 <= int(text) <= MAX_PAGE_LIMIT


def tail_argument() -> int | None:
    """`tail` from the query (the newest N items), None when absent; 400 naming the rule otherwise."""
    text = request.args.get("tail")
    if text is None:
        return None
    if "cursor" in request.args or "limit" in request.args:
        raise errors.detail(400, errors.TAIL_ALONE)
    if not _count(text):
        raise errors.detail(400, errors.BAD_TAIL.format(limit=MAX_PAGE_LIMIT))
    return int(text)


def page_arguments() -> tuple[int, int]:
    """(cursor, limit) from the query; 400 naming the rule for anything else."""
    limit_text = request.args.get("limit", str(DEFAULT_PAGE_LIMIT))
    cursor_text = request.args.get("cursor", "0")
    if not _count(limit_text):
        raise errors.detail(400, errors.BAD_PAGE_LIMIT.format(limit=MAX_PAGE_LIMIT))
    if not (cursor_text.isascii() and cursor_text.isdigit() and len(cursor_text) <= MAX_CURSOR_DIGITS):
        raise errors.detail(400, errors.BAD_CURSOR)
    return int(cursor_text), int(limit_text)


def page_link(next_cursor: int | None, limit: int) -> dict[str, str]:
    """`Link: <...>; rel="next"` (RFC 8288) while there is more."""
    if next_cursor is None:
        return {}
    return {"Link": f'<{request.script_root}{request.path}?limit={limit}&cursor={next_cursor}>; rel="next"'}


def page_response(items: list[dict[str, Any]], next_cursor: int | None, limit: int) -> Response:
    """The page as a JSON array, with its Link while there is more."""
    return json_response(items, headers=page_link(next_cursor, limit))


def json_items_response(items: list[bytes], headers: dict[str, str] | None = None) -> Response:
    """Items already JSON as one JSON array."""
    return answer_response(answer(json_array(items), extra=headers))


@blueprint.get("/requests")
def journal() -> Response:
    tail = tail_argument()
    if tail is not None:
        return json_response(mock_state().journal.tail(tail, PAGE_BYTES))
    cursor, limit = page_arguments()
    return page_response(*mock_state().journal.page(cursor, limit, PAGE_BYTES), limit)


@blueprint.get("/tasks")
def tasks() -> Response:
    state = mock_state()
    tail = tail_argument()
    if tail is not None:
        return json_items_response(state.backend.task_tail(state.clock.now(), tail, PAGE_BYTES))
    cursor, limit = page_arguments()
    items, next_cursor = state.backend.task_page(state.clock.now(), cursor, limit, PAGE_BYTES)
    return json_items_response(items, page_link(next_cursor, limit))
