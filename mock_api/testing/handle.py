"""What the in-process and the attached test handle share: a journal entry as a test reads it, the URL
helpers, interception and the checks of a test's errors and violations."""
from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urljoin

from mock_api.contract.strict import ANSWER_KINDS
from mock_api.testing.interception import DEFAULT_HOSTS, Route, intercepting, route_for


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
    status: int | None  # None: a fault dropped the connection unanswered
    duration_ms: float
    injected: bool = False  # the scenario answered, not the API (the journal's `injected`)
    extra: dict[str, Any] = field(default_factory=dict)  # fields other parts of mock_api add

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> RecordedRequest:
        known = {f.name for f in fields(cls)} - {"extra"}
        values: dict[str, Any] = {k: entry.get(k) for k in known}
        values["injected"] = bool(values["injected"])
        return cls(**values,
                   extra={k: v for k, v in entry.items() if k not in known})

    def json(self) -> Any:
        """The body parsed as JSON (None without a body); ValueError if it is not JSON."""
        return None if self.body is None else json.loads(self.body)


class SharedHandle:
    """What the in-process and the attached handle share: the URL helpers, interception and the checks of a
    test's error answers and violations against what it declared it provokes."""

    url: str
    session_name: str | None
    expected_errors: set[int]
    _opened: list[Any]  # the session handles this one opened (each a handle of the same kind)

    @property
    def root_url(self) -> str:
        """The server's URL, without this handle's /s/{name}."""
        return self.url.split("/s/", 1)[0]

    def close(self) -> None:
        """End the sessions this handle opened (and its own, if it is one): the fixture calls it after the test."""
        for handle in self._opened:
            handle.close()
        self._opened.clear()
        if self.session_name is not None:
            self._end_own_session(self.session_name)

    def _end_own_session(self, name: str) -> None:
        raise NotImplementedError

    @property
    def requests(self) -> list[RecordedRequest]:
        raise NotImplementedError

    @property
    def violations(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    @contextlib.contextmanager
    def intercept(self, hosts: Iterable[str] | str = DEFAULT_HOSTS, strict_hosts: bool = False) -> Iterator[Any]:
        """Until the block ends, HTTP(S) calls to `hosts` made through requests, urllib3 or httpx (sync and
        async) go to this emulator, in this handle's session; with `strict_hosts`, a call to any other host but
        the emulator raises mock_api.testing.interception.InterceptionError. The calls keep the Host they
        meant."""
        route = route_for(self.url, self.session_name, hosts, strict_hosts)
        self._check_route(route)
        with intercepting(route):
            yield self

    def _check_route(self, route: Route) -> None:
        """Nothing known to check: an attached server's Host guard answers a Host it refuses 421 itself."""

    def follow(self, location: str) -> str:
        """The absolute URL of a Location this emulator sent (a path from the server's root, keeping a
        /s/{name} prefix): `self.url + location` would double the prefix of a session."""
        return urljoin(self.url + "/", location)

    def expect_errors(self, *statuses: int) -> None:
        """Declare error statuses this test provokes on purpose: neither the error-response check nor strict
        mode counts them (a 403 expected is no `scope` violation either)."""
        if not statuses or not all(isinstance(s, int) and 400 <= s <= 599 for s in statuses):
            raise ValueError(f"expect_errors takes HTTP error statuses 400-599, got {statuses!r}")
        self.expected_errors.update(statuses)

    def unexpected_errors(self) -> list[RecordedRequest]:
        """Error answers the test did not expect: not declared, and not injected by its scenario."""
        return [r for r in self.requests if r.status is not None and r.status >= 400
                and r.status not in self.expected_errors and not r.injected]

    def unexpected_violations(self) -> list[dict[str, Any]]:
        """The contract violations, less those that only explain an error status the test expects."""
        return [v for v in self.violations if ANSWER_KINDS.get(v["kind"]) not in self.expected_errors]
