"""A request as a connection parsed it, and a refusal the server answers itself (400, 413, 431)."""
from __future__ import annotations


class Refused(Exception):
    """A request the server answers itself with an error, then closes: its status and detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Request:
    """One parsed request: what the environ is built from, and whether the connection stays open after it."""

    __slots__ = ("body", "expect_continue", "headers", "keep_alive", "method", "url", "version")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.method = "GET"
        self.version = "1.1"
        self.keep_alive = True
        self.expect_continue = False
