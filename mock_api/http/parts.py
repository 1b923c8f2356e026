"""An answer as plain data (status, headers, body, fault) and the one JSON writer every answer uses."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from mock_api.service.rendered import to_json

Headers = list[tuple[str, str]]
JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
OCTET_TYPE = "application/octet-stream"
# Answers that carry no body and no Content-Length (RFC 9110 6.4.1, 8.6); 1xx too.
BODILESS = frozenset({204, 304})


class Answer(NamedTuple):
    """Status code, headers (Content-Type and Content-Length first, then the route's), body, and a fault
    below HTTP the server applies to the connection ("reset", "empty", "truncated")."""

    status: int
    headers: Headers
    body: bytes
    fault: str | None = None

    @property
    def media_type(self) -> str:
        return self.headers[0][1] if self.headers and self.headers[0][0] == "Content-Type" else ""


def json_text(value: Any) -> bytes:
    """A JSON body as the real API's stack (Starlette's JSONResponse) writes one (service/rendered.py); a value
    JSON has no type for (a date in a scenario file's reply) is written as its text."""
    return to_json(value, default=str)


ACCEPTED_BODY = json_text({"status": "accepted"})  # the POST's answer, the same bytes every time


def with_headers(headers: Headers, extra: Mapping[str, str]) -> Headers:
    """Set each header: a name already there (any case) is replaced where it stands, a new one appended."""
    for name, value in extra.items():
        lowered = name.lower()
        found = [at for at, (existing, _) in enumerate(headers) if existing.lower() == lowered]
        if not found:
            headers.append((name, value))
            continue
        headers[found[0]] = (name, value)
        for at in reversed(found[1:]):
            del headers[at]
    return headers


def answer(body: bytes, status: int = 200, extra: Mapping[str, str] | None = None,
           media_type: str = JSON_TYPE) -> Answer:
    """An answer whose Content-Length is its body's, whatever `extra` says."""
    headers = [("Content-Type", media_type), ("Content-Length", str(len(body)))]
    if extra:
        with_headers(headers, {k: v for k, v in extra.items() if k.lower() != "content-length"})
    return Answer(status, headers, body)


def json_answer(value: Any, status: int = 200, extra: Mapping[str, str] | None = None) -> Answer:
    return answer(json_text(value), status, extra)


def detail_answer(status: int, detail: str) -> Answer:
    """The error body of every refusal that is not the API's own: {"detail": ...}."""
    return json_answer({"detail": detail}, status)


def as_sent(status: int, method: str, headers: Headers, body: bytes) -> tuple[Headers, bytes]:
    """What goes on the wire: a 1xx, 204 or 304 without Content-Length, and none of them (nor HEAD) with a body."""
    if status < 200 or status in BODILESS:
        return [(k, v) for k, v in headers if k.lower() != "content-length"], b""
    return headers, b"" if method == "HEAD" else body
