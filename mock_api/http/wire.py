"""HTTP details of the real API's stack that Flask does differently: reason phrases, repeated parameters."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequestKeyError

# The real API's 404/405 bodies ({"detail": ...}) are Starlette/FastAPI's; its servers send Python's
# standard phrases ("202 Accepted"), where werkzeug upper-cases them ("202 ACCEPTED").
STATUS_LINES = {str(status.value): f"{status.value} {status.phrase}" for status in HTTPStatus}
_UNPREFIXED_HEADERS = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}
_UNSEEN = "\0"  # a key not yet in the cache (a name that is this text is only worked out again)
_NAME_CACHE_LIMIT = 512  # environ keys are a small set; the bound keeps a hostile client from growing it
_header_names: dict[str, str | None] = {}


def status_line(code: int) -> str:
    """'202 Accepted'; a code with no standard phrase (a scenario's 499) gets werkzeug's 'UNKNOWN', so the
    answer Flask gives and the one the server's inline lane gives read the same."""
    return STATUS_LINES.get(str(code)) or f"{code} UNKNOWN"


def _header_name(key: str) -> str | None:
    """An environ key's header name as werkzeug's EnvironHeaders names it (None for a key that is not one)."""
    if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        return key[5:].replace("_", "-").title()
    return _UNPREFIXED_HEADERS.get(key)


def environ_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """list(EnvironHeaders(environ)), its names and order, with each key's name worked out once: the
    werkzeug view re-tests every environ key on every request (~4 µs of a ~50 µs poll)."""
    found: list[tuple[str, str]] = []
    names = _header_names
    for key, value in environ.items():
        name = names.get(key, _UNSEEN)
        if name is _UNSEEN:
            name = _header_name(key)
            if len(names) < _NAME_CACHE_LIMIT:
                names[key] = name
        if name is not None and (value or key not in _UNPREFIXED_HEADERS):
            found.append((name, value))
    return found


class StandardReasonPhrases:
    """WSGI middleware: every status line gets the standard reason phrase, whichever server runs the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(STATUS_LINES.get(status[:3], status), headers, exc_info)
        return self.app(environ, start)  # type: ignore[no-any-return]


class LastValueArgs(ImmutableMultiDict[str, str]):
    """Query parameters where a repeated name means its last value (`?netid=a&netid=b` is b), as in
    Starlette's QueryParams, which FastAPI reads scalar parameters from; getlist still has them all."""

    def __getitem__(self, key: str) -> str:
        values = self.getlist(key)
        if not values:
            raise BadRequestKeyError(key)
        return values[-1]

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]  # `type`: werkzeug's parameter name
        """As MultiDict.get, without raising and catching a werkzeug exception for every absent name."""
        values = dict.get(self, key)
        if not values:
            return default
        if type is None:
            return values[-1]
        try:
            return type(values[-1])
        except (ValueError, TypeError):
            return default

    def items(self, multi: bool = False) -> Iterator[tuple[str, str]]:  # type: ignore[override]
        if multi:
            yield from super().items(multi=True)
            return
        for key, values in dict.items(self):
            yield key, values[-1]

    def values(self) -> Iterator[str]:  # type: ignore[override]
        for values in dict.values(self):
            yield values[-1]


class ApiRequest(Request):
    """Flask's request with the real stack's reading of repeated query parameters."""

    parameter_storage_class = LastValueArgs
