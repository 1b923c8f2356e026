"""mock_api: a local emulator of the Dartmouth API's academic petitions slice, for integration tests."""
from __future__ import annotations

from mock_api.config import VERSION as __version__

__all__ = ["__version__", "create_app"]


def __getattr__(name: str) -> object:
    # Lazy, so that `import mock_api` (e.g. by the pytest plugin loader) does not import Flask.
    if name == "create_app":
        from mock_api.http.app import create_app

        return create_app
    raise AttributeError(name)
