"""Sessions: isolated emulators on one server, sharing the snapshot and signing key; a bounded registry."""
from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mock_api.service import errors
from mock_api.service.clock import iso_micro_z
from mock_api.service.names import NAME_PATTERN
from mock_api.state import MockState

DEFAULT = "default"
# Idle sessions are looked for at most this often (real seconds): a sweep walks every session.
SWEEP_SECONDS = 1.0


class SessionError(Exception):
    """A request the registry refuses: a bad name (400), the limit (503), an unknown (404) or a lost session (410)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise SessionError(400, errors.SESSION_NAME.format(name=name[:80]))
    return name


def session_seed(seed: int, name: str) -> int:
    """The seed of a session's ids and dice: the dataset's for `default` (as before sessions), else one of
    its own, the same for the same name, so two sessions never hand out the same task id."""
    if name == DEFAULT:
        return seed
    digest = hashlib.sha256(name.encode("ascii")).digest()
    return seed ^ int.from_bytes(digest[:8], "big")


@dataclass
class Session:
    """One session's state and its bookkeeping (wall time for the listing, monotonic time for idleness)."""

    name: str
    state: MockState
    created: float
    last_used: float
    last_used_at: float
    requests: int = 0

    def describe(self) -> dict[str, Any]:
        state = self.state
        return {"name": self.name, "created": iso_micro_z(self.created),
                "last_used": iso_micro_z(self.last_used_at), "requests": self.requests,
                "tasks": state.backend.task_count()}


