"""The service's read-only data set: the snapshot's petitions as records, indexed; built once, shared by resets."""
from __future__ import annotations

import contextlib
import ctypes
import sys
from dataclasses import dataclass
from typing import Any

from mock_api.data.fixtures import EventRow, FixtureError, FixtureSet, ServiceAccount, Student
from mock_api.data.snapshot import build_snapshot
from mock_api.service.ids import IdSource
from mock_api.service.indexes import PetitionIndex
from mock_api.service.records import StoredPetition, build_record, is_petition, petition_type_records

# The snapshot's ObjectIds carry a fixed time (the seed's cache_date) so that they never vary by run.
SNAPSHOT_EPOCH = 1651967362


@dataclass(frozen=True)
class Dataset:
    """Everything that a reset restores, built once: never mutated after construction."""

    accounts: dict[str, ServiceAccount]
    event_codes: dict[str, str]
    origin_codes: dict[str, str]
    schools: dict[str, str]
    students: dict[str, Student]
    petitions: PetitionIndex
    petition_types: tuple[dict[str, Any], ...]
    seed: int


def _petition_entries(students: dict[str, Student], rows: tuple[EventRow, ...], fixtures: FixtureSet,
                      ids: IdSource, fixture_rows: int) -> list[StoredPetition]:
    entries: list[StoredPetition] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if not is_petition(row.petition_code):
            continue  # SHREVNT holds other events too; the view keeps Q and R codes only
        record = build_record(students[row.netid].pidm, row, fixtures.event_codes, fixtures.origin_codes)
        if record["id"] in seen:
            if i < fixture_rows:
                raise FixtureError(fixtures.source / "petitions.yaml", f"petitions[{i}]",
                                   f"duplicate petition id {record['id']!r}")
            continue  # a generated duplicate is simply not generated
        seen.add(record["id"])
        entries.append(StoredPetition(record, ids.object_id(SNAPSHOT_EPOCH), visible_from=0.0))
    return entries


def return_freed_memory() -> None:
    """Give the heap pages that loading freed back to the system (glibc's malloc_trim); elsewhere nothing.

    Loading allocates more than it keeps (the cache's rows, a dict per record before its entry); glibc
    keeps freed pages mapped, and the RSS after load is what a user sees. A common, honest step: it frees
    nothing in use.
    """
    if not sys.platform.startswith("linux"):
        return
    # Another C library (musl has no malloc_trim): the pages stay, as they would anyway.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def build_dataset(fixtures: FixtureSet, seed: int | None = None, student_count: int | None = None) -> Dataset:
    """The read side of the snapshot: its petition rows as records in read order, indexed by field."""
    snapshot = build_snapshot(fixtures, seed, student_count)
    # Ids of the snapshot come from their own seeded source: runtime ids must not depend on them.
    entries = _petition_entries(snapshot.students, snapshot.events, fixtures, IdSource(snapshot.seed ^ 0x5EED),
                                len(fixtures.events))
    dataset = Dataset(fixtures.accounts, fixtures.event_codes, fixtures.origin_codes, fixtures.schools,
                      snapshot.students, PetitionIndex(entries), tuple(petition_type_records(fixtures.event_codes)),
                      snapshot.seed)
    del snapshot, entries  # the rows that no entry holds are freed before the heap is trimmed
    return_freed_memory()
    return dataset
