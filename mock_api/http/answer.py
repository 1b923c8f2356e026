"""A whole answer computed without the WSGI app: what the server's inline lane hands back to the server."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Answer(NamedTuple):
    """Status code, headers as Flask writes them (Content-Type and Content-Length first; the server writes its
    own Content-Length, Date, Server and Connection), body, and a fault below HTTP the server must apply to the
    connection ("reset", "empty", "truncated")."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    fault: str | None = None


# Put in the environ by a server that asked the lane already and got None: the WSGI app does not ask again.
TRIED_KEY = "mock_api.lane_tried"

# Called by the server in its event loop for a request whose body has arrived (a WSGI environ, with
# wsgi.input holding the body). It answers at once, never blocking, or returns None: the server then runs
# the WSGI app in a worker thread. It must never raise for a request it cannot answer; it returns None.
InlineLane = Callable[[dict[str, Any]], "Answer | None"]
