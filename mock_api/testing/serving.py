"""The in-process server's parts: mock_api's server on port 0 in a daemon thread, its health probe, the app switch."""
from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
import urllib.parse
from typing import Any

from flask import Flask

from mock_api.config import DEFAULT_STARTUP_TIMEOUT
from mock_api.http.app import front_of
from mock_api.http.parts import Answer
from mock_api.http.server import Server, ServerLimits, listen, serve_until_stopped
from mock_api.http.serverlimits import DEFAULT_MAX_BODY_BYTES

HEALTH_PATH = "/_mock/health"
PROBE_PAUSE = 0.005
STOP_GRACE = 1.0  # seconds a stopping session server gives requests already received
STOP_STEP = 0.002  # how often it looks whether they are done: a test session's stop is not held up
CONNECTIONS = 512  # open connections served at once (more wait in the listen queue): a test suite's clients


class MockApiStartupError(RuntimeError):
    """The in-process server did not answer its health check in time."""


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

    def answer(self, environ: dict[str, Any], may_block: bool = True) -> Answer | None:
        return front_of(self.app).answer(environ, may_block)

    def work(self, environ: dict[str, Any]) -> Answer:
        return front_of(self.app).work(environ)


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
    """mock_api's own server (the CLI's), bound at construction (port 0: the OS picks), its event loop in a
    daemon thread. An app switch's current app answers, as the CLI's app does."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, allowed_hosts: tuple[str, ...] = ()) -> None:
        self.socket = listen(host, port)
        self.host, self.port = host, int(self.socket.getsockname()[1])
        self.loop = asyncio.new_event_loop()
        front = front_of(app)  # a Flask app of create_app, an app switch, or any WSGI app
        # The body bound of the app served first (a session's apps share their config's); no raising of the
        # test process's open-files limit, nor a warning about it, for a test suite's few clients.
        served = app.app if isinstance(app, AppSwitch) else app
        config = getattr(served, "extensions", {}).get("mock_api")
        body = config.config.max_body_bytes if config is not None else DEFAULT_MAX_BODY_BYTES
        # ini mock_api_allowed_hosts, or the Host names a front before this server answers (--workers)
        hosts = (*(config.config.allowed_hosts if config is not None else ()), *allowed_hosts)
        limits = ServerLimits(connection_limit=CONNECTIONS, shutdown_grace=STOP_GRACE, max_body_bytes=body,
                              allowed_hosts=hosts)
        self.server = Server(front, limits, self.socket, self.loop)
        self._stop, self._never = asyncio.Event(), asyncio.Event()  # no second signal: the drain has its grace
        self.thread = threading.Thread(target=self._serve, name=f"mock_api-server-{self.port}", daemon=True)

    def _serve(self) -> None:
        try:
            self.loop.run_until_complete(serve_until_stopped(self.server, self._stop, self._never, STOP_STEP))
        finally:
            self.server.close()
            self.loop.close()

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
        """Stop accepting, drain what was received (up to STOP_GRACE), close; the socket even if never served."""
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
            self.thread.join(timeout=5)
        elif not self.loop.is_closed():
            self.server.close()
            self.loop.close()
