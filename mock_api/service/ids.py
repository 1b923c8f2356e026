"""The one seeded source of identifiers: Mongo ObjectIds and request ids."""
from __future__ import annotations

import threading
from typing import Any

from mock_api.service.randomness import SeededRandom


class IdSource:
    """Deterministic ids: the same seed and clock give the same ObjectIds and request ids."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._random = SeededRandom(seed)
        self._process_part = self._random.getrandbits(40).to_bytes(5, "big")
        self._counter = 0

    def reset(self) -> None:
        with self._lock:
            self._random.reset()
            self._process_part = self._random.getrandbits(40).to_bytes(5, "big")
            self._counter = 0

    def position(self) -> dict[str, Any]:
        """Where the ids are, as JSON (a snapshot's): the random source, the ObjectIds' seeded bytes, the counter."""
        with self._lock:
            return {"random": self._random.position(), "process_part": self._process_part.hex(),
                    "counter": self._counter}

    def move_to(self, position: dict[str, Any]) -> None:
        """ValueError, TypeError or KeyError (nothing changed) for a position `position()` did not give."""
        part = bytes.fromhex(position["process_part"])
        counter = int(position["counter"])
        if len(part) != 5 or not 0 <= counter < 0xFFFFFF:
            raise ValueError("ids: process_part is 5 bytes, counter below 0xFFFFFF")
        with self._lock:
            self._random.move_to(position["random"])
            self._process_part, self._counter = part, counter

    def object_id(self, epoch: float) -> str:
        """A real ObjectId's text: 4-byte timestamp from the emulator clock, 5 seeded bytes, a counter.

        The 12 bytes in lower-case hex, as a Mongo driver writes an ObjectId (tests/test_randomness.py)."""
        with self._lock:
            self._counter = (self._counter + 1) % 0xFFFFFF
            counter = self._counter
        return (int(epoch).to_bytes(4, "big") + self._process_part + counter.to_bytes(3, "big")).hex()

    def request_id(self) -> str:
        """A version-4 UUID's text from 128 seeded bits: str(uuid.UUID(int=bits, version=4))."""
        return uuid4_text(self._random.getrandbits(128))


def object_id_seconds(object_id: str) -> int:
    """When an ObjectId was made: its first 4 bytes, big-endian epoch seconds (what a driver's
    generation_time reads)."""
    return int(object_id[:8], 16)


_VERSION_4 = (~(0xC000 << 48) & ~(0xF000 << 64), (0x8000 << 48) | (4 << 76))  # bits cleared, bits set


def uuid4_text(bits: int) -> str:
    """uuid.UUID(int=bits, version=4)'s text: the RFC 4122 variant and version 4 set, 8-4-4-4-12 hex."""
    text = f"{(bits & _VERSION_4[0]) | _VERSION_4[1]:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
