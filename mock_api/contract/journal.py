"""The request journal: what each client sent and got, secrets masked, bounded in entries and bytes."""
from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from mock_api.contract.observation import Observation
from mock_api.service.budget import MemoryBudget
from mock_api.service.clock import iso_micro_z
from mock_api.service.requests import parse_authorization
from mock_api.service.texts import cut_marker, cut_text

SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-mock-control-token"})
# An entry's bytes beside its texts (the dict, time, status, numbers): a journal of tiny requests is
# bounded by bytes too.
ENTRY_OVERHEAD_BYTES = 512
# A header or query value's objects beside its text (its tuple and strings): 50,000 tiny headers are megabytes.
ITEM_OVERHEAD_BYTES = 160


def mask_header(name: str, value: str) -> str:
    """Keep the scheme (Bearer) so a test can see how the client authenticated, never the secret."""
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, rest = parse_authorization(value)
    return f"{scheme} ***" if rest and scheme.lower() in ("bearer", "basic") else "***"


def cut_body(raw: bytes, limit: int) -> str | None:
    """The body as text (invalid UTF-8 replaced), its first `limit` bytes and the marker if longer."""
    if not raw:
        return None
    text = raw[:limit].decode("utf-8", errors="replace")
    return text if len(raw) <= limit else text + cut_marker(limit, len(raw))


def journal_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Kept headers (cut when recorded) as an entry shows them: secrets masked."""
    return {name: mask_header(name, value) for name, value in headers}


def cut_headers(headers: Sequence[tuple[str, str]], limit: int) -> tuple[tuple[str, str], ...]:
    """The headers as kept: a value longer than `limit` cut, with the marker (the request itself is not)."""
    if all(len(value) <= limit for _, value in headers):
        return tuple(headers)
    return tuple((name, cut_text(value, limit)) for name, value in headers)


def _items_bytes(pairs: Iterable[tuple[str, str]]) -> int:
    return sum(len(name) + len(value) + ITEM_OVERHEAD_BYTES for name, value in pairs)


class _Raw(NamedTuple):
    """An entry as recorded: the request's raw parts, put in the entry's JSON shape only when read.

    Kept as a plain tuple (Journal._stored makes it as one) of strings, numbers and tuples only: the cyclic
    GC stops tracking such a tuple after its first pass (a subclass, this NamedTuple too, it tracks for
    ever), so kept entries add nothing to a full collection; as objects they lengthened it, a latency
    spike on whichever request triggered it (benchmarks/bench_soak.py)."""

    time: float
    method: str
    path: str
    query: tuple[tuple[str, tuple[str, ...]], ...]
    headers: tuple[tuple[str, str], ...]  # cut when recorded, masked when read
    body: str | None
    status: int | None
    scenario: str | None
    fault: str | None
    duration_seconds: float
    injected: bool

    def entry(self, seq: int) -> dict[str, Any]:
        return {"seq": seq, "time": iso_micro_z(self.time), "method": self.method, "path": self.path,
                "query": {name: list(values) for name, values in self.query},
                "headers": journal_headers(self.headers),
                "body": self.body, "status": self.status, "scenario": self.scenario, "fault": self.fault,
                "injected": self.injected, "duration_ms": round(self.duration_seconds * 1000, 3)}


class _Plain:
    """An entry given as a ready dict (tests, tools)."""

    __slots__ = ("fields",)

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = fields

    def entry(self, seq: int) -> dict[str, Any]:
        return {"seq": seq, **self.fields}


def _entry(seq: int, raw: tuple[Any, ...] | _Plain) -> dict[str, Any]:
    return raw.entry(seq) if isinstance(raw, _Plain) else _Raw._make(raw).entry(seq)


def _record(seq: int, raw: _Raw) -> dict[str, Any]:
    return {"seq": seq, "time": raw.time, "method": raw.method, "path": raw.path,
            "query": {name: list(values) for name, values in raw.query},
            "headers": [[name, value] for name, value in raw.headers], "body": raw.body, "status": raw.status,
            "scenario": raw.scenario, "fault": raw.fault, "duration_seconds": raw.duration_seconds,
            "injected": raw.injected}


def _raw_bytes(path: str, query: tuple[tuple[str, tuple[str, ...]], ...], headers: tuple[tuple[str, str], ...],
               body: str | None) -> int:
    """What a recorded entry keeps: its texts, and each header and query value's objects."""
    return (ENTRY_OVERHEAD_BYTES + len(path) + len(body or "") + _items_bytes(headers)
            + sum(_items_bytes((name, value) for value in values) for name, values in query))


