"""The request journal: what each client sent and got, secrets masked, bounded in entries and bytes."""
from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from mock_api.contract.observation import Observation
from mock_api.service.clock import iso_micro_z
from mock_api.service.requests import parse_authorization

SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-mock-control-token"})
# An entry's bytes beside its texts (the dict, time, status, numbers): a journal of tiny requests is
# bounded by bytes too.
ENTRY_OVERHEAD_BYTES = 512


def mask_header(name: str, value: str) -> str:
    """Keep the scheme (Bearer) so a test can see how the client authenticated, never the secret."""
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, rest = parse_authorization(value)
    return f"{scheme} ***" if rest and scheme.lower() in ("bearer", "basic") else "***"


def cut_marker(kept: int, sent: int) -> str:
    """Appended to a cut value, so that nobody mistakes it for what the client sent."""
    return f"...[mock_api: cut at {kept} of {sent} bytes]"


def cut_text(value: str, limit: int) -> str:
    """The value, or its first `limit` characters and the marker (header values are Latin-1: 1 byte each)."""
    return value if len(value) <= limit else value[:limit] + cut_marker(limit, len(value))


def cut_body(raw: bytes, limit: int) -> str | None:
    """The body as text (invalid UTF-8 replaced), its first `limit` bytes and the marker if longer."""
    if not raw:
        return None
    text = raw[:limit].decode("utf-8", errors="replace")
    return text if len(raw) <= limit else text + cut_marker(limit, len(raw))


def journal_headers(headers: Iterable[tuple[str, str]], limit: int) -> dict[str, str]:
    return {name: cut_text(mask_header(name, value), limit) for name, value in headers}


def _header_chars(headers: Sequence[tuple[str, str]], limit: int) -> int:
    """What journal_headers' names and values add up to, without building them (a secret is masked)."""
    total = 0
    for name, value in headers:
        if name.lower() in SECRET_HEADERS:
            value = mask_header(name, value)
        size = len(value)
        total += len(name) + (size if size <= limit else limit + len(cut_marker(limit, size)))
    return total


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
    headers: tuple[tuple[str, str], ...]
    header_limit: int
    body: str | None
    status: int | None
    scenario: str | None
    fault: str | None
    duration_seconds: float

    def entry(self, seq: int) -> dict[str, Any]:
        return {"seq": seq, "time": iso_micro_z(self.time), "method": self.method, "path": self.path,
                "query": {name: list(values) for name, values in self.query},
                "headers": journal_headers(self.headers, self.header_limit),
                "body": self.body, "status": self.status, "scenario": self.scenario, "fault": self.fault,
                "duration_ms": round(self.duration_seconds * 1000, 3)}


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
            "scenario": raw.scenario, "fault": raw.fault, "duration_seconds": raw.duration_seconds}


def entry_bytes(entry: Mapping[str, Any]) -> int:
    """The entry's size, estimated from the texts it holds (what a hostile client can make large)."""
    headers = entry.get("headers") or {}
    query = entry.get("query") or {}
    return (ENTRY_OVERHEAD_BYTES + len(entry.get("path") or "") + len(entry.get("body") or "")
            + sum(len(k) + len(v) for k, v in headers.items())
            + sum(len(k) + sum(len(v) for v in values) for k, values in query.items()))


class Journal:
    """A thread-safe ring of entries, oldest dropped first past `limit` entries or `max_bytes` bytes."""

    def __init__(self, limit: int, max_bytes: int, header_bytes: int = 8192, body_bytes: int = 65536) -> None:
        self.limit, self.max_bytes = limit, max_bytes
        self.header_bytes, self.body_bytes = header_bytes, body_bytes  # a longer value is cut, with a marker
        # (seq, raw parts, estimated bytes): formatted into entries only when read.
        self._entries: deque[tuple[int, tuple[Any, ...] | _Plain, int]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    def record(self, entry: Observation | Mapping[str, Any]) -> int:
        """Keep an observed request (or a ready entry); its number, also given to the observation as `seq`."""
        raw: tuple[Any, ...] | _Plain
        if isinstance(entry, Observation):
            raw, size = self._stored(entry)
        else:
            raw, size = _Plain(entry), entry_bytes(entry)
        with self._lock:
            seq = next(self._numbers)
            self._entries.append((seq, raw, size))
            self._bytes += size
            self._trim()
        if isinstance(entry, Observation):
            entry.seq = seq
        return seq

    def _trim(self) -> None:
        """Oldest first past the bounds; the newest entry is always kept, even alone over the byte bound."""
        while len(self._entries) > 1 and (len(self._entries) > self.limit or self._bytes > self.max_bytes):
            self._bytes -= self._entries.popleft()[2]

    def _stored(self, seen: Observation) -> tuple[tuple[Any, ...], int]:
        """_Raw's fields as a plain tuple (made as one, not a _Raw then copied), and
        entry_bytes of the entry it reads as."""
        request = seen.request
        query = tuple((name, tuple(values)) for name, values in seen.query_lists.items())
        headers, body = tuple(request.headers), cut_body(request.body() or b"", self.body_bytes)
        size = (ENTRY_OVERHEAD_BYTES + len(request.path) + len(body or "")
                + _header_chars(headers, self.header_bytes)
                + sum(len(k) + sum(len(v) for v in values) for k, values in query))
        return (seen.time, request.method, request.path, query, headers, self.header_bytes, body,
                seen.status if seen.answered else None, seen.scenario, seen.fault, seen.duration_seconds), size

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            kept = list(self._entries)
        return [_entry(seq, raw) for seq, raw, _ in kept]

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
            for seq, raw, size in itertools.islice(self._entries, start, None):
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
            for seq, raw, size in reversed(self._entries):
                if len(kept) >= count or (kept and total + size > max_bytes):
                    break
                kept.append((seq, raw))
                total += size
        return [_entry(seq, raw) for seq, raw in reversed(kept)]

    def records(self) -> list[dict[str, Any]]:
        """The kept entries as recorded, oldest first: headers as sent ([name, value] pairs, unmasked, not cut)
        and clock times as numbers. For verification and snapshots (checkpoint.py); never served as is."""
        with self._lock:
            kept = [(seq, raw) for seq, raw, _ in self._entries]
        return [{"seq": seq, "entry": dict(raw.fields)} if isinstance(raw, _Plain) else _record(seq, _Raw._make(raw))
                for seq, raw in kept]

    def restore(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Hold `records()` of a journal instead of this one's entries (bounds applied); numbering goes on
        after the last. A record's fields are trusted: the caller checked their types."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            last = 0
            for record in records:
                last = int(record["seq"])
                if "entry" in record:
                    raw: tuple[Any, ...] | _Plain = _Plain(record["entry"])
                    size = entry_bytes(record["entry"])
                else:
                    headers = tuple((str(name), str(value)) for name, value in record["headers"])
                    query = tuple((name, tuple(values)) for name, values in record["query"].items())
                    raw = (record["time"], record["method"], record["path"], query, headers, self.header_bytes,
                           record["body"], record["status"], record["scenario"], record["fault"],
                           record["duration_seconds"])
                    size = entry_bytes(_Raw._make(raw).entry(last))
                self._entries.append((last, raw, size))
                self._bytes += size
            self._trim()
            self._numbers = itertools.count(last + 1)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._numbers = itertools.count(1)
