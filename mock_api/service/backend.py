"""The emulated service's runtime state and rules: written petitions and the task lifecycle; no HTTP."""
from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from typing import Any

from mock_api.config import MockConfig
from mock_api.data.fixtures import Student
from mock_api.service import errors
from mock_api.service.clock import Clock, iso_micro, iso_z, local_midnight
from mock_api.service.dataset import Dataset
from mock_api.service.ids import IdSource
from mock_api.service.indexes import FoundSets, PetitionIndex
from mock_api.service.query import Term, apply_terms
from mock_api.service.records import StoredPetition, build_record
from mock_api.service.rendered import RenderedRecords
from mock_api.service.taskqueue import Pending, TaskBehaviour, TaskQueue
from mock_api.service.tasks import Accepted, TaskStore
from mock_api.service.tokens import requester_copy
from mock_api.service.worker import row_from_payload, task_failure_reason

log = logging.getLogger("mock_api")
SHARED_TEXT_CHARS = 64
# Distinct requesters whose claims tasks share (one dict, not one per task); later ones get a copy each.
SHARED_REQUESTERS = 1024


def _shared(value: Any) -> Any:
    return sys.intern(value) if isinstance(value, str) and len(value) <= SHARED_TEXT_CHARS else value


def unwrap_payload(body: Any) -> Any:
    """The task's payload: the petition fields unwrapped, user_netid upper-cased as in the seed.

    Short keys and texts are interned: 100,000 tasks repeat the same few codes, one copy each is enough.
    """
    payload = body.get("petition", body) if isinstance(body, dict) else body
    if isinstance(payload, dict):
        payload = {_shared(k): _shared(v) for k, v in payload.items()}
        if isinstance(payload.get("user_netid"), str):
            payload["user_netid"] = _shared(payload["user_netid"].upper())
    return payload


TASK_KEY = "task:"  # a task's key in the render cache, beside the petitions' Mongo ids


