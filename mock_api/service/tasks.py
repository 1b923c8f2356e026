"""The tasks held, in submit order and bounded: an accepted one as its dict, a completed one as its JSON."""
from __future__ import annotations

import itertools
import json
import time
from collections import deque
from typing import Any, NamedTuple

from mock_api.service.budget import Account
from mock_api.service.rendered import to_json

TASK_FIELDS = ("resource", "action", "resource_id", "payload", "requester", "status", "request_date",
               "completed_date", "path", "worker_data", "id", "message")
# A task's bytes beside its payload (dict, requester, dates, message), to bound a page of the control API.
TASK_OVERHEAD_BYTES = 1024
# A parsed payload's objects beside its text, per container and item: a 1 MB body of `{}` is 20 MB as dicts.
PAYLOAD_ITEM_BYTES = 64

# A completed task never changes again: (its requester's `sub`, its JSON as a poll answers it).
Written = tuple[Any, bytes]


class Accepted(NamedTuple):
    """An accepted task: what its JSON holds beyond constants. Three references for the GC to visit, where
    the task's dict had twelve; the dict is built when served or completed."""

    payload: Any
    requester: dict[str, Any]
    request_date: str

    def served(self, task_id: str) -> dict[str, Any]:
        """The task as a poll shows it while accepted, in the seed's field order."""
        task = dict.fromkeys(TASK_FIELDS)
        task.update(resource="academic.petitions", action="POST", payload=self.payload, requester=self.requester,
                    status="accepted", request_date=self.request_date, worker_data={}, id=task_id)
        return task


def completed_bytes(written: bytes, reason: str | None) -> int:
    """What a completed task held as its JSON costs: the JSON, its failure reason and the overhead."""
    return len(written) + len(reason or "") + TASK_OVERHEAD_BYTES


def _least_bytes(task: Accepted | Written | dict[str, Any], reason: str | None) -> int:
    """The fewest bytes a restored task can have been held with: what it measures (a submit charged its posted
    body, never shorter than its compact payload)."""
    if isinstance(task, Accepted):
        return payload_bytes(task.payload, len(to_json(task.payload, default=str))) + TASK_OVERHEAD_BYTES
    if isinstance(task, dict):
        return len(to_json(task, default=str)) + len(reason or "")
    return completed_bytes(task[1], reason)


def payload_bytes(payload: Any, body_bytes: int) -> int:
    """What an accepted task's parsed payload holds: its body's bytes, and an object's bytes per container and
    item in it (a petition's flat object is walked at once; only a nested one costs a walk)."""
    if isinstance(payload, dict) and not any(isinstance(value, (dict, list)) for value in payload.values()):
        return body_bytes + PAYLOAD_ITEM_BYTES * (1 + len(payload))
    items, pending = 0, [payload]
    while pending:
        value = pending.pop()
        items += 1
        if isinstance(value, dict):
            pending.extend(value.values())
            items += len(value)  # its keys
        elif isinstance(value, list):
            pending.extend(value)
    return body_bytes + PAYLOAD_ITEM_BYTES * items