def entry_bytes(entry: Mapping[str, Any]) -> int:
    """The entry's size, estimated from the texts it holds (what a hostile client can make large)."""
    headers = entry.get("headers") or {}
    query = entry.get("query") or {}
    return (ENTRY_OVERHEAD_BYTES + len(entry.get("path") or "") + len(entry.get("body") or "")
            + _items_bytes(headers.items())
            + sum(_items_bytes((name, value) for value in values) for name, values in query.items()))


class Journal:
    """A thread-safe ring of entries, oldest dropped first past `limit` entries or `max_bytes` bytes; with a
    memory budget, each entry's bytes are charged to it, and relief may drop the oldest entries."""

    def __init__(self, limit: int, max_bytes: int, header_bytes: int = 8192, body_bytes: int = 65536,
                 budget: MemoryBudget | None = None, session: str = "default") -> None:
        self.limit, self.max_bytes = limit, max_bytes
        self.header_bytes, self.body_bytes = header_bytes, body_bytes  # a longer value is cut, with a marker
        # (seq, raw parts, bytes kept, monotonic time kept): formatted into entries only when read.
        self._entries: deque[tuple[int, tuple[Any, ...] | _Plain, int, float]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._budget = budget
        self._account = None if budget is None else budget.account(session, "journal", self)

    def record(self, entry: Observation | Mapping[str, Any]) -> int:
        """Keep an observed request (or a ready entry); its number, also given to the observation as `seq`."""
        raw: tuple[Any, ...] | _Plain
        if isinstance(entry, Observation):
            raw, size = self._stored(entry)
        else:
            raw, size = _Plain(entry), entry_bytes(entry)
        with self._lock:
            seq = next(self._numbers)
            self._entries.append((seq, raw, size, time.monotonic()))
            self._bytes += size
            net = size - self._trim()
        if self._account is not None and self._budget is not None:
            self._account.charge(net)  # what it keeps now, less what its own bounds let go
            self._budget.relieve_soon()  # every API request is journaled: one place to notice
        if isinstance(entry, Observation):
            entry.seq = seq
        return seq

    def _trim(self) -> int:
        """Oldest first past the bounds (the lock held); the newest entry is always kept, even alone over the
        byte bound. The bytes let go."""
        let_go = 0
        while len(self._entries) > 1 and (len(self._entries) > self.limit or self._bytes > self.max_bytes):
            let_go += self._entries.popleft()[2]
        self._bytes -= let_go
        return let_go

    def _stored(self, seen: Observation) -> tuple[tuple[Any, ...], int]:
        """_Raw's fields as a plain tuple (made as one, not a _Raw then copied), values cut as kept, and the
        bytes it keeps (its texts, and each header and query value's objects)."""
        request = seen.request
        query = tuple((name, tuple(values)) for name, values in seen.query_lists.items())
        headers, body = cut_headers(request.headers, self.header_bytes), cut_body(request.body() or b"",
                                                                                   self.body_bytes)
        return (seen.time, request.method, request.path, query, headers, body,
                seen.status if seen.answered else None, seen.scenario, seen.fault,
                seen.duration_seconds, seen.injected), _raw_bytes(request.path, query, headers, body)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            kept = list(self._entries)
        return [_entry(seq, raw) for seq, raw, _, _ in kept]

    def page(self, after: int, limit: int, max_bytes: int) -> tuple[list[dict[str, Any]], int | None]:
        """Entries with seq > after, oldest first: at most `limit`, and past `max_bytes` no more than the
        first; with the cursor of the next page (the last seq served), None on the last page."""
        with self._lock:
            if not self._entries:
                return [], None
            start = max(0, after - self._entries[0][0] + 1)
            page: list[tuple[int, tuple[Any, ...] | _Plain]] = []
            total = 0
            cursor = None
            for seq, raw, size, _ in itertools.islice(self._entries, start, None):
                if len(page) >= limit or (page and total + size > max_bytes):
                    cursor = page[-1][0]
                    break
                page.append((seq, raw))
                total += size
        return [_entry(seq, raw) for seq, raw in page], cursor

    def tail(self, count: int, max_bytes: int) -> list[dict[str, Any]]:
        """The newest `count` entries, oldest first; past `max_bytes` no more than the newest one."""
        with self._lock:
            kept: list[tuple[int, tuple[Any, ...] | _Plain]] = []
            total = 0
            for seq, raw, size, _ in reversed(self._entries):
                if len(kept) >= count or (kept and total + size > max_bytes):
                    break
                kept.append((seq, raw))
                total += size
        return [_entry(seq, raw) for seq, raw in reversed(kept)]

    def records(self) -> list[dict[str, Any]]:
        """The kept entries as recorded, oldest first: headers as kept ([name, value] pairs, unmasked, a long
        value cut when recorded) and clock times as numbers. For verification and snapshots (checkpoint.py);
        never served as is."""
        with self._lock:
            kept = [(seq, raw) for seq, raw, _, _ in self._entries]
        return [{"seq": seq, "entry": dict(raw.fields)} if isinstance(raw, _Plain) else _record(seq, _Raw._make(raw))
                for seq, raw in kept]

    def restore(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Hold `records()` of a journal instead of this one's entries (bounds applied); numbering goes on
        after the last; the budget is charged what is kept. A record's fields are trusted: the caller checked
        their types."""
        now = time.monotonic()
        with self._lock:
            held = self._bytes
            self._entries.clear()
            self._bytes = 0
            last = 0
            for record in records:
                last = int(record["seq"])
                if "entry" in record:
                    raw: tuple[Any, ...] | _Plain = _Plain(record["entry"])
                    size = entry_bytes(record["entry"])
                else:
                    # As the snapshot holds them (cut when first recorded; cut again, a marker would be lost).
                    headers = tuple((str(name), str(value)) for name, value in record["headers"])
                    query = tuple((name, tuple(values)) for name, values in record["query"].items())
                    raw = (record["time"], record["method"], record["path"], query, headers, record["body"],
                           record["status"], record["scenario"], record["fault"], record["duration_seconds"],
                           bool(record.get("injected", False)))
                    size = _raw_bytes(record["path"], query, headers, record["body"])
                self._entries.append((last, raw, size, now))
                self._bytes += size
            self._trim()
            self._numbers = itertools.count(last + 1)
            change = self._bytes - held
        if self._account is not None:
            self._account.charge(change)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            if self._account is not None:
                self._account.release(self._bytes)
            self._bytes = 0
            self._numbers = itertools.count(1)

    def close(self) -> None:
        """The journal is gone (its session ended): nothing of it stays charged to the budget."""
        if self._account is not None:
            self._account.close()

    def relief_age(self) -> float | None:
        """When the oldest entry was kept (monotonic); None when empty (the memory budget's relief)."""
        with self._lock:
            return self._entries[0][3] if self._entries else None

    def relieve_one(self) -> int:
        """Drop the oldest entry for the memory budget; the bytes it held."""
        with self._lock:
            if not self._entries:
                return 0
            size = self._entries.popleft()[2]
            self._bytes -= size
        if self._account is not None:
            self._account.release(size)
        return size
