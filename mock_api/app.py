"""Public import path kept from 0.1: `mock_api.app.create_app` is now `mock_api.http.app.create_app`."""
from __future__ import annotations

from mock_api.http.app import create_app

__all__ = ["create_app"]
