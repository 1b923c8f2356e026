"""HTTP details of the real API's stack that Flask does differently: reason phrases."""
from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any


# The real API's 404/405 bodies ({"detail": ...}) are Starlette/FastAPI's; its servers send Python's
# standard phrases ("202 Accepted"), where werkzeug upper-cases them ("202 ACCEPTED").
STATUS_LINES = {str(status.value): f"{status.value} {status.phrase}" for status in HTTPStatus}


class StandardReasonPhrases:
    """WSGI middleware: every status line gets the standard reason phrase, whichever server runs the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(STATUS_LINES.get(status[:3], status), headers, exc_info)
        return self.app(environ, start)  # type: ignore[no-any-return]
