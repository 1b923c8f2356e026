"""Session routing: `/s/{name}/...` or `X-Mock-Session` picks the request's emulator before anything else."""
from __future__ import annotations

from typing import Any

from mock_api.http.paths import CONTROL_PREFIX, SESSION_PREFIX, TOKEN_KEY, token_matches
from mock_api.sessions import DEFAULT, SessionError, Sessions, check_name
from mock_api.state import MockState

STATE_KEY = "mock_api.state"  # the request's session state, in the WSGI environ
HEADER_KEY = "HTTP_X_MOCK_SESSION"  # the X-Mock-Session header in the WSGI environ
SESSIONS_PATH = CONTROL_PREFIX + "/sessions"


class SessionRouter:
    """Moves `/s/{name}` from PATH_INFO to SCRIPT_NAME (so every URL the app builds carries it) and puts the
    session's state in the environ. The prefix wins over the header. A bad name (400), a new session without
    the control token when one is set (401), a full registry (503) or a lost session (410) is refused before
    any state is touched, so a refused request is in no session's journal."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    def route(self, environ: dict[str, Any]) -> MockState | SessionError:
        """The request's session state (put in the environ, once), or why there is none."""
        state = environ.get(STATE_KEY)
        if state is not None:
            return state  # type: ignore[no-any-return]
        path: str = environ.get("PATH_INFO", "")
        script_name, path_info = None, path
        if path.startswith(SESSION_PREFIX):
            name, slash, rest = path[len(SESSION_PREFIX):].partition("/")
            script_name, path_info = environ.get("SCRIPT_NAME", "") + SESSION_PREFIX + name, slash + rest
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
        return state


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
