"""A request as a connection parsed it, and a refusal the server answers itself (400, 413, 421, 431 ...)."""
from __future__ import annotations


class Refused(Exception):
    """A request the server answers itself with an error, then closes: its status, detail and extra headers."""

    def __init__(self, status: int, detail: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


class Request:
    """One parsed request: what the environ is built from, and whether the connection stays open after it."""

    __slots__ = ("body", "expect_continue", "head_size", "headers", "keep_alive", "method", "size", "url",
                 "version")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_size = 0  # bytes of the target and header fields, those dropped included
        self.body: list[bytes] = []
        self.size = 0  # body bytes held, counted in the server's BodyBuffer until the request is handed on
        self.method = "GET"
        self.version = "1.1"
        self.keep_alive = True
        self.expect_continue = False
