"""In-memory indexes beside the store: petitions by field for exact filters, and paging found sets."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from mock_api.service.query import Term
from mock_api.service.records import StoredPetition, values_of

# Filters on these fields use an index: exact ones a hash lookup; prefix and range ones (`Q*`,
# `>=2024-01-01`) a walk over the field's distinct values, where there are far fewer than records.
INDEXED_FIELDS = ("id", "netid", "petition_code", "origin_code", "school", "decision", "grade_term",
                  "effective_date")
# A field with more distinct values than a quarter of the records (id, netid): walking them is a scan.
DISTINCT_VALUES_RATIO = 4
_indexed_values = values_of(INDEXED_FIELDS)
# The positions of one value: the position alone while it is the only one (every id, most netids), a list
# once the value repeats: a one-item list per id would cost more than the ids themselves.
Positions = int | list[int]


def positions_of(held: Positions | None) -> Sequence[int]:
    if held is None:
        return ()
    return (held,) if isinstance(held, int) else held


# Holds a dropped entry's slot until the slots are cut from the front in one move (PetitionIndex).
_DROPPED = StoredPetition({}, "", float("inf"))


class PetitionIndex:
    """Petitions in read order with a hash index per field, so lookups never scan every record.

    With a `limit`, adding past it drops the oldest entry from every index (then unknown, as never added).
    Positions are absolute (the n-th entry ever added); dropped slots are cut from the front of the list
    once they are as many as the kept ones, so a drop costs O(1) amortised and no position changes.
    """

    def __init__(self, entries: Iterable[StoredPetition] = (), limit: int | None = None) -> None:
        self.limit = limit
        self._entries: list[StoredPetition] = []
        self._base = 0  # the absolute position of _entries[0]
        self._dropped = 0  # slots at the front of _entries whose entry was dropped
        self.by_field: dict[str, dict[Any, Positions]] = {f: {} for f in INDEXED_FIELDS}
        self.by_mongo_id: dict[str, int] = {}
        for entry in entries:
            self.add(entry)

    def __len__(self) -> int:
        return len(self._entries) - self._dropped

    @property
    def entries(self) -> list[StoredPetition]:
        """The kept entries in read order (the list itself while none was dropped: do not change it)."""
        return self._entries[self._dropped:] if self._dropped else self._entries

    def add(self, entry: StoredPetition) -> None:
        position = self._base + len(self._entries)
        self._entries.append(entry)
        for index, value in zip(self.by_field.values(), _indexed_values(entry), strict=True):
            held = index.get(value)
            if held is None:
                index[value] = position
            elif isinstance(held, int):
                index[value] = [held, position]
            else:
                held.append(position)
        self.by_mongo_id[entry.mongo_id] = position
        if self.limit is not None and len(self) > self.limit:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        entry = self._entries[self._dropped]
        for index, value in zip(self.by_field.values(), _indexed_values(entry), strict=True):
            held = index[value]
            if isinstance(held, int) or len(held) == 1:
                del index[value]
            else:
                del held[0]  # the oldest kept entry is first in every list that holds it
        del self.by_mongo_id[entry.mongo_id]
        self._entries[self._dropped] = _DROPPED
        self._dropped += 1
        if self._dropped * 2 >= len(self._entries):
            del self._entries[:self._dropped]
            self._base += self._dropped
            self._dropped = 0

    def contains_id(self, petition_id: str) -> bool:
        return petition_id in self.by_field["id"]

    def lookup(self, key: str) -> StoredPetition | None:
        """By the record id, or by the Mongo id that a task's `path` names."""
        held = self.by_field["id"].get(key)
        position = self.by_mongo_id.get(key) if held is None else positions_of(held)[0]
        return None if position is None else self._entries[position - self._base]

    def candidates(self, terms: Sequence[Term]) -> Sequence[StoredPetition]:
        """The entries that can match, in read order: the shortest index list among the terms, else all.

        A superset: the caller still checks every term on each candidate.
        """
        shortest: Sequence[int] | None = None
        for term in terms:
            index = self.by_field.get(term.field) if term.op == "eq" else None
            if index is None:
                continue
            held = index.get(term.value or None)  # an empty value asks for null, as Term.matches does
            if held is None:
                return ()  # no entry has this value: none matches every term
            if isinstance(held, int):
                return (self._entries[held - self._base],)  # one position: no list is shorter
            if shortest is None or len(held) < len(shortest):
                shortest = held
        if shortest is None:
            ranged = (self._positions_matching(t) for t in terms if t.field in self.by_field)
            shortest = min((positions for positions in ranged if positions is not None), key=len, default=None)
        if shortest is None:
            return self.entries
        entries, base = self._entries, self._base
        return [entries[i - base] for i in shortest]

    def estimate(self, terms: Sequence[Term]) -> int:
        """How many entries candidates() would return at most: the shortest index list of an equality term."""
        sizes = [len(positions_of(index.get(term.value or None))) for term in terms
                 if term.op == "eq" and (index := self.by_field.get(term.field)) is not None]
        return min(sizes, default=len(self))

    def _positions_matching(self, term: Term) -> Sequence[int] | None:
        """Positions whose value matches a prefix or range term; None where that would be a scan."""
        index = self.by_field[term.field]
        if len(index) * DISTINCT_VALUES_RATIO > len(self):
            return None
        return sorted(i for value, held in index.items() if value is not None and term.matches(value)
                      for i in positions_of(held))


# Found sets hold references, 8 bytes an item: the default (config.found_set_items) bounds their memory
# whatever the data size (many unfiltered lists of 100,000 petitions would otherwise be held).
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

    def export(self) -> list[tuple[str, float, Sequence[Any]]]:
        """Every set (key, created, items), oldest first: a snapshot's."""
        with self._lock:
            return [(key, created, items) for key, (created, items) in self._sets.items()]

    def restore(self, sets: list[tuple[str, float, Sequence[Any]]]) -> None:
        with self._lock:
            self._sets.clear()
            self._items = 0
        for key, created, items in sets:
            self.put(key, created, items)  # the bounds apply

    def _drop(self, key: str) -> None:
        old = self._sets.pop(key, None)
        if old is not None:
            self._items -= len(old[1])
