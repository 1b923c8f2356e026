"""Accepted tasks by due clock time: how each runs, popped in due order, dropped ones skipped and purged."""
from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class TaskBehaviour:
    """How one task runs, fixed when it is queued (a scenario may change it)."""

    seconds: float = 1.0
    fail: bool = False  # end with the seed's failure shape whatever the payload
    stale_cache: bool = False  # the new petition is readable only after the next cache refresh


class Pending(NamedTuple):
    """A task whose due time came: what its run needs. Made when popped; the heap holds plain tuples."""

    task_id: str
    due: float
    fail: bool
    stale_cache: bool


class TaskQueue:
    """A heap of accepted tasks as plain tuples of strings, numbers and flags (due, number, task id, fail,
    stale_cache): the cyclic GC stops tracking such a tuple after its first pass, so 100,000 queued tasks add
    next to nothing to a full collection (as objects they lengthened it). `number` is unique per task (the
    task store's cursor): a dropped one is remembered by it and skipped when popped, until the dropped ones
    are half the heap; then they are purged in one pass, so the heap holds at most twice the live."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, bool, bool]] = []
        self._dropped: set[int] = set()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, number: int, task_id: str, due: float, behaviour: TaskBehaviour) -> None:
        heapq.heappush(self._heap, (due, number, task_id, behaviour.fail, behaviour.stale_cache))

    def next_due(self) -> float | None:
        """The earliest due time held, None if empty; safe without the caller's lock (a racing pop at worst)."""
        try:
            return self._heap[0][0]
        except IndexError:
            return None

    def pop_due(self, now: float) -> Iterator[Pending]:
        """Each live task due by `now`, in due order (then queue order), removed as it is yielded."""
        while self._heap and self._heap[0][0] <= now:
            due, number, task_id, fail, stale_cache = heapq.heappop(self._heap)
            if number in self._dropped:
                self._dropped.discard(number)
                continue
            yield Pending(task_id, due, fail, stale_cache)

    def export(self) -> list[tuple[float, int, str, bool, bool]]:
        """The live queued runs (due, number, task id, fail, stale_cache): a snapshot's."""
        return sorted(item for item in self._heap if item[1] not in self._dropped)

    def restore(self, items: list[tuple[float, int, str, bool, bool]]) -> None:
        self._heap = sorted(items)  # a sorted list is a heap
        self._dropped = set()

    def drop(self, number: int) -> None:
        """Never run the task queued as `number`: it was dropped while accepted."""
        self._dropped.add(number)
        if len(self._dropped) * 2 > len(self._heap):
            self._heap = [item for item in self._heap if item[1] not in self._dropped]
            heapq.heapify(self._heap)
            self._dropped.clear()
