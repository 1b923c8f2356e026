"""Where mock_api keeps what it computed before (generated data, parsed YAML, YAML verdicts): one setting for all."""
from __future__ import annotations

import importlib.util
import os
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
