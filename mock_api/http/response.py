"""The bytes of an answer as the server writes them: status line, headers in waitress's form, Date, body."""
from __future__ import annotations

import json
import time
from email.utils import formatdate
from operator import itemgetter

from mock_api.http.answer import Answer
from mock_api.http.wire import status_line
from mock_api.http.wsgi import WsgiAnswer

SERVER_NAME = "mock_api"
# Answers with no body and no Content-Length (RFC 9110 6.4.1, 8.6).
BODILESS = frozenset({204, 304})
_NAME_CACHE_LIMIT = 512  # header names are a small set; a bound keeps a hostile app from growing it
_names: dict[str, str] = {}
_date: tuple[int, str] = (0, "")
_by_name = itemgetter(0)  # sorts on the name only, so repeated headers keep their order


def http_date() -> str:
    """The Date header's value, formatted once a second."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True))
    return _date[1]


def header_name(name: str) -> str:
    """Each dash-separated word capitalised ("X-Request-Id"), as waitress sent them (clients saw that form)."""
    known = _names.get(name)
    if known is None:
        known = "-".join(word.capitalize() for word in name.split("-"))
        if len(_names) < _NAME_CACHE_LIMIT:
            _names[name] = known
    return known


def render_head(version: str, status: str, headers: list[tuple[str, str]], content_length: int | None,
                connection: str | None) -> bytes:
    """Status line and headers sorted by name (stable: repeated headers keep their order), then a blank line.

    Content-Length is added when given, Connection when given, Server and Date unless the app set them."""
    named = [(header_name(name), value) for name, value in headers]
    present = {name for name, _ in named}
    if content_length is not None:
        named.append(("Content-Length", str(content_length)))
    if connection is not None and "Connection" not in present:
        named.append(("Connection", connection))
    if "Server" not in present:
        named.append(("Server", SERVER_NAME))
    if "Date" not in present:
        named.append(("Date", http_date()))
    named.sort(key=_by_name)
    return (f"HTTP/{version} {status}\r\n" + "".join([f"{name}: {value}\r\n" for name, value in named])
            + "\r\n").encode("latin-1")


def error_answer(status: int, detail: str, headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A whole answer the server gives itself (400, 413, 431 ...): JSON {"detail": ...}, then the connection closes."""
    body = json.dumps({"detail": detail}).encode()
    head = render_head("1.1", status_line(status), [("Content-Type", "application/json"), *headers], len(body),
                       "close")
    return head + body


def connection_header(version: str, close: bool) -> str | None:
    """Connection: close when we close; Keep-Alive for an HTTP/1.0 client that asked to keep it (as waitress)."""
    if close:
        return "close"
    return "Keep-Alive" if version == "1.0" else None


def encode_inline(answer: Answer, method: str, version: str, keep_alive: bool) -> tuple[bytes, bytes, bool]:
    """An inline answer's head, the body to send and whether to close after: a truncated fault promises the
    whole body, sends half, and closes."""
    body, status = answer.body, answer.status
    truncated = answer.fault == "truncated"
    close = truncated or not keep_alive
    headers = [(name, value) for name, value in answer.headers if name != "Content-Length"]  # ours is below
    bodiless = status in BODILESS or status < 200  # as encode_wsgi: no Content-Length, no body
    head = render_head(version, status_line(status), headers, None if bodiless else len(body),
                       connection_header(version, close))
    if method == "HEAD" or bodiless:
        return head, b"", close
    return head, body[: len(body) // 2] if truncated else body, close


def encode_wsgi(answer: WsgiAnswer, method: str, version: str, keep_alive: bool) -> tuple[bytes, bytes, bool]:
    """The app's answer: its Content-Length kept (fewer bytes than it promised: sent, then the connection
    closes, which is how the client knows); none given: ours, as the whole body is in hand (never chunked)."""
    body = answer.body
    declared = next((v for k, v in answer.headers if k.lower() == "content-length"), None)
    code = int(answer.status[:3]) if answer.status[:3].isdigit() else 500
    bodiless = method == "HEAD" or code in BODILESS or code < 200
    promised = int(declared) if declared is not None and declared.isdigit() else None
    short = promised is not None and not bodiless and len(body) < promised
    if promised is not None:
        body = body[:promised]
    added = None if declared is not None or code in BODILESS or code < 200 else len(body)
    close = short or not keep_alive
    head = render_head(version, answer.status, answer.headers, added, connection_header(version, close))
    return head, b"" if bodiless else body, close
