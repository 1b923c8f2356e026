"""Session routing: `/s/{name}/...` or `X-Mock-Session` picks the request's emulator before Flask sees it."""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mock_api.http.views.common import STATE_KEY
from mock_api.http.views.control import PREFIX as CONTROL_PREFIX
from mock_api.http.views.control import token_matches
from mock_api.sessions import DEFAULT, SessionError, Sessions, check_name

PREFIX = "/s/"
HEADER_KEY = "HTTP_X_MOCK_SESSION"  # the X-Mock-Session header in the WSGI environ
TOKEN_KEY = "HTTP_X_MOCK_CONTROL_TOKEN"
SESSIONS_PATH = CONTROL_PREFIX + "/sessions"


class SessionRouting:
    """WSGI middleware: `/s/{name}` moves from PATH_INFO to SCRIPT_NAME (so Flask's `request.script_root`
    carries it into every URL the app builds) and the session's state goes into the environ.

    The prefix wins over the header. A bad name (400), a new session without the control token when one
    is set (401), a full registry (503) or a lost session (410) is answered here as JSON, before any state is
    touched, so a refused request is in no session's journal."""

    def __init__(self, app: Any, sessions: Sessions) -> None:
        self.app, self.sessions = app, sessions

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if STATE_KEY not in environ:  # the server's inline lane may have routed it already
            refused = self.route(environ)
            if refused is not None:
                return refusal(refused, start_response)
        return self.app(environ, start_response)  # type: ignore[no-any-return]

    def route(self, environ: dict[str, Any]) -> SessionError | None:
        """Put the request's session state in the environ (and the prefix in SCRIPT_NAME); or why not."""
        path: str = environ.get("PATH_INFO", "")
        script_name, path_info = None, path
        if path.startswith(PREFIX):
            name, slash, rest = path[len(PREFIX):].partition("/")
            script_name, path_info = environ.get("SCRIPT_NAME", "") + PREFIX + name, slash + rest
        else:
            name = environ.get(HEADER_KEY, DEFAULT)
        expected = self.sessions.default.config.control_token
        # A session is a whole emulator: with a control token set, only a caller holding it creates one.
        may_create = expected is None or token_matches(environ.get(TOKEN_KEY, ""), expected)
        try:
            if server_wide(environ.get("REQUEST_METHOD", ""), path_info):
                check_name(wsgi_text(name))
                state = self.sessions.default
            else:
                state = self.sessions.use(wsgi_text(name), may_create)
        except SessionError as exc:
            return exc
        if script_name is not None:
            environ["SCRIPT_NAME"], environ["PATH_INFO"] = script_name, path_info
        environ[STATE_KEY] = state
        return None


def server_wide(method: str, path: str) -> bool:
    """GET /_mock/sessions and DELETE /_mock/sessions/{name} act on the server, not on the session that asks:
    they neither create, count nor refuse it (a supervisor lists and ends sessions on a restarted process,
    whose lost sessions answer 410 to anything else)."""
    if method == "GET":
        return path == SESSIONS_PATH
    return method == "DELETE" and path.startswith(SESSIONS_PATH + "/") and path.count("/") == 3


def wsgi_text(value: str) -> str:
    """A WSGI string (the bytes as latin-1) as the UTF-8 the client sent: a refusal names what was sent."""
    if value.isascii():
        return value
    return value.encode("latin-1", "replace").decode("utf-8", "replace")


def refusal(exc: SessionError, start_response: Any) -> list[bytes]:
    """The refusal as the app's JSON errors look (compact, a newline), Content-Length set."""
    body = (json.dumps({"detail": exc.detail}, separators=(",", ":")) + "\n").encode("utf-8")
    start_response(f"{exc.status} -", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
