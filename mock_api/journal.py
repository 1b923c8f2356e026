"""The request journal: what each client sent and got, secrets masked, bounded in size."""
from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import Any

SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
MAX_BODY_CHARS = 65536


def mask_header(name: str, value: str) -> str:
    """Keep the scheme (Bearer) so a test can see how the client authenticated, never the secret."""
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
    return f"{scheme} ***" if rest and scheme.lower() in ("bearer", "basic") else "***"


class Journal:
    """A thread-safe ring of entries, oldest dropped first once the limit is reached."""

    def __init__(self, limit: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append({"seq": next(self._numbers), **entry})

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._numbers = itertools.count(1)
