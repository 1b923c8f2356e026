"""A whole answer computed without the WSGI app: what the server's inline lane hands back to the server."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Answer(NamedTuple):
    """Status code, headers (without Content-Length, Date, Server, Connection: the server adds them), body,
    and a fault below HTTP the server must apply to the connection ("reset", "empty", "truncated")."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    fault: str | None = None


# Called by the server in its event loop for a request whose body has arrived (a WSGI environ, with
# wsgi.input holding the body). It answers at once, never blocking, or returns None: the server then runs
# the WSGI app in a worker thread. It must never raise for a request it cannot answer; it returns None.
InlineLane = Callable[[dict[str, Any]], "Answer | None"]
