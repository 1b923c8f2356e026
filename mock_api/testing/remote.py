"""Attach mode: the test handle over the control API of a mock_api server that is already running."""
from __future__ import annotations

import contextlib
import http.client
import json
import urllib.parse
import uuid
from collections.abc import Sequence
from typing import Any

from mock_api.http.paths import TOKEN_HEADER
from mock_api.scenarios.catalog import ScenarioError
from mock_api.testing.handle import RecordedRequest, SharedHandle
from mock_api.testing.harness import DEFAULT_KEY
from mock_api.verification import Expectation, NearMiss, Verdict, check_match, failure_message

TIMEOUT = 30.0  # seconds for one control call: a journal page can be large
MAX_PAGES = 1000  # the journal's pages followed at most (each up to 1,000 entries)
NEVER = 2**53  # a count of matching requests no journal reaches (its entries are bounded)


class MockApiAttachError(RuntimeError):
    """A control call to the attached server failed: not reachable, or an answer that is not 2xx."""


class ControlClient:
    """JSON calls to one server's /_mock API, with the control token when one is set (no proxy)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = TIMEOUT) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"--mock-api-url must be http://HOST:PORT[/s/SESSION], got {url!r}")
        self.url = url.rstrip("/")
        self.token, self.timeout = token, timeout
        self._host, self._port, self._root = parts.hostname, parts.port, parts.path.rstrip("/")

    def call(self, method: str, path: str, body: Any = None, missing_ok: bool = False) -> tuple[Any, dict[str, str]]:
        """(JSON body, headers) of `method path`; MockApiAttachError naming the call for anything but 2xx."""
        headers = {"Accept": "application/json"}
        if self.token is not None:
            headers[TOKEN_HEADER] = self.token
        data = None if body is None else json.dumps(body).encode("utf-8")
        if data is not None:
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        try:
            connection.request(method, self._root + path, body=data, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
            found = {k.lower(): v for k, v in answer.getheaders()}
        except (OSError, http.client.HTTPException) as exc:
            raise MockApiAttachError(f"mock_api at {self.url}: {method} {path}: {type(exc).__name__}: {exc}") from None
        finally:
            connection.close()
        if missing_ok and answer.status == 404:
            return None, found
        if not 200 <= answer.status < 300:
            raise MockApiAttachError(f"mock_api at {self.url}: {method} {path} answered {answer.status}: {text[:500]}")
        return (json.loads(text) if text else None), found

    def at(self, session: str) -> ControlClient:
        """The same server, under /s/{session}."""
        return ControlClient(f"{self.url}/s/{session}", self.token, self.timeout)


class RemoteHandle(SharedHandle):
    """The `mock_api` fixture's handle in attach mode: the in-process handle's levers as control calls."""

    def __init__(self, client: ControlClient, session_name: str | None = None) -> None:
        self.client, self.url = client, client.url
        self.expected_errors: set[int] = set()
        self.session_name = session_name
        self._opened: list[RemoteHandle] = []
        # Where this test's evidence starts: the server keeps a whole run's journal and violations (a CI script
        # saves them at the end), so the handle shows those after the last seq and the counts beyond these.
        self._after = 0
        self._seen: dict[tuple[str, str, str, str], int] = {}

    # -- sessions --------------------------------------------------------------------------------
    def session(self, name: str | None = None) -> RemoteHandle:
        """A handle on a fresh session of the same server (url ends in /s/{name}), ended after the test."""
        name = name or f"handle-{uuid.uuid4().hex[:16]}"
        root = self._root()
        root.call("DELETE", f"/_mock/sessions/{urllib.parse.quote(name, safe='')}", missing_ok=True)
        handle = RemoteHandle(root.at(name), name)
        handle.reset()  # its first request creates it, fresh
        self._opened.append(handle)
        return handle

    def _root(self) -> ControlClient:
        return ControlClient(self.root_url, self.client.token, self.client.timeout)

    def _end_own_session(self, name: str) -> None:
        with contextlib.suppress(MockApiAttachError):  # a server already gone has no session to end
            self._root().call("DELETE", f"/_mock/sessions/{name}", missing_ok=True)

    # -- credentials, scenario and clock ---------------------------------------------------------
    def token(self, scopes: Sequence[str] | str | None = None, key: str = DEFAULT_KEY) -> str:
        """A JWT as POST /api/jwt issues it now (POST /_mock/token: not in the journal)."""
        asked = scopes.split() if isinstance(scopes, str) else None if scopes is None else list(scopes)
        try:
            body, _ = self.client.call("POST", "/_mock/token", {"key": key, "scopes": asked})
        except MockApiAttachError as exc:
            raise ValueError(str(exc)) from None
        return str(body["jwt"])

    def use_scenario(self, name: str) -> None:
        """Switch the scenario for the rest of this test (ScenarioError naming the problem if refused)."""
        try:
            self.client.call("PUT", "/_mock/scenario", {"name": name})
        except MockApiAttachError as exc:
            raise ScenarioError(str(exc)) from None

    @property
    def now(self) -> float:
        return float(self.client.call("GET", "/_mock/clock")[0]["epoch"])

    def advance(self, seconds: float) -> float:
        return float(self.client.call("POST", "/_mock/clock/advance", {"seconds": seconds})[0]["epoch"])

    def freeze(self) -> float:
        return float(self.client.call("POST", "/_mock/clock/freeze")[0]["epoch"])

    def unfreeze(self) -> float:
        return float(self.client.call("POST", "/_mock/clock/unfreeze")[0]["epoch"])

    def reset(self) -> None:
        """Back to start-up, keeping the journal and violations on the server; this handle then shows only
        what comes after."""
        self.client.call("POST", "/_mock/reset?keep=journal,violations")
        newest = self.client.call("GET", "/_mock/requests?tail=1")[0]
        self._after = int(newest[-1]["seq"]) if newest else 0
        self._seen = {_key(v): int(v["count"]) for v in self.client.call("GET", "/_mock/violations")[0]}

    # -- what happened ---------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """The journal of this test, oldest first, every page of GET /_mock/requests."""
        return [RecordedRequest.from_entry(e) for e in self._pages("/_mock/requests")]

    @property
    def tasks(self) -> list[dict[str, Any]]:
        return self._pages("/_mock/tasks")

    @property
    def violations(self) -> list[dict[str, Any]]:
        """This test's contract violations: new ones, and earlier ones seen again (counted from this test)."""
        found = []
        for item in self.client.call("GET", "/_mock/violations")[0]:
            repeats = int(item["count"]) - self._seen.get(_key(item), 0)
            if repeats > 0:
                found.append({**item, "count": repeats})
        return found

    @property
    def violations_dropped(self) -> int:
        return int(self.client.call("GET", "/_mock/violations")[1].get("x-violations-dropped", "0"))

    # -- verification (docs/verifying.md): POST /_mock/verify, its answer cut to this test's entries -------
    def count_requests(self, **match: Any) -> int:
        """How many of this test's journal entries meet the match (method, path, query, headers, body, token)."""
        return self._verdict(match, Expectation.of(at_least=0), False).count

    def assert_requested(self, *, times: int | None = None, at_least: int | None = None, at_most: int | None = None,
                         allow_dropped: bool = False, **match: Any) -> None:
        """AssertionError with the near misses unless the count holds (no count given: at least 1)."""
        verdict = self._verdict(match, Expectation.of(times, at_least, at_most), allow_dropped)
        if not verdict.ok:
            raise AssertionError(failure_message(match, verdict))

    def assert_not_requested(self, *, allow_dropped: bool = False, **match: Any) -> None:
        """AssertionError naming the matching requests if any of this test's entries meets the match."""
        self.assert_requested(times=0, allow_dropped=allow_dropped, **match)

    def _verdict(self, match: dict[str, Any], expectation: Expectation, allow_dropped: bool) -> Verdict:
        check_match(match)  # a bad match is the in-process handle's MatchError, before any call
        # A count never met: the server always lists its near misses, and this test's are among them unless
        # earlier tests' entries (the server keeps the run's journal) came closer.
        body = self.client.call("POST", "/_mock/verify", {"match": match, "at_least": NEVER, "allow_dropped": True})[0]
        matched = tuple(int(seq) for seq in body["matched"] if int(seq) > self._after)
        dropped = max(0, int(body["dropped"]) - self._after)  # this test's own entries the journal dropped
        ok = expectation.holds(len(matched)) and (allow_dropped or not dropped or not expectation.bounded_above)
        near = [m for m in body["near_misses"] if int(m["seq"]) > self._after] if not ok else []
        status = {r.seq: r.status for r in self.requests} if near else {}  # the verdict names no status
        misses = tuple(NearMiss(int(m["seq"]), m["method"], m["path"], status.get(int(m["seq"])),
                                tuple(m["differs"])) for m in near)
        return Verdict(ok, matched, dropped, expectation, misses)

    def snapshot(self) -> dict[str, Any]:
        """GET /_mock/snapshot, its journal cut to this test's entries (the server keeps the whole run's)."""
        document: dict[str, Any] = self.client.call("GET", "/_mock/snapshot")[0]
        document["journal"] = [r for r in document.get("journal") or [] if int(r["seq"]) > self._after]
        return document

    def add_student(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("add_student needs the in-process server: the control API of an attached one "
                                  "takes no data (give it --fixtures instead)")

    def add_petition(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("add_petition needs the in-process server: the control API of an attached one "
                                  "takes no data (give it --fixtures instead)")

    def _pages(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = str(self._after) if path == "/_mock/requests" else "0"
        for _ in range(MAX_PAGES):
            page, headers = self.client.call("GET", f"{path}?cursor={cursor}")
            items += page
            link = headers.get("link", "")
            if "cursor=" not in link:
                break
            cursor = link.split("cursor=", 1)[1].split(">", 1)[0]
        return items


def _key(violation: dict[str, Any]) -> tuple[str, str, str, str]:
    return (violation["kind"], violation["method"], violation["path"], violation["message"])


class RemoteServer:
    """The session's attached server: where it is, the control token, and a handle per test."""

    def __init__(self, url: str, token: str | None = None, scenario: str | None = None) -> None:
        self.client = ControlClient(url, token)
        self.scenario = scenario
        body, _ = self.client.call("GET", "/_mock/health")  # fails at once, naming the URL, if nothing is there
        if not isinstance(body, dict) or body.get("status") != "ok":
            raise MockApiAttachError(f"mock_api at {self.client.url}: GET /_mock/health answered {body!r}")

    @property
    def url(self) -> str:
        return self.client.url

    def begin_test(self, seed: int | None = None, fixtures: object = None, scenario: str | None = None,
                   own_session: bool = False) -> RemoteHandle:
        """Reset the server (or open a fresh session of it, named uniquely: other processes may share it),
        apply the scenario (the test's, else the session's); the test's handle."""
        if seed is not None or fixtures is not None:
            raise ValueError("seed and fixtures are the attached server's own (its --seed and --fixtures): "
                             "a test cannot change them with --mock-api-url")
        handle = RemoteHandle(self.client)
        if own_session:
            handle = handle.session(f"test-{uuid.uuid4().hex[:16]}")
        else:
            handle.reset()
        if scenario is not None or self.scenario is not None:
            handle.use_scenario(scenario or str(self.scenario))
        return handle

    def coverage_reports(self) -> list[dict[str, Any]]:
        """GET /_mock/coverage: what every client of the server exercised (other processes' tests too)."""
        return [self.client.call("GET", "/_mock/coverage")[0]]

    def stop(self) -> None:
        """Nothing to stop: the server is the caller's."""
