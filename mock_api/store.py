"""In-memory indexes beside the store: petitions by field for exact filters, and paging found sets."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from mock_api.query import Term
from mock_api.records import StoredPetition

# Exact-match filters on these fields use an index; other filters scan the candidates.
INDEXED_FIELDS = ("id", "netid", "petition_code", "origin_code", "school", "decision", "grade_term")


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
        """The entries that can match: the shortest index list among exact terms, else all."""
        # An empty value asks for null, as Term.matches does.
        lists = [self.by_field[t.field].get(t.value or None, [])
                 for t in terms if t.op == "eq" and t.field in self.by_field]
        if not lists:
            return self.entries
        return (self.entries[i] for i in min(lists, key=len))


class FoundSets:
    """Results of first calls, kept by their X-Request-ID so later pages come from the same set."""

    def __init__(self, lifetime: float, limit: int) -> None:
        self.lifetime, self.limit = lifetime, limit
        self._sets: OrderedDict[str, tuple[float, Sequence[Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, created: float, items: Sequence[Any]) -> None:
        with self._lock:
            self._sets[key] = (created, items)
            while len(self._sets) > self.limit:
                self._sets.popitem(last=False)

    def get(self, key: str, now: float) -> Sequence[Any] | None:
        with self._lock:
            found = self._sets.get(key)
            if found is None or now - found[0] > self.lifetime:
                self._sets.pop(key, None)
                return None
            return found[1]
