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

    def position(self) -> dict[str, Any]:
        """The seed and where the draws are, as JSON (a snapshot's); `move_to` puts them back."""
        with self._lock:
            version, internal, gauss = self._rng.getstate()
        return {"seed": self._seed, "state": [version, list(internal), gauss]}

    def move_to(self, position: dict[str, Any]) -> None:
        """ValueError or TypeError (nothing changed) for a position `position()` did not give."""
        version, internal, gauss = position["state"]
        rng = random.Random()
        rng.setstate((version, tuple(int(item) for item in internal), gauss))
        seed = int(position["seed"])
        with self._lock:
            self._seed, self._rng = seed, rng

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