class Sessions:
    """Every session of one server, `default` first; at most config.max_sessions, idle ones ended."""

    def __init__(self, default: MockState, monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.default = default
        self.limit, self.idle_seconds = default.config.max_sessions, default.config.session_idle_seconds
        self._monotonic, self._wall = monotonic, wall
        self._lock = threading.Lock()
        now = monotonic()
        self._sessions = {DEFAULT: Session(DEFAULT, default, wall(), now, wall())}
        self._swept = self._started = now
        # Sessions a previous run of this process held (--sessions-file): they answer 410 until ended.
        self._lost: set[str] = set()
        self._names: NameFile | None = None
        path = default.config.sessions_file
        if path is not None:
            self._lost = left_names(path)
            self._names = NameFile(path, self._lost, bound=2 * self.limit + 64)

    def use(self, name: str, may_create: bool = True) -> MockState:
        """The state of session `name`, created on first use (when `may_create`: with a control token set,
        only a caller who sends it creates sessions); counts the request. SessionError if refused."""
        check_name(name)
        now = self._monotonic()
        with self._lock:
            self._sweep(now)
            if name in self._lost:
                raise SessionError(410, errors.SESSION_LOST.format(name=name))
            session = self._sessions.get(name)
            if session is not None and name != DEFAULT and now - session.last_used > self.idle_seconds:
                session = None  # ended while idle: this request starts a fresh one
                del self._sessions[name]
            if session is None:
                if not may_create:
                    raise SessionError(401, errors.CONTROL_TOKEN)
                session = self._create(name, now)
            session.requests += 1
            if session.requests == 1 and name == DEFAULT:  # `default` has state worth losing once used
                self._note("+", DEFAULT)
            session.last_used, session.last_used_at = now, self._wall()
            return session.state

    def fresh(self, name: str) -> MockState:
        """A new session `name` (one of that name is ended first), not counted as a request; SessionError."""
        if check_name(name) == DEFAULT:
            raise SessionError(400, errors.SESSION_DEFAULT_KEPT)
        now = self._monotonic()
        with self._lock:
            self._sessions.pop(name, None)
            self._lost.discard(name)
            return self._create(name, now).state

    def _create(self, name: str, now: float) -> Session:
        if len(self._sessions) + len(self._lost) >= self.limit:  # a lost session holds its place until ended
            self._sweep(now, force=True)  # an idle one may free a place; an active one is never evicted
            if len(self._sessions) + len(self._lost) >= self.limit:
                raise SessionError(503, errors.SESSION_LIMIT.format(limit=self.limit))
        state = self.default.new_session(session_seed(self.default.dataset.seed, name))
        wall = self._wall()
        session = self._sessions[name] = Session(name, state, wall, now, wall)
        self._note("+", name)
        return session

    def _sweep(self, now: float, force: bool = False) -> None:
        if not force and now - self._swept < SWEEP_SECONDS:
            return
        self._swept = now
        idle = [name for name, s in self._sessions.items() if name != DEFAULT and now - s.last_used > self.idle_seconds]
        for name in idle:
            del self._sessions[name]
            self._note("-", name)
        if self._lost and now - self._started > self.idle_seconds:  # unused this long: they would have ended
            gone = sorted(self._lost)
            self._lost.clear()
            for name in gone:
                self._note("-", name)

    def end(self, name: str) -> None:
        """End a session (its state is dropped) or a lost one's mark (`default`'s too); SessionError for
        `default`, a bad or an unknown name."""
        check_name(name)
        with self._lock:
            if name in self._lost:
                self._lost.discard(name)
                self._note("-", name)
                return
        if name == DEFAULT:
            raise SessionError(400, errors.SESSION_DEFAULT_KEPT)
        with self._lock:
            if self._sessions.pop(name, None) is None:
                raise SessionError(404, errors.SESSION_UNKNOWN.format(name=name))
            self._note("-", name)

    def _note(self, sign: str, name: str) -> None:
        """Write a change to the sessions file, if any (the lock is held)."""
        if self._names is not None:
            self._names.note(sign, name, self._held)

    def _held(self) -> list[str]:
        """Every name whose state a crash would lose: the live sessions, `default` once used, the lost ones."""
        live = [name for name, s in self._sessions.items() if name != DEFAULT or s.requests]
        return live + sorted(self._lost - set(live))

    def listing(self) -> list[dict[str, Any]]:
        """Every live session in creation order, `default` first."""
        with self._lock:
            self._sweep(self._monotonic(), force=True)
            sessions = list(self._sessions.values())
        return [session.describe() for session in sessions]

    def get(self, name: str) -> MockState | None:
        """A live session's state without counting a request (the pytest handle, tests)."""
        with self._lock:
            session = self._sessions.get(name)
        return None if session is None else session.state

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


def left_names(path: Path) -> set[str]:
    """The names a sessions file holds: each `+name` line adds one, each `-name` line removes it."""
    names: set[str] = set()
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return names
    for line in text.splitlines():
        name = line[1:]
        if line.startswith("+") and NAME_PATTERN.fullmatch(name):
            names.add(name)
        elif line.startswith("-"):
            names.discard(name)
    return names


class NameFile:
    """A sessions file: one change a line (`+name`, `-name`), each written to the kernel at once, so a process
    killed at any moment leaves the names it held; rewritten whole once it passes `bound` lines."""

    def __init__(self, path: Path, names: Iterable[str], bound: int) -> None:
        self.path, self.bound = path, bound
        self._file: IO[str] | None = None
        self._lines = 0
        self.rewrite(names)

    def rewrite(self, names: Iterable[str]) -> None:
        if self._file is not None:
            self._file.close()
        held = list(names)
        fresh = self.path.with_name(self.path.name + ".new")
        fresh.write_text("".join(f"+{name}\n" for name in held), encoding="ascii")
        fresh.replace(self.path)
        self._file = self.path.open("a", encoding="ascii", buffering=1)  # line-buffered: a write per change
        self._lines = len(held)

    def note(self, sign: str, name: str, held: Callable[[], Iterable[str]]) -> None:
        if self._file is None:
            return
        try:
            self._file.write(f"{sign}{name}\n")
            self._lines += 1
            if self._lines > self.bound:
                self.rewrite(held())
        except OSError as exc:  # a full disk must not fail the request: say so once, and stop keeping it
            print(f"mock_api: sessions file {self.path} no longer kept: {exc}", file=sys.stderr, flush=True)
            self._file = None
