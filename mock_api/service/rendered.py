"""Petition records as JSON bytes, rendered once per cache refresh and reused by every read until the next."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

# The wire format of every JSON answer, as the real API's stack (Starlette's JSONResponse) writes it: compact
# separators, non-ASCII as UTF-8, no NaN, no trailing newline; the record's field order is kept.
WIRE = {"allow_nan": False, "separators": (",", ":")}


def to_json(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """A value as the API writes it; `default` turns what JSON has no type for into something it has.

    A lone surrogate (a POSTed "\ud800") cannot be UTF-8: such a value keeps JSON's \\u escapes, which parse
    back to the same value (Starlette would fail on it with a 500)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=default, **WIRE).encode("utf-8")  # type: ignore[arg-type]
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, default=default, **WIRE).encode("ascii")  # type: ignore[arg-type]


def json_array(items: list[bytes]) -> bytes:
    """Encoded items as one JSON array."""
    return b"[" + b",".join(items) + b"]"


class RenderedRecords:
    """A bounded map: record key -> (the cache date it was rendered at, its JSON bytes).

    A record's bytes change only with its cache_date, which moves once per cache refresh, so a read renders
    a record at most once an hour. Past `limit` entries the oldest rendered is dropped (it renders again
    when next read): memory stays bounded whatever the data set's size.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._bytes: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, cache_date: float, render: Callable[[], dict[str, Any]]) -> bytes:
        held = self._bytes.get(key)
        if held is not None and held[0] == cache_date:
            return held[1]
        data = to_json(render())
        with self._lock:
            self._bytes.pop(key, None)  # re-inserted last: the dict's order is the order of rendering
            self._bytes[key] = (cache_date, data)
            while len(self._bytes) > self.limit:
                del self._bytes[next(iter(self._bytes))]
        return data

    def __len__(self) -> int:
        return len(self._bytes)