class TaskStore:
    """Every task by id, in submit order, at most `limit`: past it the oldest goes whatever its status.

    A held task's objects lengthen every full collection of the cyclic GC: as dicts with their payload,
    requester and queued run, 100,000 completed tasks and their petitions made one long enough to stall
    requests. So a completed task is kept as a plain tuple of its
    requester's sub and its JSON bytes, which the GC stops tracking, and its control entry as numbers; an
    accepted one as `Accepted`. The control API decodes the JSON it lists. A completed task whose JSON
    cannot be written (a payload given from Python, never over HTTP) stays its dict.
    """

    def __init__(self, limit: int, account: Account | None = None) -> None:
        self.limit = limit
        self._tasks: dict[str, Accepted | Written | dict[str, Any]] = {}
        # task id -> (cursor, bytes held: what the memory budget is charged and a control page counts, due)
        self._control: dict[str, tuple[int, int, float]] = {}
        self._reasons: dict[str, str | None] = {}  # why a task failed; shown by the control API
        self._submitted: deque[str] = deque()  # task ids, oldest first: dropped first past the limit
        self._finished: deque[tuple[float, str]] = deque()  # (monotonic time, id) of completed tasks, oldest first
        self._cursors = itertools.count(1)
        self._account = account

    def __len__(self) -> int:
        return len(self._tasks)

    def add(self, task_id: str, task: Accepted, size: int, due: float) -> int:
        """Hold an accepted task whose payload holds `size` bytes; its cursor number, unique, also the queue's
        key for its run."""
        number = next(self._cursors)
        self._tasks[task_id] = task
        self._control[task_id] = (number, size + TASK_OVERHEAD_BYTES, due)
        self._submitted.append(task_id)
        self._charge(size + TASK_OVERHEAD_BYTES)
        return number

    def _charge(self, size: int) -> None:
        if self._account is not None:
            self._account.charge(size)

    def accepted(self, task_id: str) -> Accepted | None:
        """The task while accepted; None once completed or dropped."""
        task = self._tasks.get(task_id)
        return task if isinstance(task, Accepted) else None

    def completed(self, task_id: str, task: dict[str, Any], reason: str | None) -> None:
        """The task's final dict (status `complete`): kept from now on as its JSON."""
        self._reasons[task_id] = reason
        number, held, due = self._control[task_id]
        try:
            written = to_json(task)
            self._tasks[task_id] = (task["requester"].get("sub"), written)
            # From now on it holds its JSON, exactly; a control page shows that and the reason.
            size = completed_bytes(written, reason)
        except (TypeError, ValueError):  # not JSON (only a Python caller can give that): kept as its dict
            self._tasks[task_id] = task
            size = held + len(reason or "")
        self._control[task_id] = (number, size, due)
        self._finished.append((time.monotonic(), task_id))
        if len(self._finished) > 2 * len(self._tasks) + 1024:  # ids the cap dropped: forgotten in one pass
            self._finished = deque(item for item in self._finished if item[1] in self._tasks)
        self._charge(size - held)

    def drop_over_cap(self) -> list[int]:
        """Let the oldest go past the limit (then unknown: 404); the cursor numbers of the accepted ones,
        whose runs must never happen."""
        accepted: list[int] = []
        while len(self._tasks) > self.limit and self._submitted:
            task_id = self._submitted.popleft()
            task = self._tasks.pop(task_id, None)
            if task is None:  # defensive: ids are unique, but a reused one must not stop the loop
                continue
            number, size, _ = self._control.pop(task_id)
            self._reasons.pop(task_id, None)
            self._charge(-size)
            if isinstance(task, Accepted):
                accepted.append(number)
        return accepted

    def oldest_finished(self) -> float | None:
        """When the oldest completed task still held completed (monotonic); None if none is."""
        while self._finished and self._finished[0][1] not in self._tasks:
            self._finished.popleft()  # dropped past the cap meanwhile
        return self._finished[0][0] if self._finished else None

    def drop_oldest_finished(self) -> int:
        """Drop the oldest completed task (then 404, as unknown) for the memory budget; the bytes it held."""
        if self.oldest_finished() is None:
            return 0
        task_id = self._finished.popleft()[1]
        del self._tasks[task_id]
        size = self._control.pop(task_id)[1]
        self._reasons.pop(task_id, None)
        self._charge(-size)
        if len(self._submitted) > 2 * len(self._tasks) + 1024:  # ids relief dropped: forgotten in one pass
            self._submitted = deque(held for held in self._submitted if held in self._tasks)
        return size

    def export(self) -> tuple[list[dict[str, Any]], int]:
        """Every task held, in submit order, as JSON (a snapshot's), and the next cursor number."""
        held = []
        for task_id, task in self._tasks.items():
            number, size, due = self._control[task_id]
            item: dict[str, Any] = {"id": task_id, "cursor": number, "bytes": size, "due": due,
                                    "failure_reason": self._reasons.get(task_id)}
            if isinstance(task, Accepted):
                item.update(payload=task.payload, requester=task.requester, request_date=task.request_date)
            elif isinstance(task, dict):
                item["task"] = task
            else:
                item.update(sub=task[0], json=task[1].decode("utf-8"))
            held.append(item)
        return held, max((number for number, _, _ in self._control.values()), default=0) + 1

    def restore(self, held: list[dict[str, Any]], next_cursor: int) -> None:
        """Hold `export()`'s tasks instead of these (KeyError or TypeError for a wrong item: then call on a
        fresh store, which is thrown away)."""
        for item in held:
            task_id = str(item["id"])
            if "json" in item:
                self._tasks[task_id] = (item["sub"], str(item["json"]).encode("utf-8"))
            elif "task" in item:
                self._tasks[task_id] = dict(item["task"])
            else:
                self._tasks[task_id] = Accepted(item["payload"], dict(item["requester"]), str(item["request_date"]))
            if item.get("failure_reason") is not None:
                self._reasons[task_id] = str(item["failure_reason"])
            # A forged count never under-charges the memory budget.
            size = max(int(item["bytes"]), _least_bytes(self._tasks[task_id], self._reasons.get(task_id)))
            self._control[task_id] = (int(item["cursor"]), size, float(item["due"]))
            self._submitted.append(task_id)
            if not isinstance(self._tasks[task_id], Accepted):  # completed: relief may drop it, oldest first
                self._finished.append((time.monotonic(), task_id))
            self._charge(size)  # the count it was held with, as a control page uses it
        self._cursors = itertools.count(next_cursor)

    def get(self, task_id: str) -> dict[str, Any] | None:
        """The task as served, a new dict (changing it changes nothing held); None if unknown."""
        task = self._tasks.get(task_id)
        return None if task is None else _served(task_id, task)

    def held(self, task_id: str) -> Accepted | Written | dict[str, Any] | None:
        """The task as held, not to be changed."""
        return self._tasks.get(task_id)

    def page(self, now: float, cursor: int, limit: int,
             max_bytes: int | None) -> tuple[list[bytes], int | None]:
        """Tasks after `cursor` in submit order, as JSON: at most `limit`, and past `max_bytes` (as held) no
        more than the first; with the cursor of the next page, None on the last."""
        page: list[bytes] = []
        total = 0
        last = cursor
        for task_id in self._tasks:
            number, size, _ = self._control[task_id]
            if number <= cursor:
                continue
            if len(page) >= limit or (page and max_bytes is not None and total + size > max_bytes):
                return page, last
            page.append(self._control_json(task_id, now))
            total, last = total + size, number
        return page, None

    def tail(self, now: float, count: int, max_bytes: int) -> list[bytes]:
        """The newest `count` tasks in submit order, as JSON; past `max_bytes` (as held) no more than the newest."""
        kept: list[bytes] = []
        total = 0
        for task_id in reversed(self._tasks):
            size = self._control[task_id][1]
            if len(kept) >= count or (kept and total + size > max_bytes):
                break
            kept.append(self._control_json(task_id, now))
            total += size
        return kept[::-1]

    def _control_json(self, task_id: str, now: float) -> bytes:
        """A task as the control API shows it, as JSON: its poll's fields, why it failed, and the clock seconds
        left until it completes. A completed task's held JSON is extended, not decoded and written again (a
        page of 1 MB payloads took a fifth of a second)."""
        task = self._tasks[task_id]
        # An accepted task, or a completed one JSON cannot hold, is written; a completed one is held as JSON.
        held = to_json(_served(task_id, task), default=str) if isinstance(task, (Accepted, dict)) else task[1]
        due = self._control[task_id][2]
        return (held[:-1] + b',"failure_reason":' + to_json(self._reasons.get(task_id)) + b',"due_in_seconds":'
                + to_json(round(max(0.0, due - now), 6)) + b"}")


def _served(task_id: str, task: Accepted | Written | dict[str, Any]) -> dict[str, Any]:
    if isinstance(task, Accepted):
        return task.served(task_id)
    return dict(task) if isinstance(task, dict) else json.loads(task[1])
