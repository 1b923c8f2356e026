"""The drift check's HTTP side: stdlib calls that never raise on a status, and masking for reports."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

VOLATILE = (
    (re.compile(r"^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$"), "<jwt>"),
    (re.compile(r"^[0-9a-f]{24}$"), "<objectid>"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?$"), "<date>"),
    (re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"), "<uuid>"),
    (re.compile(r"^\d{9,}$"), "<epoch>"),
)


class ConnectionProblem(Exception):
    """The deployment could not be reached at all (not drift: nothing was compared)."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    data: Any = field(default=None)  # the body as JSON, None if it is not JSON

    def header(self, name: str) -> str | None:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get(name.lower())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer to report, not to follow


class Http:
    """Calls one base URL; every status comes back as a Reply, only a dead connection raises."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener(NoRedirect)

    def call(self, method: str, path: str, params: Mapping[str, str] | None = None,
             headers: Mapping[str, str] | None = None, json_body: Any = None) -> Reply:
        url = self.base_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = None if json_body is None else json.dumps(json_body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                return _reply(answer.status, answer.headers.items(), answer.read())
        except urllib.error.HTTPError as error:
            return _reply(error.code, error.headers.items(), error.read())
        except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise ConnectionProblem(f"cannot reach {self.base_url}: {reason}") from None


def _reply(status: int, headers: Any, body: bytes) -> Reply:
    try:
        data = json.loads(body.decode("utf-8")) if body else None
    except (ValueError, UnicodeDecodeError):
        data = None
    return Reply(status, dict(headers), body, data)


def mask(value: Any) -> Any:
    """The value with tokens, ids, dates and request ids replaced by placeholders, for a stable report."""
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value[:3]] + (["..."] if len(value) > 3 else [])
    if isinstance(value, str):
        for pattern, placeholder in VOLATILE:
            if pattern.match(value):
                return placeholder
        return value if len(value) <= 80 else value[:77] + "..."
    return value


def preview(reply: Reply) -> str:
    """A short masked rendering of a reply's body for a drift line."""
    if reply.data is not None:
        return json.dumps(mask(reply.data))[:300]
    text = reply.body[:120].decode("utf-8", errors="replace")
    return repr(text) if text else "(empty body)"
