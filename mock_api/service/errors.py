"""Every error the emulator answers with: status codes and bodies, in one place."""
from __future__ import annotations

from typing import Any

# Observed on the real API (see docs/fidelity.md).
UNAUTHORIZED: dict[str, Any] = {"message": "Unauthorized"}
METHOD_NOT_ALLOWED: dict[str, Any] = {"detail": "Method Not Allowed"}
# Our choice: the 404 shape of the framework that answers 405 with {"detail": ...}.
NOT_FOUND: dict[str, Any] = {"detail": "Not Found"}

BODY_NOT_JSON = "Request body is not valid JSON"
CONTENT_TYPE_NOT_JSON = "Content-Type must be application/json"
BODY_TOO_DEEP = "Request body is nested deeper than {limit} levels"
BODY_TOO_LARGE = "Request body is larger than {limit} bytes"
BAD_CONTINUATION_KEY = "Unknown or expired continuation_key"
BAD_CLOCK_ADVANCE = "body must be {\"seconds\": N} with N a number >= 0"
BAD_PAGE_LIMIT = "limit must be a whole number from 1 to {limit}"
BAD_CURSOR = "cursor must be a whole number: the one in the previous page's Link header"
BAD_TAIL = "tail must be a whole number from 1 to {limit}"
TAIL_ALONE = "tail (the newest N items) cannot be combined with cursor or limit"
CLOCK_PAST_LIMIT = "the clock cannot be advanced past 2100-01-01T00:00:00Z"
INTERNAL_ERROR = "Internal Server Error"
# The server's own 500 when an answer has a header HTTP/1.1 cannot carry (a scenario's, say).
UNSENDABLE_HEADER = "Internal Server Error: a response header value is not Latin-1"

# The server's own refusals of a request it will not serve (docs/reference.md: connections).
MALFORMED_REQUEST = "Malformed HTTP request: {problem}"
HTTP_VERSION = "HTTP version {version} is not supported: HTTP/1.1 or HTTP/1.0"
HOST_HEADER = "An HTTP/1.1 request needs exactly one Host header, got {count}"
TRANSFER_CODING = "Transfer-Encoding {coding!r} is not supported: chunked only"
TRANSFER_CODING_HTTP_1_0 = "Transfer-Encoding is not allowed in an HTTP/1.0 request"
TARGET_TOO_LONG = "Request target is longer than {limit} bytes"
HEAD_TOO_LARGE = "Request header fields are larger than {limit} bytes"
BODY_TOO_SLOW = "Request body did not arrive within {seconds:g} s"
BODY_BUFFER_FULL = "The server holds too many request bodies; retry shortly"
MISDIRECTED_HOST = ("Host {host!r} is not served here: this server answers localhost, 127.0.0.1, [::1], its "
                    "bound address and --allowed-host names")
# The control API's own refusal of a call a web page made (browsers send Origin on cross-site calls).
FOREIGN_ORIGIN = "Origin {origin!r} may not call the control API: only this server's own pages may"

# Scenario control (mock_api's own API, not the real one).
SCENARIO_HEADER_UNKNOWN = "X-Mock-Scenario: {problem}"
SCENARIO_HEADER_PATH = "expected a scenario name, not a path: {value!r}"
SCENARIO_BODY = 'body must be {"name": NAME} with NAME a scenario name or the path of a .yaml file'
RESET_KEEP = "keep must be a comma-separated list of {names}"
TOKEN_BODY = ('body must be {"key": KEY, "scopes": [SCOPE, ...]} with KEY a fixture API key; scopes may be '
              'left out for all the key holds')
SCENARIO_PUT_PATH = "a scenario path must end in .yaml or .yml"
# One text for every refused path (missing, unreadable, outside): it says nothing about the file.
SCENARIO_PUT_OUTSIDE = "scenario files can only be loaded from a --scenarios-dir directory given at start-up"
CONTROL_TOKEN = "X-Mock-Control-Token is missing or wrong"

# Sessions (mock_api's own: /s/{name}/... and X-Mock-Session).
SESSION_NAME = "session name must be 1 to 64 of A-Z, a-z, 0-9, _ and -, got {name!r}"
SESSION_LIMIT = "session limit reached ({limit})"
SESSION_UNKNOWN = "no session named {name!r}"
SESSION_DEFAULT_KEPT = "the default session cannot be ended; POST /_mock/reset resets it"
SESSIONS_DOWN = "not every process answers (down: ports {ports}): their sessions cannot be listed"
SESSION_MAYBE_DOWN = "no process that is up holds session {name!r}; down: ports {ports}"
SESSION_LOST = "session {name!r} lost its state when its process restarted; DELETE it to start again"

# Verification and snapshots (mock_api's own: POST /_mock/verify, GET/PUT /_mock/snapshot).
VERIFY_BODY = ('body must be {{"match": {{...}}}} with times, or at_least and/or at_most (whole numbers >= 0) and '
               'allow_dropped (true or false); unknown key {key!r}')
VERIFY_ALLOW_DROPPED = "allow_dropped: expected true or false"
SNAPSHOT_QUERY = "journal must be true or false"

# Task messages, with the trailing spaces the seed's samples have.
TASK_SUCCESS_MESSAGE = "Petition created successfully. mongo id {mongo_id} "
TASK_FAILURE_MESSAGE = "Petition did not update successfully. "


class ApiError(Exception):
    """Raised by views and models; turned into a JSON response by the app's error handler."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def detail(status: int, text: str) -> ApiError:
    return ApiError(status, {"detail": text})


def forbidden(missing_scopes: list[str]) -> ApiError:
    """403 naming the scopes the token lacks; the real body shape is unknown (our choice)."""
    names = " ".join(missing_scopes)
    return ApiError(403, {"message": f"Forbidden: missing scope {names}", "missing_scopes": missing_scopes})


def unauthorized() -> ApiError:
    return ApiError(401, dict(UNAUTHORIZED))


def not_found() -> ApiError:
    return ApiError(404, dict(NOT_FOUND))
