"""Where mock_api keeps what it computed before (generated data, parsed YAML, YAML verdicts): one setting for all."""
from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

CACHE_ENV = "MOCK_API_CACHE_DIR"  # a directory, or "off" to compute every time


def cache_dir() -> Path | None:
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "no") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mock_api"


@cache  # once per process: a start asks for PyYAML's seven times
def install_stamp(module: str) -> tuple[Any, ...]:
    """An installed module's file, size and time, found without importing it: a cached result it computed is
    stale once the module is reinstalled or upgraded. (None,) when it is not installed."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        return (None,)
    stat = os.stat(spec.origin)
    return spec.origin, stat.st_size, stat.st_mtime_ns


def keep_newest(directory: Path, patterns: Sequence[str], kept: int) -> None:
    """Delete the files matching `patterns` in `directory` but the `kept` written last: a bounded cache."""
    found = sorted((path for pattern in patterns for path in directory.glob(pattern)), key=_written)
    for old in found[:-kept]:
        old.unlink(missing_ok=True)


def _written(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:  # deleted meanwhile by another process: first to go, and unlink ignores it
        return 0
