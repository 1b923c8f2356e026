"""mock_api inside a test process: a threaded server on port 0, one state per snapshot, the test handle."""
from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from mock_api.config import DEFAULT_STARTUP_TIMEOUT as DEFAULT_STARTUP_TIMEOUT  # re-exported by mock_api.testing
from mock_api.config import MockConfig
from mock_api.data.fixtures import Student
from mock_api.http.app import create_app
from mock_api.service.tokens import granted_scopes, issue
from mock_api.state import MockState

HEALTH_PATH = "/_mock/health"
# serve_forever checks for shutdown once per poll: 0.5 s (the default) makes every session end 0.5 s late.
POLL_INTERVAL = 0.01
PROBE_PAUSE = 0.005
DEFAULT_KEY = "dev-readwrite"


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


class StatePool:
    """One state and app per (seed, fixtures dir): each snapshot is built once, on first use."""

    def __init__(self, base: MockConfig) -> None:
        self.base = base
        self._lock = threading.Lock()
        self._built: dict[tuple[int | None, Path], tuple[MockState, Flask]] = {}

    def config_for(self, seed: int | None = None, fixtures: str | Path | None = None) -> MockConfig:
        return self.base.with_overrides(seed=seed, fixtures_dir=Path(fixtures) if fixtures is not None else None)

    def get(self, seed: int | None = None, fixtures: str | Path | None = None) -> tuple[MockState, Flask]:
        config = self.config_for(seed, fixtures)
        key = (config.seed, Path(config.fixtures_dir).resolve())
        with self._lock:
            if key not in self._built:
                state = MockState(config)
                self._built[key] = (state, create_app(state=state))
            return self._built[key]

    def states(self) -> list[MockState]:
        with self._lock:
            return [state for state, _ in self._built.values()]


@dataclass(frozen=True)
class RecordedRequest:
    """One journal entry: what a client sent (secrets masked) and the status it got."""

    seq: int
    time: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str | None
    status: int
    duration_ms: float
    extra: dict[str, Any] = field(default_factory=dict)  # fields other parts of mock_api add

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> RecordedRequest:
        known = {f.name for f in fields(cls)} - {"extra"}
        values: dict[str, Any] = {k: entry.get(k) for k in known}
        return cls(**values,
                   extra={k: v for k, v in entry.items() if k not in known})

    def json(self) -> Any:
        """The body parsed as JSON (None without a body); ValueError if it is not JSON."""
        return None if self.body is None else json.loads(self.body)


