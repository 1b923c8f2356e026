"""The server's one memory budget: what every store keeps, per store and per session, and relief past it."""
from __future__ import annotations

import heapq
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("mock_api")
MIB = 1024 * 1024
# Relief frees down to this share of the budget, so that it runs once per many requests, not on each.
RELIEF_TARGET = 0.9
# A relief that could not get under its target (what is held is in use) runs again only once this share of the
# budget more is held: not on every request.
RELIEF_RETRY = 0.01
# What relief drops, in this order (docs/reference.md, Limits): the oldest journal entries of all sessions,
# then their oldest finished tasks; then idle sessions (Sessions.relieve, given as `session_relief`).
RELIEF_ORDER = ("journal", "tasks")
STORES = ("journal", "tasks", "petitions", "found_sets", "rendered", "counters", "violations", "coverage",
          "sessions")


class Relievable(Protocol):
    """A store relief may shrink: the age of its oldest droppable item, and dropping that item."""

    def relief_age(self) -> float | None:
        """The monotonic time its oldest droppable item was kept; None when it holds none."""

    def relieve_one(self) -> int:
        """Drop its oldest droppable item (released from its account); the bytes it held, 0 if none."""


class Account:
    """One store's share of the budget in one session: what it holds now. Closed: charges nothing more."""

    __slots__ = ("__weakref__", "budget", "closed", "held", "session", "store")

    def __init__(self, budget: MemoryBudget | None, session: str, store: str) -> None:
        self.budget, self.session, self.store = budget, session, store
        self.held, self.closed = 0, False

    def charge(self, size: int) -> None:
        if self.budget is not None:
            self.budget.change(self, size)

    def release(self, size: int) -> None:
        self.charge(-size)

    def close(self) -> None:
        """The store is gone (a reset, an ended session): everything it held is released."""
        self.charge(-self.held)
        self.closed = True


def uncounted() -> Account:
    """The account of a store made without a budget (tests, tools): it counts nothing."""
    return Account(None, "", "")


class MemoryBudget:
    """Bytes held by every store of every session of one server, against one limit; thread-safe.

    Stores charge what they keep when they keep it and release it when they drop it; past the limit, `relieve`
    drops in RELIEF_ORDER until the total is back under RELIEF_TARGET of it, in a thread of its own (started on
    first need) that `relieve_soon` wakes: no request waits for it. It never refuses a charge."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.reliefs = 0  # times relief ran
        self.dropped = {"journal": 0, "tasks": 0, "sessions": 0}
        self.session_relief: Callable[[int], int] | None = None  # ends idle sessions down to a byte total
        self._stores = dict.fromkeys(STORES, 0)
        self._sessions: dict[str, int] = {}
        self._holders: dict[str, weakref.WeakSet[Any]] = {store: weakref.WeakSet() for store in RELIEF_ORDER}
        self._lock = threading.Lock()
        self._relieving = threading.Lock()
        self._stuck_at: int | None = None  # what was held after a relief that missed its target
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def account(self, session: str, store: str, holder: Relievable | None = None) -> Account:
        """A new account of `store` in `session`; a `holder` of a RELIEF_ORDER store is one relief may shrink."""
        if holder is not None:
            with self._lock:
                self._holders[store].add(holder)
        return Account(self, session, store)

    def change(self, account: Account, size: int) -> None:
        if account.closed or not size:
            return
        with self._lock:
            account.held += size
            self.used += size
            self._stores[account.store] += size
            total = self._sessions.get(account.session, 0) + size
            if total:
                self._sessions[account.session] = total
            else:
                self._sessions.pop(account.session, None)

    def over(self) -> bool:
        return self.used > self.limit

    def session_bytes(self, session: str) -> int:
        with self._lock:
            return self._sessions.get(session, 0)

    def relieve_soon(self) -> None:
        """Past the limit, wake the relief thread; not again while a relief missed its target and little more
        is held since. Cheap: every journaled request calls it."""
        if not self.over():
            self._stuck_at = None  # back under (a reset, an ended session): the next time over is a new one
            return
        if self._stuck_at is not None and self.used < self._stuck_at + self.limit * RELIEF_RETRY:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._relieving_loop, name="mock_api-relief", daemon=True)
                self._thread.start()
        self._wake.set()

    def _relieving_loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                self.relieve()
            except Exception:  # a store that failed to drop must not end relief for the server's life
                log.exception("memory budget relief failed")

    def relieve(self) -> None:
        """Past the limit, drop in RELIEF_ORDER, then idle sessions, down to RELIEF_TARGET of it (after a relief
        running in another thread). The caller holds no store's lock."""
        with self._relieving:
            if not self.over():
                return
            self.reliefs += 1
            target = int(self.limit * RELIEF_TARGET)
            for store in RELIEF_ORDER:
                self.dropped[store] += self._drop_oldest(store, target)
                if self.used <= target:
                    break
            else:
                if self.session_relief is not None:
                    self.dropped["sessions"] += self.session_relief(target)
            self._stuck_at = None if self.used <= target else self.used

    def _drop_oldest(self, store: str, target: int) -> int:
        """Drop the oldest items of every holder of `store` together, oldest first; how many."""
        with self._lock:
            holders = list(self._holders[store])
        heap = [(age, number) for number, holder in enumerate(holders)
                if (age := holder.relief_age()) is not None]
        heapq.heapify(heap)
        dropped = 0
        while heap and self.used > target:
            _, number = heapq.heappop(heap)
            holder = holders[number]
            if holder.relieve_one():
                dropped += 1
            age = holder.relief_age()
            if age is not None:
                heapq.heappush(heap, (age, number))
        return dropped

    def describe(self) -> dict[str, Any]:
        """What GET /_mock/health and the dashboard show: the limit, what is held, by store, and the drops."""
        with self._lock:
            stores = {store: size for store, size in self._stores.items()}
        return {"budget_bytes": self.limit, "used_bytes": self.used, "stores": stores,
                "relief_order": [*RELIEF_ORDER, "idle sessions"], "reliefs": self.reliefs,
                "dropped": dict(self.dropped)}
