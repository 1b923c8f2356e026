"""The bytes of an answer as the server writes them: status line, headers in waitress's form, Date, body."""
from __future__ import annotations

import time
from email.utils import formatdate
from operator import itemgetter

from mock_api.http.parts import BODILESS, Answer, detail_answer, with_headers
from mock_api.http.status import status_line

SERVER_NAME = "mock_api"
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
    return "-".join(word.capitalize() for word in name.split("-"))


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


def connection_header(version: str, close: bool) -> str | None:
    """Connection: close when we close; Keep-Alive for an HTTP/1.0 client that asked to keep it (as waitress)."""
    if close:
        return "close"
    return "Keep-Alive" if version == "1.0" else None


def encode(answer: Answer, method: str, version: str, keep_alive: bool) -> tuple[bytes, bytes, bool]:
    """An answer's head, the body to send and whether to close after. Content-Length is the body's (a HEAD
    answer keeps the one its app declared); a truncated fault promises the whole body, sends half, closes."""
    body, status = answer.body, answer.status
    truncated = answer.fault == "truncated"
    close = truncated or not keep_alive
    declared = next((v for k, v in answer.headers if k.lower() == "content-length"), None)
    headers = [(name, value) for name, value in answer.headers if name.lower() != "content-length"]
    bodiless = status in BODILESS or status < 200
    length = int(declared) if method == "HEAD" and declared and declared.isdigit() else len(body)
    head = render_head(version, status_line(status), headers, None if bodiless else length,
                       connection_header(version, close))
    if method == "HEAD" or bodiless:
        return head, b"", close
    return head, body[: len(body) // 2] if truncated else body, close


def error_bytes(status: int, detail: str, headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A whole answer the server gives itself (400, 413, 421, 431 ...): JSON {"detail": ...} with `headers`
    (503's Retry-After), then the connection closes."""
    answer = detail_answer(status, detail)
    with_headers(answer.headers, dict(headers))
    head, body, _ = encode(answer, "GET", "1.1", keep_alive=False)
    return head + body
