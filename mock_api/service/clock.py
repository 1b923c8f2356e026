"""The one clock that drives tasks, tokens, dates and the cache: real time, or frozen and advanced."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

# ObjectIds carry the clock's time in 4 bytes, which end at 2106-02-07; the clock stops at 2100 so that a
# task due up to a year later (the longest a scenario allows) still gets a valid ObjectId.
MAX_EPOCH = 4_102_444_800.0  # 2100-01-01T00:00:00Z
# Banner's event dates are local days: every effective_date of the seeds and fixtures is a midnight in
# Hanover, NH (...T05:00:00Z in winter, ...T04:00:00Z in summer).
BANNER_ZONE = ZoneInfo("America/New_York")


class Clock:
    """Real time plus an offset; can be frozen, advanced and unfrozen without jumping back."""

    def __init__(self, frozen_at: float | None = None, source: Callable[[], float] = time.time) -> None:
        if frozen_at is not None and not 0 <= frozen_at <= MAX_EPOCH:
            raise ValueError("the clock starts between 1970-01-01 and 2100-01-01")
        self._source = source
        self._lock = threading.Lock()
        self._initial_frozen_at = frozen_at
        self._offset = 0.0
        self._frozen_at = frozen_at

    def now(self) -> float:
        with self._lock:
            return self._now()

    def _now(self) -> float:
        """The time; the caller holds the lock."""
        return self._frozen_at if self._frozen_at is not None else self._source() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def advance(self, seconds: float) -> float:
        """Move forward; ValueError (clock unchanged) if negative, not a number or past MAX_EPOCH."""
        if not seconds >= 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            current = self._now()
            if current + seconds > MAX_EPOCH:
                raise ValueError("the clock cannot pass 2100-01-01")
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds
        return self.now()

    def freeze(self) -> float:
        # Read and frozen under one lock: an advance() between the two would otherwise be lost.
        with self._lock:
            self._frozen_at = now = self._now()
        return now

    def unfreeze(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self._source()
                self._frozen_at = None
        return self.now()

    def set(self, now: float, frozen: bool) -> None:
        """Put the clock at `now` (a snapshot's), frozen or running from there; ValueError past MAX_EPOCH."""
        if not 0 <= now <= MAX_EPOCH:
            raise ValueError("the clock is between 1970-01-01 and 2100-01-01")
        with self._lock:
            self._frozen_at = now if frozen else None
            self._offset = 0.0 if frozen else now - self._source()

    def reset(self) -> None:
        """Back to the start-up mode: real time, or frozen at the configured instant."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = self._initial_frozen_at


def iso_z(epoch: float) -> str:
    """ISO-8601 UTC with a Z and no fraction, as the API's record dates and task request_date."""
    return _iso_z_seconds(int(epoch))


@lru_cache(maxsize=4096)
def _iso_z_seconds(seconds: int) -> str:
    # Memoised: every petition a read returns renders the same cache_date (the last hourly refresh).
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_micro(epoch: float) -> str:
    """ISO-8601 UTC with microseconds and no Z, as the seed's task completed_date."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def iso_micro_z(epoch: float) -> str:
    """ISO-8601 UTC with microseconds and a Z: the mock's own times (journal, clock, sessions)."""
    return iso_micro(epoch) + "Z"


def local_midnight(epoch: float) -> float:
    """The start of the America/New_York day holding `epoch` (never ambiguous: DST changes at 2 a.m.)."""
    local = datetime.fromtimestamp(epoch, tz=BANNER_ZONE)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
