"""Which paths are whose: the control API's prefix, the session prefix, and the control API's guards (token, Origin)."""
from __future__ import annotations

import hmac

CONTROL_PREFIX = "/_mock"
SESSION_PREFIX = "/s/"
TOKEN_HEADER = "X-Mock-Control-Token"
TOKEN_KEY = "HTTP_X_MOCK_CONTROL_TOKEN"  # the same header in a WSGI environ
NOSNIFF = ("X-Content-Type-Options", "nosniff")  # on every control answer: JSON stays JSON


def is_control_path(path: str) -> bool:
    """Whether a path is the control API's (/_mock, /_mock/...): no scenario, journal or contract check."""
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def token_matches(sent: str, expected: str) -> bool:
    """The one comparison of a sent control token (constant time): /_mock calls, sessions, X-Mock-Scenario."""
    return hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


def foreign_origin(origin: str | None, host_url: str) -> bool:
    """Whether a control call comes from another site's page: it carries an Origin other than `host_url` (this
    server's scheme://host:port/ as the request named it). Browsers send Origin on every cross-site POST, text/plain
    and forms too (no CORS preflight); curl, the plugin and tests send none."""
    return origin is not None and origin.lower() != host_url.rstrip("/").lower()
