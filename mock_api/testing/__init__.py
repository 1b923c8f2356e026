"""mock_api inside a test process: the in-process server, the per-test handle and the pytest plugin."""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DEFAULT_KEY", "DEFAULT_STARTUP_TIMEOUT", "MockApiHandle", "MockApiServer", "MockApiStartupError",
           "RecordedRequest", "probe"]


def __getattr__(name: str) -> Any:
    # Lazy: the pytest plugin (this package's `plugin`) loads in every pytest run, and importing the
    # harness imports Flask and faker (~0.2 s) that a run without the fixture never needs.
    if name in __all__:
        return getattr(importlib.import_module("mock_api.testing.harness"), name)
    raise AttributeError(name)
