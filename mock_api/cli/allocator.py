"""glibc's allocator told to give large blocks back to the system, so that what the memory budget frees leaves RSS."""
from __future__ import annotations

import sys

# glibc's mallopt parameter and the block size from which memory is mapped on its own (glibc's initial default).
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
MMAP_THRESHOLD_BYTES = 32 * 1024
ARENAS = 2


def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold, so that every large block (a task's payload, a body) is unmapped when freed.

    By default glibc raises the threshold to the size of each mapped block freed, up to 32 MiB: after the first
    1 MB payload is dropped, later ones come from the heap, where what is freed between live blocks stays
    resident; under a hostile mix RSS grew ~100 MB past what the stores held. Whether it was set (glibc only)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # here: only `mock-api serve` pays for it

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # another C library (musl has no mallopt)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(M_ARENA_MAX, ARENAS))
