"""The app's one entry for a request: its session, then the control API (Flask) or the API's chain (pipeline.run)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from mock_api.http.parts import Answer, as_sent, detail_answer, json_answer
from mock_api.http.paths import TOKEN_KEY, is_control_path, token_matches
from mock_api.http.pipeline import Route, begin, run
from mock_api.http.routes import match
from mock_api.http.session_routing import STATE_KEY, SessionRouter
from mock_api.http.status import status_line
from mock_api.http.wsgi import WsgiApp, run_app
from mock_api.scenarios.catalog import Scenario, ScenarioError, looks_like_path
from mock_api.service import errors
from mock_api.service.requests import PlainRequest
from mock_api.sessions import SessionError
from mock_api.state import MockState

log = logging.getLogger("mock_api")
SCENARIO_KEY = "HTTP_X_MOCK_SCENARIO"
FAULT_NEEDS_SERVER = ("mock_api fault {kind!r}: breaking the connection needs mock_api's own server "
                      "(python -m mock_api, or the pytest fixture); this WSGI server gives no access to it")


def request_path(environ: dict[str, Any]) -> str:
    """PATH_INFO as the UTF-8 the client sent (WSGI carries it as latin-1)."""
    return str(environ.get("PATH_INFO", "")).encode("latin-1", "replace").decode("utf-8", "replace")


def environ_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The request's headers from a WSGI environ, in its order: X-Mock-Session from HTTP_X_MOCK_SESSION."""
    found = []
    for key, value in environ.items():
        if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
            found.append((key[5:].replace("_", "-").title(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            found.append((key.replace("_", "-").title(), value))
    return found


def declared_length(environ: dict[str, Any]) -> int | None:
    text = str(environ.get("CONTENT_LENGTH") or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def query_of(environ: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The query's parameters (a repeated one counts its last value, as on the real API's stack) and every
    value of each, as the journal shows them."""
    raw = str(environ.get("QUERY_STRING", "")).encode("latin-1", "replace").decode("utf-8", "replace")
    lists: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        lists.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in lists.items()}, lists


def plain_request(environ: dict[str, Any], state: MockState, route: Route | None,
                  query: dict[str, str]) -> PlainRequest:
    limit = state.config.max_body_bytes

    def read_body() -> bytes | None:
        length, stream = declared_length(environ), environ["wsgi.input"]
        if length is None:  # no Content-Length: a body only where the server says it ends (chunked)
            data = stream.read(limit + 1) if environ.get("wsgi.input_terminated") else b""
            return None if len(data) > limit else bytes(data)
        return None if length > limit else bytes(stream.read(length)) if length else b""

    media_type = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
    return PlainRequest(environ["REQUEST_METHOD"], request_path(environ), route.rule if route else None,
                        environ_headers(environ), query, media_type, read_body, state.config.signing_key,
                        state.clock)


def chosen_scenario(state: MockState, environ: dict[str, Any]) -> Scenario | errors.ApiError:
    """The active scenario, or the one X-Mock-Scenario names (a control lever: guarded as /_mock is, and
    ignored with the control API off, as the real API would)."""
    override = environ.get(SCENARIO_KEY) if state.config.control_api else None
    if override is None:
        return state.scenario
    expected = state.config.control_token
    if expected is not None and not token_matches(environ.get(TOKEN_KEY, ""), expected):
        return errors.detail(401, errors.CONTROL_TOKEN)
    name = override.strip()
    try:
        if looks_like_path(name):  # a header must not make the server read files
            raise ScenarioError(errors.SCENARIO_HEADER_PATH.format(value=name))
        return state.scenarios.named(name)
    except ScenarioError as exc:
        return errors.detail(400, errors.SCENARIO_HEADER_UNKNOWN.format(problem=exc))


def too_large(state: MockState, environ: dict[str, Any]) -> errors.ApiError | None:
    """A declared body over the limit, on every path, whether it reads a body or not: one documented rule
    (fidelity.md), as mock_api's server applies it to the head."""
    length, limit = declared_length(environ), state.config.max_body_bytes
    return errors.detail(413, errors.BODY_TOO_LARGE.format(limit=limit)) if (length or 0) > limit else None


class Dispatcher:
    """Called by mock_api's server (answer in its event loop, work in a worker thread) and, as WSGI, by any
    other server and the Flask test client: the same chain either way."""

    def __init__(self, control: WsgiApp, state: MockState, router: SessionRouter | None) -> None:
        self.control, self.state, self.router = control, state, router

    def answer(self, environ: dict[str, Any], may_block: bool = True) -> Answer | None:
        """The answer of an API request; None for a control API request (Flask's), or, when `may_block` is
        False, for one that may sleep or read a lot (the server then calls `work` in a worker). A failure
        before the chain begins (session, routing) is a logged 500 with a request id, as one inside it is."""
        try:
            return self._answer(environ, may_block)
        except Exception:
            state = environ.get(STATE_KEY, self.state)
            request_id = state.ids.request_id()
            log.exception("unexpected error on %s %s (request %s)", environ.get("REQUEST_METHOD"),
                          request_path(environ), request_id)
            return json_answer({"detail": errors.INTERNAL_ERROR}, 500, {"X-Request-ID": request_id})

    def _answer(self, environ: dict[str, Any], may_block: bool) -> Answer | None:
        state = self.router.route(environ) if self.router is not None else environ.get(STATE_KEY, self.state)
        if isinstance(state, SessionError):
            return detail_answer(state.status, state.detail)
        path = request_path(environ)
        if is_control_path(path):
            return None
        method = environ["REQUEST_METHOD"]
        scenario = chosen_scenario(state, environ)
        route, values = match(method, path)
        found = route if isinstance(route, Route) else None
        query, lists = query_of(environ)
        request = plain_request(environ, state, found, query)
        if not may_block and not self._in_loop(state, scenario, found, request):
            return None
        call = begin(state, request, found.template if found else None, environ.get("SCRIPT_NAME", "").rstrip("/"),
                     lists)
        return run(state, call, too_large(state, environ) or scenario, route, values)

    @staticmethod
    def _in_loop(state: MockState, scenario: Scenario | errors.ApiError, route: Route | None,
                 request: PlainRequest) -> bool:
        if isinstance(scenario, Scenario) and scenario.may_wait(request.method, request.path):
            return False  # the loop never sleeps
        return route is None or route.small is None or route.small(state, request)

    def work(self, environ: dict[str, Any]) -> Answer:
        """In a worker thread: the API's answer, or the control API's through Flask."""
        found = self.answer(environ, may_block=True)
        return found if found is not None else run_app(self.control, environ)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """WSGI: the same answers for any other server; a fault cannot break a connection it cannot reach."""
        found = self.answer(environ, may_block=True)
        if found is None:
            return self.control(environ, start_response)
        if found.fault is not None:
            raise ConnectionAbortedError(FAULT_NEEDS_SERVER.format(kind=found.fault))
        headers, body = as_sent(found.status, environ["REQUEST_METHOD"], found.headers, found.body)
        start_response(status_line(found.status), headers)
        return [body]
