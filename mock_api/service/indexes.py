"""In-memory indexes beside the store: petitions by field for exact filters, and paging found sets."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from mock_api.service.query import Term
from mock_api.service.records import StoredPetition

# Filters on these fields use an index: exact ones a hash lookup; prefix and range ones (`Q*`,
# `>=2024-01-01`) a walk over the field's distinct values, where there are far fewer than records.
INDEXED_FIELDS = ("id", "netid", "petition_code", "origin_code", "school", "decision", "grade_term",
                  "effective_date")
# A field with more distinct values than a quarter of the records (id, netid): walking them is a scan.
DISTINCT_VALUES_RATIO = 4


class PetitionIndex:
    """Petitions in read order with a hash index per field, so lookups never scan every record."""

    def __init__(self, entries: Iterable[StoredPetition] = ()) -> None:
        self.entries: list[StoredPetition] = []
        self.by_field: dict[str, dict[Any, list[int]]] = {f: {} for f in INDEXED_FIELDS}
        self.by_mongo_id: dict[str, int] = {}
        for entry in entries:
            self.add(entry)

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: StoredPetition) -> None:
        position = len(self.entries)
        self.entries.append(entry)
        for field, index in self.by_field.items():
            index.setdefault(entry.get(field), []).append(position)
        self.by_mongo_id[entry.mongo_id] = position

    def contains_id(self, petition_id: str) -> bool:
        return petition_id in self.by_field["id"]

    def lookup(self, key: str) -> StoredPetition | None:
        """By the record id, or by the Mongo id that a task's `path` names."""
        positions = self.by_field["id"].get(key)
        if positions:
            return self.entries[positions[0]]
        position = self.by_mongo_id.get(key)
        return None if position is None else self.entries[position]

    def candidates(self, terms: Sequence[Term]) -> Iterable[StoredPetition]:
        """The entries that can match, in read order: the shortest index list among the terms, else all.

        A superset: the caller still checks every term on each candidate.
        """
        # An empty value asks for null, as Term.matches does.
        lists = [self.by_field[t.field].get(t.value or None, [])
                 for t in terms if t.op == "eq" and t.field in self.by_field]
        if not lists:
            ranged = (self._positions_matching(t) for t in terms if t.field in self.by_field)
            lists = [positions for positions in ranged if positions is not None]
        if not lists:
            return self.entries
        return (self.entries[i] for i in min(lists, key=len))

    def _positions_matching(self, term: Term) -> list[int] | None:
        """Positions whose value matches a prefix or range term; None where that would be a scan."""
        index = self.by_field[term.field]
        if len(index) * DISTINCT_VALUES_RATIO > len(self.entries):
            return None
        return sorted(i for value, positions in index.items() if value is not None and term.matches(value)
                      for i in positions)


# Found sets hold references, 8 bytes an item: this bounds them to ~32 MB whatever the data size
# (64 unfiltered lists of 100,000 petitions would otherwise hold ~50 MB, more with a higher
# found_set_limit).
FOUND_SET_ITEM_BUDGET = 4_000_000


class FoundSets:
    """Results of first calls, kept by their X-Request-ID so later pages come from the same set.

    Oldest dropped first once there are more than `limit` sets or more than `item_budget` items in all
    (the newest set is always kept). Thread-safe: request threads put and get at once.
    """

    def __init__(self, lifetime: float, limit: int, item_budget: int = FOUND_SET_ITEM_BUDGET) -> None:
        self.lifetime, self.limit, self.item_budget = lifetime, limit, item_budget
        self._sets: OrderedDict[str, tuple[float, Sequence[Any]]] = OrderedDict()
        self._items = 0
        self._lock = threading.Lock()

    def put(self, key: str, created: float, items: Sequence[Any]) -> None:
        with self._lock:
            self._drop(key)
            self._sets[key] = (created, items)
            self._items += len(items)
            while len(self._sets) > 1 and (len(self._sets) > self.limit or self._items > self.item_budget):
                self._items -= len(self._sets.popitem(last=False)[1][1])

    def get(self, key: str, now: float) -> Sequence[Any] | None:
        with self._lock:
            found = self._sets.get(key)
            if found is None or now - found[0] > self.lifetime:
                self._drop(key)
                return None
            return found[1]

    def _drop(self, key: str) -> None:
        old = self._sets.pop(key, None)
        if old is not None:
            self._items -= len(old[1])
