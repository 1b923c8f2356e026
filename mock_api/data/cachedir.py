"""Where mock_api keeps what it computed before (generated data, YAML verdicts): one setting for all."""
from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "MOCK_API_CACHE_DIR"  # a directory, or "off" to compute every time


def cache_dir() -> Path | None:
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "no") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mock_api"
