"""mock_api inside a test process: a threaded server on port 0, one state per snapshot, the test handle."""
from __future__ import annotations

import contextlib
import itertools
import threading
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask

from mock_api.checkpoint import take
from mock_api.config import DEFAULT_STARTUP_TIMEOUT as DEFAULT_STARTUP_TIMEOUT  # re-exported by mock_api.testing
from mock_api.config import MockConfig
from mock_api.contract.coverage import Coverage
from mock_api.data.fixtures import Student
from mock_api.http.admission import served_hosts
from mock_api.http.app import create_app
from mock_api.http.views.sessions import EXTENSION as SESSIONS_EXTENSION
from mock_api.sessions import SessionError, Sessions
from mock_api.state import MockState
from mock_api.testing.handle import RecordedRequest as RecordedRequest  # re-exported: the harness's names stay
from mock_api.testing.handle import SharedHandle as SharedHandle
from mock_api.testing.interception import Route
from mock_api.testing.serving import HEALTH_PATH as HEALTH_PATH  # re-exported: the harness's names stay
from mock_api.testing.serving import AppSwitch as AppSwitch
from mock_api.testing.serving import MockApiStartupError as MockApiStartupError
from mock_api.testing.serving import ServerThread as ServerThread
from mock_api.testing.serving import probe as probe
from mock_api.verification import Expectation, check_match, failure_message, verify_requests

DEFAULT_KEY = "dev-readwrite"


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


class MockApiHandle(SharedHandle):
    """What a test gets: the server's URL and levers on the state serving it, reset before the test."""

    def __init__(self, url: str, state: MockState, sessions: Sessions | None = None,
                 session_name: str | None = None, ended: Coverage | None = None) -> None:
        self.url, self.state = url, state
        self._ended = ended  # where an ended session's coverage goes, for the test session's summary
        self.expected_errors: set[int] = set()
        self.session_name = session_name  # None: the session `default`, at the server's root URL
        self._sessions = sessions
        self._opened: list[MockApiHandle] = []

    # -- sessions --------------------------------------------------------------------------------
    def session(self, name: str | None = None) -> MockApiHandle:
        """A handle on a fresh session of the same server (its url ends in /s/{name}): one test, two
        consumers. Ended when this test ends; ValueError for a bad name or a full server."""
        if self._sessions is None:
            raise ValueError("sessions need the control API (MockConfig.control_api)")
        name = name or f"handle-{uuid.uuid4().hex[:16]}"
        try:
            state = self._sessions.fresh(name)
        except SessionError as exc:
            raise ValueError(exc.detail) from None
        handle = MockApiHandle(f"{self.root_url}/s/{name}", state, self._sessions, name, self._ended)
        self._opened.append(handle)
        return handle

    def _end_own_session(self, name: str) -> None:
        if self._sessions is None:
            return
        if self._ended is not None:
            self._ended.merge(self.state.coverage)
        # It may be ended already (DELETE /_mock/sessions/{name} by the test, or idle).
        with contextlib.suppress(SessionError):
            self._sessions.end(name)

    # -- clients as they ship -------------------------------------------------------------------
    def _check_route(self, route: Route) -> None:
        """A host this server does not answer (ini mock_api_allowed_hosts, mock_api_intercept_hosts) is a
        ValueError here rather than a 421 from the server's Host guard."""
        served = served_hosts(route.host, self.state.config.allowed_hosts)
        unserved = sorted(route.hosts - served) if served is not None else []
        if unserved:
            raise ValueError(f"intercept: this server refuses the Host {', '.join(unserved)} (421, its guard "
                             "against DNS rebinding); add it to ini mock_api_allowed_hosts")

    # -- credentials ---------------------------------------------------------------------------
    @property
    def api_keys(self) -> tuple[str, ...]:
        """The fixture API keys, sent raw to POST /api/jwt."""
        return tuple(self.state.dataset.accounts)

    def token(self, scopes: Sequence[str] | str | None = None, key: str = DEFAULT_KEY) -> str:
        """A JWT as POST /api/jwt issues it now: of `scopes` only those the key holds (all if None)."""
        return self.state.dev_token(key, scopes.split() if isinstance(scopes, str) else scopes)

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

    def snapshot(self) -> dict[str, Any]:
        """This test's state as one mock_api.snapshot/1 document, its journal included (GET /_mock/snapshot)."""
        return take(self.state, journal=True)

    # -- verification: the match keys of a scenario rule (docs/verifying.md) ----------------------
    def count_requests(self, **match: Any) -> int:
        """How many journal entries meet the match (method, path, query, headers, body, token)."""
        return verify_requests(self.state, check_match(match), Expectation.of(at_least=0)).count

    def assert_requested(self, *, times: int | None = None, at_least: int | None = None, at_most: int | None = None,
                         allow_dropped: bool = False, **match: Any) -> None:
        """AssertionError with the near misses unless the count holds (no count given: at least 1). With
        entries dropped from the journal, `times`/`at_most` fail unless `allow_dropped`."""
        verdict = verify_requests(self.state, check_match(match), Expectation.of(times, at_least, at_most),
                                  allow_dropped)
        if not verdict.ok:
            raise AssertionError(failure_message(match, verdict))

    def assert_not_requested(self, *, allow_dropped: bool = False, **match: Any) -> None:
        """AssertionError naming the matching requests if any entry meets the match."""
        self.assert_requested(times=0, allow_dropped=allow_dropped, **match)

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
        self.ended = Coverage(base.coverage_limit)  # what ended sessions' clients exercised
        self._tests = itertools.count(1)
        _, app = self.pool.get()
        self.switch = AppSwitch(app)
        self.thread = ServerThread(self.switch)
        # The harness's HEALTH_PATH, read now: a test may replace it to make the check fail.
        self.thread.start(timeout, HEALTH_PATH if health_path is None else health_path)

    @property
    def url(self) -> str:
        return self.thread.url

    def begin_test(self, seed: int | None = None, fixtures: str | Path | None = None,
                   scenario: str | None = None, own_session: bool = False) -> MockApiHandle:
        """Reset the state for these settings (or, with `own_session`, open a fresh session of it), serve
        it, apply the scenario; the test's handle."""
        state, app = self.pool.get(seed, fixtures)
        self.switch.switch(app)
        sessions: Sessions | None = app.extensions.get(SESSIONS_EXTENSION)
        if own_session and sessions is not None:
            handle = MockApiHandle(self.url, state, sessions, ended=self.ended).session(f"test-{next(self._tests)}")
        else:
            state.reset()
            handle = MockApiHandle(self.url, state, sessions, ended=self.ended)
        if scenario is not None:
            handle.use_scenario(scenario)
        return handle

    def coverage_reports(self) -> list[dict[str, Any]]:
        """One report of what the session's tests exercised: every snapshot's state and every ended session."""
        total = Coverage(self.pool.base.coverage_limit)
        for coverage in (*(state.coverage for state in self.pool.states()), self.ended):
            total.merge(coverage)
        return [total.report()]

    def stop(self) -> None:
        self.thread.stop()
