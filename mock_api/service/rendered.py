"""Petition records as JSON bytes, rendered once per cache refresh and reused by every read until the next."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from mock_api.service.budget import Account, uncounted

# The wire format of every JSON answer: Flask's compact separators, ASCII escapes, the record's field order.
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))
# The same, writing what JSON has no form for as its text (the control API's, as its JSON answers do).
_LENIENT = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), default=str)
# A rendered entry's bytes beside its JSON (its key, tuple and bytes object), for the memory budget.
RENDERED_BYTES = 200


def to_json(value: Any, lenient: bool = False) -> bytes:
    """A value as the API writes it (Flask's JSON provider, compact, no trailing newline); `lenient`: a value
    JSON cannot hold (only a Python caller gives one) as its text, not a TypeError."""
    return (_LENIENT if lenient else _ENCODER).encode(value).encode()


def json_array(items: list[bytes]) -> bytes:
    """Encoded items as one JSON array, as Flask writes a list response (with its trailing newline)."""
    return b"[" + b",".join(items) + b"]\n"


class RenderedRecords:
    """A bounded map: record key -> (the cache date it was rendered at, its JSON bytes).

    A record's bytes change only with its cache_date, which moves once per cache refresh, so a read renders
    a record at most once an hour. Past `limit` entries the oldest rendered is dropped (it renders again
    when next read): memory stays bounded whatever the data set's size.
    """

    def __init__(self, limit: int, account: Account | None = None) -> None:
        self.limit = limit
        self._bytes: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        self._account = account or uncounted()  # the memory budget's share of rendered JSON

    def get(self, key: str, cache_date: float, render: Callable[[], dict[str, Any]]) -> bytes:
        held = self._bytes.get(key)
        if held is not None and held[0] == cache_date:
            return held[1]
        data = to_json(render())
        with self._lock:
            self._forget(self._bytes.pop(key, None))  # re-inserted last: the dict's order is the order of rendering
            self._bytes[key] = (cache_date, data)
            self._account.charge(RENDERED_BYTES + len(data))
            while len(self._bytes) > self.limit:
                self._forget(self._bytes.pop(next(iter(self._bytes))))
        return data

    def _forget(self, held: tuple[float, bytes] | None) -> None:
        if held is not None:
            self._account.release(RENDERED_BYTES + len(held[1]))

    def __len__(self) -> int:
        return len(self._bytes)
