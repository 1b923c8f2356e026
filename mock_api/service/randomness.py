"""The one seeded random source with reset: ids, scenario dice, anything that must repeat after a reset."""
from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import Any


class SeededRandom:
    """random.Random behind a lock, re-seeded by reset: the same seed gives the same draws again."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def reset(self) -> None:
        with self._lock:
            self._rng = random.Random(self._seed)

    def random(self) -> float:
        with self._lock:
            return self._rng.random()

    def uniform(self, low: float, high: float) -> float:
        with self._lock:
            return self._rng.uniform(low, high)

    def choice(self, options: Sequence[Any]) -> Any:
        with self._lock:
            return self._rng.choice(options)

    def getrandbits(self, bits: int) -> int:
        with self._lock:
            return self._rng.getrandbits(bits)
