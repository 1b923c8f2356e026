"""One request through the WSGI app: its environ (PEP 3333) and its answer, collected in a worker thread."""
from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple
from urllib.parse import unquote_to_bytes

from mock_api.http.parts import Answer, detail_answer
from mock_api.http.status import status_code
from mock_api.service import errors

log = logging.getLogger("mock_api.server")
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# Headers CGI names without the HTTP_ prefix; the hop-by-hop chunked coding is undone before the app sees it.
_UNPREFIXED = {"CONTENT_TYPE": "CONTENT_TYPE", "CONTENT_LENGTH": "CONTENT_LENGTH"}


class Target(NamedTuple):
    """Where a request arrived: the server's address and the client's."""

    server_name: str
    server_port: str
    remote_addr: str
    remote_port: str


def build_environ(method: str, url: bytes, version: str, headers: list[tuple[bytes, bytes]], body: bytes,
                  target: Target) -> dict[str, Any]:
    """PEP 3333's environ: PATH_INFO percent-decoded then latin-1 (as werkzeug and waitress), HTTP_* headers
    (a repeated header joined with ", "), the whole body in wsgi.input."""
    path, _, query = url.partition(b"?")
    path = path.partition(b"#")[0]
    if path[:1] != b"/":  # absolute form (GET http://host/path): keep the path only
        after_scheme = path.partition(b"://")[2]
        path = b"/" + after_scheme.partition(b"/")[2]
    raw_uri = url.decode("latin-1")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "",
        "PATH_INFO": (unquote_to_bytes(path) if b"%" in path else path).decode("latin-1"),
        "QUERY_STRING": query.partition(b"#")[0].decode("latin-1"), "RAW_URI": raw_uri, "REQUEST_URI": raw_uri,
        "SERVER_NAME": target.server_name, "SERVER_PORT": target.server_port,
        "SERVER_PROTOCOL": f"HTTP/{version}", "REMOTE_ADDR": target.remote_addr, "REMOTE_PORT": target.remote_port,
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    for raw_name, raw_value in headers:
        key = _environ_key(raw_name)
        if key == "HTTP_TRANSFER_ENCODING":
            continue  # the body below is already de-chunked
        value = raw_value.decode("latin-1")
        environ[key] = f"{environ[key]}, {value}" if key in environ else value
    environ["CONTENT_LENGTH"] = str(len(body)) if body or "CONTENT_LENGTH" in environ else ""
    return environ


def _environ_key(raw_name: bytes) -> str:
    """Content-Type -> CONTENT_TYPE, X-Mock-Scenario -> HTTP_X_MOCK_SCENARIO."""
    key = raw_name.decode("latin-1").upper().replace("-", "_")
    return _UNPREFIXED.get(key) or "HTTP_" + key


def run_app(app: WsgiApp, environ: dict[str, Any]) -> Answer:
    """Run a WSGI app (Flask, for the control API) to the end of its body, in a worker thread."""
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        started[:] = [status, headers]
        return written.append

    try:
        result = app(environ, start_response)
        try:
            written.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception:  # the app's own handlers answer its errors; this is a bug, never a hang
        log.exception("mock_api: the WSGI app raised")
        return detail_answer(500, errors.INTERNAL_ERROR)
    if not started:
        return detail_answer(500, errors.INTERNAL_ERROR)
    return Answer(status_code(started[0]), started[1], b"".join(written))


class WsgiFront:
    """Any WSGI app as mock_api's server serves it: every request in a worker thread, none in the loop."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def answer(self, environ: dict[str, Any], may_block: bool = True) -> Answer | None:
        return None

    def work(self, environ: dict[str, Any]) -> Answer:
        return run_app(self.app, environ)