class MockApiHandle:
    """What a test gets: the server's URL and levers on the state serving it, reset before the test."""

    def __init__(self, url: str, state: MockState) -> None:
        self.url, self.state = url, state
        self.expected_errors: set[int] = set()

    # -- credentials ---------------------------------------------------------------------------
    @property
    def api_keys(self) -> tuple[str, ...]:
        """The fixture API keys, sent raw to POST /api/jwt."""
        return tuple(self.state.dataset.accounts)

    def token(self, scopes: Sequence[str] | str | None = None, key: str = DEFAULT_KEY) -> str:
        """A JWT as POST /api/jwt issues it now: of `scopes` only those the key holds (all if None)."""
        account = self.state.dataset.accounts.get(key)
        if account is None:
            raise ValueError(f"unknown API key {key!r}; the fixtures have {', '.join(self.api_keys)}")
        asked = account.scopes if scopes is None else scopes.split() if isinstance(scopes, str) else scopes
        config = self.state.config
        granted = granted_scopes(account, asked)
        token, _ = issue(account, granted, self.state.clock.now(), config.token_lifetime, config.signing_key)
        self.state.coverage.note_granted(granted)  # the session summary's "scopes granted" counts these too
        return token

    # -- scenario and clock ---------------------------------------------------------------------
    def use_scenario(self, name: str) -> None:
        """Switch the scenario for the rest of this test (mock_api.scenarios.catalog.ScenarioError if unknown)."""
        self.state.set_scenario(name)

    @property
    def now(self) -> float:
        return self.state.clock.now()

    def advance(self, seconds: float) -> float:
        return self.state.clock.advance(seconds)

    def freeze(self) -> float:
        return self.state.clock.freeze()

    def unfreeze(self) -> float:
        return self.state.clock.unfreeze()

    def reset(self) -> None:
        """Back to the state the test started with (the fixture does this before every test)."""
        self.state.reset()

    # -- what happened ---------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """The journal of this test, oldest first (control calls under /_mock are not recorded)."""
        return [RecordedRequest.from_entry(e) for e in self.state.journal.entries()]

    @property
    def tasks(self) -> list[dict[str, Any]]:
        """Every task as GET /api/tasks/{id} serves it, plus why a failed one failed."""
        return self.state.backend.tasks(self.state.clock.now())

    @property
    def violations(self) -> list[dict[str, Any]]:
        """The contract violations of this test's client (GET /_mock/violations), as dicts."""
        return self.state.violations.entries()

    @property
    def violations_dropped(self) -> int:
        """New violations not kept because the log was full (MockConfig.violations_limit)."""
        return self.state.violations.dropped

    def expect_errors(self, *statuses: int) -> None:
        """Declare error statuses this test provokes on purpose (for the strict error-response check)."""
        if not statuses or not all(isinstance(s, int) and 400 <= s <= 599 for s in statuses):
            raise ValueError(f"expect_errors takes HTTP error statuses 400-599, got {statuses!r}")
        self.expected_errors.update(statuses)

    def unexpected_errors(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.status >= 400 and r.status not in self.expected_errors]

    # -- data for this test only -----------------------------------------------------------------
    def add_student(self, netid: str, pidm: str | int | None = None, first_name: str = "Test",
                    last_name: str = "Student") -> Student:
        """A student known until the next test; pidm defaults to a free 7-digit one."""
        if not netid or not isinstance(netid, str):
            raise ValueError("netid must be a non-empty string")
        pidm = self._free_pidm() if pidm is None else str(pidm)
        if not pidm.isdigit() or len(pidm) > 7:
            raise ValueError(f"pidm must be a Banner pidm of at most 7 digits, got {pidm!r}")
        student = Student(netid, pidm.zfill(7), first_name, last_name)
        self.state.backend.add_student(student)
        return student

    def add_petition(self, netid: str, petition_code: str, *, origin_code: str = "UREG", school: str = "UG",
                     decision: str = "APPV", grade_term: str | None = None,
                     effective_date: str | None = None) -> dict[str, Any]:
        """A petition readable at once until the next test, checked as a POSTed one; its record."""
        if effective_date is not None:
            datetime.strptime(effective_date, "%Y-%m-%dT%H:%M:%SZ")  # ValueError names the format
        payload = {"netid": netid, "petition_code": petition_code, "origin_code": origin_code, "school": school,
                   "decision": decision, "grade_term": grade_term, "user_netid": netid.upper()}
        return self.state.backend.add_petition(payload, effective_date)

    def _free_pidm(self) -> str:
        backend = self.state.backend
        taken = {s.pidm for s in (*self.state.dataset.students.values(), *backend.extra_students.values())}
        return next(p for p in (f"{n:07d}" for n in range(9000001, 10_000_000)) if p not in taken)


class MockApiServer:
    """The session's server: the state pool, the app switch and the thread; one per test process."""

    def __init__(self, base: MockConfig, timeout: float = DEFAULT_STARTUP_TIMEOUT,
                 health_path: str | None = None) -> None:
        self.pool = StatePool(base)
        _, app = self.pool.get()
        self.switch = AppSwitch(app)
        self.thread = ServerThread(self.switch)
        self.thread.start(timeout, health_path)

    @property
    def url(self) -> str:
        return self.thread.url

    def begin_test(self, seed: int | None = None, fixtures: str | Path | None = None,
                   scenario: str | None = None) -> MockApiHandle:
        """Reset the state for these settings, serve it, apply the scenario; the test's handle."""
        state, app = self.pool.get(seed, fixtures)
        state.reset()
        self.switch.switch(app)
        handle = MockApiHandle(self.url, state)
        if scenario is not None:
            handle.use_scenario(scenario)
        return handle

    def stop(self) -> None:
        self.thread.stop()
