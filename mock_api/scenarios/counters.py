"""How many matching requests each counting rule has seen, per key: thread-safe, bounded, in arrival order."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class RuleCounters:
    """One count per (scenario, rule, per-key); past `limit` keys the least recently counted is dropped first
    (its next request counts from 1 again). Kept by the emulator state, so reset and sessions renew it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._counts: OrderedDict[Hashable, int] = OrderedDict()
        self.dropped = 0

    def count(self, key: Hashable) -> int:
        """This request's place among the key's matching requests: 1 for the first."""
        with self._lock:
            place = self._counts.pop(key, 0) + 1
            self._counts[key] = place
            if len(self._counts) > self.limit:
                self._counts.popitem(last=False)
                self.dropped += 1
            return place

    def export(self) -> tuple[list[tuple[Hashable, int]], int]:
        """The counts in counting order (least recent first) and how many were dropped: a snapshot's."""
        with self._lock:
            return list(self._counts.items()), self.dropped

    def restore(self, counts: list[tuple[Hashable, int]], dropped: int) -> None:
        with self._lock:
            self._counts = OrderedDict(counts[-self.limit:] if self.limit else [])
            self.dropped = dropped

    def __len__(self) -> int:
        with self._lock:
            return len(self._counts)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self.dropped = 0
