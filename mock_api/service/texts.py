"""Texts cut to a bound when they are kept, with a marker that says so."""
from __future__ import annotations


def cut_marker(kept: int, sent: int) -> str:
    """Appended to a cut value, so that nobody mistakes it for what the client sent."""
    return f"...[mock_api: cut at {kept} of {sent} bytes]"


def cut_text(value: str, limit: int) -> str:
    """The value, or its first `limit` characters and the marker (header values are Latin-1: 1 byte each)."""
    return value if len(value) <= limit else value[:limit] + cut_marker(limit, len(value))
