"""Accepted tasks by due clock time: how each runs, popped in due order, dropped ones skipped and purged."""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TaskBehaviour:
    """How one task runs, fixed when it is queued (a scenario may change it)."""

    seconds: float = 1.0
    fail: bool = False  # end with the seed's failure shape whatever the payload
    stale_cache: bool = False  # the new petition is readable only after the next cache refresh


@dataclass(slots=True)  # one per task held (up to --max-tasks): no __dict__ each
class Pending:
    """An accepted task waiting for its due time; `dropped` once the task store let it go (max_tasks)."""

    task_id: str
    due: float
    behaviour: TaskBehaviour
    dropped: bool = False


class TaskQueue:
    """A heap of pending tasks. A dropped one stays in the heap, skipped when popped, until the dropped
    ones are half the heap: then they are purged in one pass, so the heap holds at most twice the live."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Pending]] = []
        self._sequence = itertools.count()
        self._dropped = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, pending: Pending) -> None:
        heapq.heappush(self._heap, (pending.due, next(self._sequence), pending))

    def next_due(self) -> float | None:
        """The earliest due time held, None if empty; safe without the caller's lock (a racing pop at worst)."""
        try:
            return self._heap[0][0]
        except IndexError:
            return None

    def pop_due(self, now: float) -> Iterator[Pending]:
        """Each live task due by `now`, in due order (then queue order), removed as it is yielded."""
        while self._heap and self._heap[0][0] <= now:
            _, _, pending = heapq.heappop(self._heap)
            if pending.dropped:
                self._dropped -= 1
                continue
            yield pending

    def drop(self, pending: Pending) -> None:
        """Never run this task: it was dropped while accepted."""
        pending.dropped = True
        self._dropped += 1
        if self._dropped * 2 > len(self._heap):
            self._heap = [item for item in self._heap if not item[2].dropped]
            heapq.heapify(self._heap)
            self._dropped = 0
