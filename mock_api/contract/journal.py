"""The request journal: what each client sent and got, secrets masked, bounded in entries and bytes."""
from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
# An entry's bytes beside its texts (the dict, time, status, numbers): a journal of tiny requests is
# bounded by bytes too.
ENTRY_OVERHEAD_BYTES = 512


def mask_header(name: str, value: str) -> str:
    """Keep the scheme (Bearer) so a test can see how the client authenticated, never the secret."""
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
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


def entry_bytes(entry: Mapping[str, Any]) -> int:
    """The entry's size, estimated from the texts it holds (what a hostile client can make large)."""
    headers = entry.get("headers") or {}
    query = entry.get("query") or {}
    return (ENTRY_OVERHEAD_BYTES + len(entry.get("path") or "") + len(entry.get("body") or "")
            + sum(len(k) + len(v) for k, v in headers.items())
            + sum(len(k) + sum(len(v) for v in values) for k, values in query.items()))


class Journal:
    """A thread-safe ring of entries, oldest dropped first past `limit` entries or `max_bytes` bytes."""

    def __init__(self, limit: int, max_bytes: int) -> None:
        self.limit, self.max_bytes = limit, max_bytes
        self._entries: deque[tuple[dict[str, Any], int]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> None:
        size = entry_bytes(entry)
        with self._lock:
            self._entries.append(({"seq": next(self._numbers), **entry}, size))
            self._bytes += size
            # The newest entry is always kept, even alone over the byte bound.
            while len(self._entries) > 1 and (len(self._entries) > self.limit or self._bytes > self.max_bytes):
                self._bytes -= self._entries.popleft()[1]

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [entry for entry, _ in self._entries]

    def page(self, after: int, limit: int, max_bytes: int) -> tuple[list[dict[str, Any]], int | None]:
        """Entries with seq > after, oldest first: at most `limit`, and past `max_bytes` no more than the
        first; with the cursor of the next page (the last seq served), None on the last page."""
        with self._lock:
            if not self._entries:
                return [], None
            start = max(0, after - self._entries[0][0]["seq"] + 1)
            page: list[dict[str, Any]] = []
            total = 0
            for entry, size in itertools.islice(self._entries, start, None):
                if len(page) >= limit or (page and total + size > max_bytes):
                    return page, page[-1]["seq"]
                page.append(entry)
                total += size
            return page, None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._numbers = itertools.count(1)
