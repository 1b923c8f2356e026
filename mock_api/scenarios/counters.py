"""How many matching requests each counting rule has seen, per key (in all, or in a clock window): thread-safe,
bounded, in arrival order."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence

from mock_api.service.budget import Account, uncounted

WindowKey = tuple[str, int, int, str]  # a rate-limit window's: scenario, rule index, effect index, token sub

# A counter's bytes for the memory budget: its key tuple (scenario, rule, per-key) and its dict entry.
COUNTER_BYTES = 256


class RuleCounters:
    """One count per (scenario, rule, per-key); past `limit` keys the least recently counted is dropped first
    (its next request counts from 1 again). Kept by the emulator state, so reset and sessions renew it."""

    def __init__(self, limit: int, account: Account | None = None) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._counts: OrderedDict[Hashable, int] = OrderedDict()
        self._windows: OrderedDict[WindowKey, tuple[int, float]] = OrderedDict()  # key: (place, window's end)
        self.dropped = 0
        self._account = account or uncounted()

    def count(self, key: Hashable) -> int:
        """This request's place among the key's matching requests: 1 for the first."""
        with self._lock:
            place = self._counts.pop(key, 0) + 1
            self._counts[key] = place
            if place == 1:
                self._account.charge(COUNTER_BYTES)
            if len(self._counts) > self.limit:
                self._counts.popitem(last=False)
                self._account.release(COUNTER_BYTES)
                self.dropped += 1
            return place

    def in_window(self, key: WindowKey, now: float, seconds: float) -> tuple[int, float]:
        """This request's place in the key's current window of `seconds` of clock time (1 for the first), and
        when that window ends. A window opens with its first request; one the clock has left (forwards, or
        backwards before its start) is over, and the request opens the next."""
        with self._lock:
            place, ends = self._windows.pop(key, (0, now + seconds))
            if not ends - seconds <= now < ends:
                place, ends = 0, now + seconds
            self._windows[key] = (place + 1, ends)
            if len(self._windows) > self.limit:
                self._windows.popitem(last=False)
                self.dropped += 1
            return place + 1, ends

    def export(self) -> tuple[list[tuple[Hashable, int]], int]:
        """The counts in counting order (least recent first) and how many were dropped: a snapshot's."""
        with self._lock:
            return list(self._counts.items()), self.dropped

    def windows(self) -> list[tuple[WindowKey, int, float]]:
        """The open windows (key, place, end) in counting order (least recent first): a snapshot's."""
        with self._lock:
            return [(key, place, ends) for key, (place, ends) in self._windows.items()]

    def restore(self, counts: list[tuple[Hashable, int]], dropped: int,
                windows: Sequence[tuple[WindowKey, int, float]] = ()) -> None:
        kept = windows[-self.limit:] if self.limit else ()
        with self._lock:
            self._account.release(COUNTER_BYTES * len(self._counts))
            self._counts = OrderedDict(counts[-self.limit:] if self.limit else [])
            self._windows = OrderedDict((key, (place, ends)) for key, place, ends in kept)
            self._account.charge(COUNTER_BYTES * len(self._counts))
            self.dropped = dropped

    def __len__(self) -> int:
        with self._lock:
            return len(self._counts) + len(self._windows)

    def clear(self) -> None:
        with self._lock:
            self._account.release(COUNTER_BYTES * len(self._counts))
            self._counts.clear()
            self._windows.clear()
            self.dropped = 0
