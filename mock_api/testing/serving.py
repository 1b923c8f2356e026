"""The in-process server's parts: a werkzeug server on port 0 in a daemon thread, its health probe, the app switch."""
from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Iterable
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from mock_api.config import DEFAULT_STARTUP_TIMEOUT

HEALTH_PATH = "/_mock/health"
# serve_forever checks for shutdown once per poll: 0.5 s (the default) makes every session end 0.5 s late.
POLL_INTERVAL = 0.01
PROBE_PAUSE = 0.005


class MockApiStartupError(RuntimeError):
    """The in-process server did not answer its health check in time."""


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: a test run's output is the user's, and the journal has it all."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class AppSwitch:
    """The WSGI app the server runs: each request goes to the app current when it arrives."""

    def __init__(self, app: Flask) -> None:
        self._lock = threading.Lock()
        self._app = app

    @property
    def app(self) -> Flask:
        with self._lock:
            return self._app

    def switch(self, app: Flask) -> None:
        with self._lock:
            self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self.app(environ, start_response)


def probe(url: str, timeout: float) -> str | None:
    """None if GET url answers 200 with status ok, else what went wrong (a direct connection, no proxy)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/")
        answer = connection.getresponse()
        if answer.status != 200:
            return f"answered HTTP {answer.status}"
        body = json.loads(answer.read().decode("utf-8"))
        return None if isinstance(body, dict) and body.get("status") == "ok" else f"answered {body!r}"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()


class ServerThread:
    """A werkzeug server bound at construction (port 0: the OS picks), served by a daemon thread."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        self.host, self.port = host, int(self.server.server_port)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
                                       name=f"mock_api-server-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = DEFAULT_STARTUP_TIMEOUT, health_path: str | None = None) -> None:
        """Serve, then wait until the health check passes; MockApiStartupError after `timeout` s."""
        self.thread.start()
        target = self.url + (HEALTH_PATH if health_path is None else health_path)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            problem = probe(target, max(0.05, min(1.0, remaining)))
            if problem is None:
                return
            if not self.thread.is_alive():
                self.stop()  # closes the listening socket the dead thread leaves behind
                raise MockApiStartupError(f"mock_api server thread stopped before {target} answered: {problem}")
            if remaining <= 0:
                self.stop()
                raise MockApiStartupError(f"mock_api at {target} was not ready within {timeout:g} s: {problem}")
            time.sleep(PROBE_PAUSE)

    def stop(self) -> None:
        # shutdown() waits for serve_forever to notice: it would wait forever if it never ran.
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(timeout=5)
        self.server.server_close()
