"""mock_api: a local emulator of the Dartmouth API's academic petitions slice, for integration tests."""
from __future__ import annotations

import importlib.metadata

# pyproject.toml holds the one version literal; the installed metadata carries it here. A source tree
# put on sys.path without installing has no metadata: it still runs, and says its version is unknown.
try:
    __version__ = importlib.metadata.version("mock_api")
except importlib.metadata.PackageNotFoundError:
    __version__ = "0+unknown"

__all__ = ["__version__", "create_app"]


def __getattr__(name: str) -> object:
    # Lazy, so that `import mock_api` (e.g. by the pytest plugin loader) does not import Flask.
    if name == "create_app":
        from mock_api.http.app import create_app

        return create_app
    raise AttributeError(name)
