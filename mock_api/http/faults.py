"""Faults below HTTP (connection reset, empty reply, truncated body), done by a WSGI middleware."""
from __future__ import annotations

import os
import socket
import struct
from collections.abc import Callable, Iterable
from typing import Any

from mock_api.scenarios.effects import DROPPING_FAULTS as DROPPING  # the client gets no status line at all
from mock_api.scenarios.effects import FAULT_KINDS as KINDS

FAULT_KEY = "mock_api.fault"
# Our server (mock_api/http/server.py) puts its connection here: an object whose drop(reset) closes the
# connection from any thread, writing nothing (RST when reset, else FIN).
CONNECTION_KEY = "mock_api.connection"
__all__ = ["CONNECTION_KEY", "DROPPING", "FAULT_KEY", "KINDS", "FaultMiddleware", "deliver_fault", "drop_connection",
           "request_fault"]

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def request_fault(environ: dict[str, Any], kind: str) -> None:
    """Ask the middleware to break this request's connection once the app has answered."""
    environ[FAULT_KEY] = kind


class FaultMiddleware:
    """Wraps the Flask app: a request marked with a fault never reaches the client intact."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            if environ.get(FAULT_KEY) is None:
                return start_response(status, headers, exc_info)  # type: ignore[no-any-return]
            captured[:] = [status, headers]
            return lambda data: None

        result = self.app(environ, capture)
        kind = environ.get(FAULT_KEY)
        if kind is None:
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = captured
        return deliver_fault(environ, kind, status, headers, body, start_response)


def deliver_fault(environ: dict[str, Any], kind: str, status: str, headers: list[tuple[str, str]], body: bytes,
                  start_response: StartResponse) -> list[bytes]:
    """Break the answer as `kind` says: drop the connection (reset, empty) or send half the body (truncated)."""
    if kind in DROPPING:
        drop_connection(environ, reset=kind == "reset")
    # Promise the whole body, send half: the server then closes the connection early (too few bytes for
    # Content-Length: ours and waitress do so), werkzeug closes every connection after a response.
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    start_response(status, [*headers, ("Content-Length", str(max(len(body), 1)))])
    return [body[: len(body) // 2]]


def _linger_zero(sock: socket.socket) -> None:
    """Closing a socket with SO_LINGER (on, 0 s) sends a TCP RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def drop_connection(environ: dict[str, Any], reset: bool) -> None:
    """Close the client's connection with no reply (FIN), or abort it (RST); always raises."""
    connection = environ.get(CONNECTION_KEY)
    if connection is not None:
        connection.drop(reset)
        raise ConnectionAbortedError("mock_api fault")  # the server writes nothing for this request
    disconnected = environ.get("waitress.client_disconnected")
    channel = getattr(disconnected, "__self__", None)
    if channel is not None:
        from waitress.channel import ClientDisconnected
        if reset:
            _linger_zero(channel.socket)
        # waitress answers this exception by closing the channel, in its own loop, writing nothing.
        raise ClientDisconnected("mock_api fault")
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        if reset:
            _linger_zero(sock)
            _close_underneath(sock)
        else:
            sock.shutdown(socket.SHUT_RDWR)
        # werkzeug treats ConnectionError as a dropped connection: no 500, no traceback.
        raise ConnectionAbortedError("mock_api fault")
    raise ConnectionAbortedError(f"mock_api fault: {'reset' if reset else 'empty'} "
                                 "(this server gives no access to the connection)")


def _close_underneath(sock: socket.socket) -> None:
    """Close the TCP connection now while the fd number stays valid for the server thread.

    werkzeug shuts the socket down (FIN) before closing it, which would hide the RST; putting a
    dead socketpair end on the same fd closes the TCP socket at once (RST, given linger 0), and the
    server then reads EOF from the placeholder and finishes normally.
    """
    placeholder, peer = socket.socketpair()
    try:
        os.dup2(placeholder.fileno(), sock.fileno())
    finally:
        placeholder.close()
        peer.close()