class Backend:
    """One emulated deployment: the shared snapshot plus what was written since start or reset."""

    def __init__(self, dataset: Dataset, clock: Clock, ids: IdSource, config: MockConfig) -> None:
        self.dataset, self.clock, self.ids, self.config = dataset, clock, ids, config
        self.started_at = clock.now()
        self.lock = threading.RLock()
        self.created = PetitionIndex(limit=config.max_written_petitions)  # oldest dropped past it
        self.extra_students: dict[str, Student] = {}
        self.found_sets = FoundSets(config.found_set_seconds, config.found_set_limit, config.found_set_items)
        self.rendered = RenderedRecords(config.render_cache_limit)
        # The store of record: every read comes from here (no second copy, see docs/fidelity.md).
        self._tasks = TaskStore(config.max_tasks)
        self._queue = TaskQueue()
        self._requesters: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}

    # -- reads ---------------------------------------------------------------------------------
    def student(self, netid: str) -> Student | None:
        return self.extra_students.get(netid) or self.dataset.students.get(netid)

    def cache_refreshed_at(self, now: float) -> float:
        """The last hourly refresh: refreshes happen every interval since start-up or reset."""
        interval = self.config.cache_refresh_seconds
        return self.started_at + max(0, (now - self.started_at) // interval) * interval

    def cache_date(self, entry: StoredPetition, now: float) -> float:
        return max(self.cache_refreshed_at(now), entry.visible_from)

    def render(self, entry: StoredPetition, now: float) -> dict[str, Any]:
        record = entry.record  # a new dict: cache_date goes last, as in the seed
        record["cache_date"] = iso_z(self.cache_date(entry, now))
        return record

    def render_json(self, entry: StoredPetition, now: float) -> bytes:
        """The record as JSON bytes: rendered once per cache refresh, then reused (rendered.py)."""
        return self.rendered.get(entry.mongo_id, self.cache_date(entry, now), lambda: self.render(entry, now))

    def find_petitions(self, terms: Sequence[Term], now: float) -> list[StoredPetition]:
        self.settle(now)
        with self.lock:
            created = [e for e in self.created.candidates(terms) if e.visible_from <= now]
        found = [*self.dataset.petitions.candidates(terms), *created]
        if not terms:
            return found  # nothing to match: skip a pass over every record

        def value(entry: StoredPetition, field: str) -> Any:
            return iso_z(self.cache_date(entry, now)) if field == "cache_date" else entry.get(field)
        return apply_terms(found, terms, value)

    def estimate(self, terms: Sequence[Term]) -> int:
        """At most how many records a find_petitions of these terms looks at (the indexes' word, no scan)."""
        with self.lock:
            created = self.created.estimate(terms)
        return self.dataset.petitions.estimate(terms) + created

    def get_petition(self, key: str, now: float) -> StoredPetition | None:
        self.settle(now)
        with self.lock:
            entry = self.created.lookup(key)
        if entry is not None and entry.visible_from <= now:
            return entry
        return self.dataset.petitions.lookup(key)

    # -- writes and tasks ------------------------------------------------------------------------
    def submit(self, body: Any, requester: dict[str, Any], behaviour: TaskBehaviour, size: int = 0,
               task_id: str | None = None) -> str:
        """Queue a POST as the real service does: no validation now, the task does it later.

        `size` is the body's length in bytes, so that a page of the control API can bound its bytes;
        `task_id` one reserved for it before (a scenario counting per task), else a new one.
        """
        now = self.clock.now()
        self.settle(now)  # tasks due by now complete (and write) before the cap may drop the oldest
        with self.lock:
            task_id = task_id or self.ids.object_id(now)
            task = Accepted(unwrap_payload(body), self._requester(requester_copy(requester)), iso_z(now))
            due = now + behaviour.seconds
            self._queue.push(self._tasks.add(task_id, task, size, due), task_id, due, behaviour)
            # Past max_tasks the oldest go whatever their status (then 404, as unknown); a dropped accepted
            # one never runs, so it writes no petition.
            for number in self._tasks.drop_over_cap():
                self._queue.drop(number)
        return task_id

    def _requester(self, claims: dict[str, Any]) -> dict[str, Any]:
        """The claims as a task's requester; one shared dict per token (served copies never change it).

        Only claims that are all text are shared: other JSON values can be equal and still differ
        (1, 1.0 and true; 0.0 and -0.0), and a task must show its own token's."""
        if not all(type(value) is str for value in claims.values()):
            return dict(claims)
        key = tuple(claims.items())
        shared = self._requesters.get(key)
        if shared is None:
            shared = dict(claims)
            if len(self._requesters) < SHARED_REQUESTERS:
                self._requesters[key] = shared
        return shared

    def settle(self, now: float) -> None:
        """Run the worker for every task due by now, in due order, each exactly once."""
        due = self._queue.next_due()  # lock-free fast path; another thread may empty the queue meanwhile
        if due is None or due > now:
            return
        with self.lock:
            for pending in self._queue.pop_due(now):
                self._complete(pending)

    def _complete(self, pending: Pending) -> None:
        """Always ends the task `complete`: whatever was posted, the read that runs the worker succeeds."""
        accepted = self._tasks.accepted(pending.task_id)
        if accepted is None:  # dropped past max_tasks (its run is normally marked dropped and never popped)
            return
        try:
            reason = "the scenario fails every task" if pending.fail else task_failure_reason(
                accepted.payload, self)
            mongo_id = self._insert_petition(accepted.payload, pending) if reason is None else None
        except Exception:  # a payload no rule foresaw fails its own task, never the reader's request
            log.exception("task %s could not be processed; it fails", pending.task_id)
            reason, mongo_id = "the worker could not process the payload", None
        task = accepted.served(pending.task_id)
        if mongo_id is not None:
            task.update(path=f"/academic/petitions/{mongo_id}",
                        message=errors.TASK_SUCCESS_MESSAGE.format(mongo_id=mongo_id))
        else:
            # The seed's failed task names the called URL with the task id in it.
            task.update(path=f"/academic/petitions/{pending.task_id}", message=errors.TASK_FAILURE_MESSAGE)
        task.update(status="complete", completed_date=iso_micro(pending.due))
        self._tasks.completed(pending.task_id, task, reason)

    def _insert_petition(self, payload: dict[str, Any], pending: Pending) -> str:
        # The real API promises a new petition only from the next hourly refresh (documented); the
        # default shows it at once, stale_cache not before the promise.
        promised_from = self.cache_refreshed_at(pending.due) + self.config.cache_refresh_seconds
        visible_from = promised_from if pending.stale_cache else pending.due
        # The day the task completed, as Banner dates an event: a local midnight like every seed row.
        effective_date = iso_z(local_midnight(pending.due))
        return self._store_petition(payload, effective_date, pending.due, visible_from, promised_from).mongo_id

    def _store_petition(self, payload: dict[str, Any], effective_date: str, epoch: float,
                        visible_from: float, promised_from: float = 0.0) -> StoredPetition:
        """Write a checked payload as the worker does: the SHREVNT row, then the read-side record."""
        row = row_from_payload(payload, effective_date)
        object_id = self.ids.object_id(epoch)
        student = self.student(row.netid)
        assert student is not None  # validated by the caller
        record = build_record(student.pidm, row, self.dataset.event_codes, self.dataset.origin_codes)
        entry = StoredPetition(record, object_id, visible_from, promised_from)
        self.created.add(entry)
        return entry

    # -- data added by a test (pytest fixture); a reset rebuilds the backend without it -----------
    def add_student(self, student: Student) -> None:
        with self.lock:
            if self.student(student.netid) is not None:
                raise ValueError(f"student {student.netid!r} exists already")
            self.extra_students[student.netid] = student

    def add_petition(self, payload: dict[str, Any], effective_date: str | None = None) -> dict[str, Any]:
        """A petition readable at once, as if Banner held it at start-up; checked as a POSTed one."""
        now = self.clock.now()
        with self.lock:
            reason = task_failure_reason(payload, self)
            if reason is not None:
                raise ValueError(reason)
            # visible_from 0: like the snapshot's rows, its cache_date is the last hourly refresh.
            entry = self._store_petition(payload, effective_date or iso_z(local_midnight(now)), now,
                                         visible_from=0.0)
        return self.render(entry, now)

    def contains_petition_id(self, petition_id: str) -> bool:
        with self.lock:
            return self.created.contains_id(petition_id) or self.dataset.petitions.contains_id(petition_id)

    def task(self, task_id: str, now: float) -> dict[str, Any] | None:
        self.settle(now)
        with self.lock:
            return self._tasks.get(task_id)

    def task_json(self, task_id: str, now: float) -> tuple[Any, bytes] | None:
        """The task's requester `sub` and the task as JSON bytes; None for an unknown task. A completed task is
        held as its JSON (tasks.py); an accepted one is rendered once in the bounded render cache (rendered.py)."""
        self.settle(now)
        with self.lock:
            held = self._tasks.held(task_id)
            if isinstance(held, Accepted):
                accepted = held  # its dict built only when rendered, not on every poll
                return held.requester.get("sub"), self.rendered.get(TASK_KEY + task_id, 0.0,
                                                                    lambda: accepted.served(task_id))
            if isinstance(held, dict):  # completed, a payload that is not JSON (from Python): fails as it did
                task = held
                return task["requester"].get("sub"), self.rendered.get(TASK_KEY + task_id, 1.0, lambda: task)
            return held  # unknown (None), or completed: (sub, its JSON)

    def task_count(self) -> int:
        """Tasks held (accepted and completed): the sessions listing's count."""
        with self.lock:
            return len(self._tasks)

    def tasks(self, now: float) -> list[dict[str, Any]]:
        """Every task with the reason a failed one failed (control API only)."""
        return self.task_page(now, cursor=0, limit=len(self._tasks) + 1, max_bytes=None)[0]

    def task_page(self, now: float, cursor: int, limit: int,
                  max_bytes: int | None) -> tuple[list[dict[str, Any]], int | None]:
        """Tasks after `cursor` in submit order, as the control API lists them (tasks.py)."""
        self.settle(now)
        with self.lock:
            return self._tasks.page(now, cursor, limit, max_bytes)

    def task_tail(self, now: float, count: int, max_bytes: int) -> list[dict[str, Any]]:
        """The newest `count` tasks in submit order (tasks.py)."""
        self.settle(now)
        with self.lock:
            return self._tasks.tail(now, count, max_bytes)
