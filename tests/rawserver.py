"""Our HTTP/1.1 server in a thread of this process, for raw-socket tests: a test app, a fake front, helpers."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from mock_api.http.parts import Answer
from mock_api.http.server import Server, ServerLimits, listen, serve_until_stopped
from mock_api.http.wsgi import run_app

BIG = b"b" * (1024 * 1024)


def echo_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """/slow sleeps 0.3 s, /big answers 1 MiB, /fixed 10 bytes (none for HEAD, as Flask does), /nolength names
    no length, /short promises 10 bytes and gives 4; everything else echoes what the app was given, as JSON."""
    path = environ["PATH_INFO"]
    if path == "/slow":
        time.sleep(0.3)
    if path == "/fixed":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [b"fixed body"]
    if path in ("/nolength", "/short"):
        start_response("200 OK", [("Content-Length", "10")] if path == "/short" else [])
        return [b"par", b"t"]
    if path == "/euro":  # a header HTTP/1.1 cannot carry
        start_response("200 OK", [("Content-Length", "2"), ("X-Euro", "\u20ac")])
        return [b"ok"]
    if path == "/big":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BIG)))])
        return [BIG]
    body = json.dumps({"method": environ["REQUEST_METHOD"], "path": path, "query": environ["QUERY_STRING"],
                       "length": environ["CONTENT_LENGTH"], "body": environ["wsgi.input"].read().decode(),
                       "accept": environ.get("HTTP_ACCEPT")}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                              ("x-request-id", "r1")])
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


class FakeFront:
    """Answers /inline (and its faults) in the server's loop; every other path in a worker, through `app`."""

    def __init__(self, app: Any = None) -> None:
        self.app = app or echo_app

    def answer(self, environ: dict[str, Any], may_block: bool = True) -> Answer | None:
        path = environ["PATH_INFO"]
        if not path.startswith("/inline"):
            return None
        if path == "/inline/euro":
            return Answer(200, [("X-Euro", "\u20ac")], b"ok")
        fault = path.removeprefix("/inline").strip("/") or None
        return Answer(202, [("Content-Type", "application/json")], b'{"inline": "yes"}', fault)

    def work(self, environ: dict[str, Any]) -> Answer:
        return self.answer(environ) or run_app(self.app, environ)


@contextmanager
def running(limits: ServerLimits | None = None, app: Any = echo_app,
            front: Any = None) -> Iterator[tuple[tuple[str, int], Server]]:
    """Our server on 127.0.0.1, port 0, its loop in a thread (FakeFront(app) unless `front`); stopped (drained) on
    exit."""
    limits = limits or ServerLimits(threads=2)
    sock = listen("127.0.0.1", 0)
    loop = asyncio.new_event_loop()
    server = Server(front or FakeFront(app), limits, sock, loop)
    stop, again = asyncio.Event(), asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve_until_stopped(server, stop, again),),
                              daemon=True)
    thread.start()
    try:
        yield ("127.0.0.1", int(sock.getsockname()[1])), server
    finally:
        loop.call_soon_threadsafe(again.set)
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def answers(data: bytes) -> list[tuple[str, dict[str, str], bytes]]:
    """Split a stream of Content-Length answers: status line, headers, body of each."""
    found = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines)
        length = int(headers.get("Content-Length", "0"))
        found.append((status, headers, rest[:length]))
        data = rest[length:]
    return found


def exchange(address: tuple[str, int], raw: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(raw)
        return read_until_closed(sock)
