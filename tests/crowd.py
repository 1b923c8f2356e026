"""Crowds of raw sockets held open against a server: idle keep-alive clients and slowloris ones."""
from __future__ import annotations

import resource
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

HEALTH = b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\n\r\n"
HEALTH_CLOSE = b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
SLOW_START = b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\n"  # headers never finished


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", int(parts.port or 80)


def ensure_descriptors(count: int) -> None:
    """Raise this process's soft open-files limit to at least `count` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count if hard == resource.RLIM_INFINITY else min(count, hard),
                                                    hard))


def read_answer(sock: socket.socket) -> bytes:
    """Up to the end of one small response's headers (the health body comes in the same segment)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@contextmanager
def crowd(url: str, idle: int, slow: int, timeout: float) -> Iterator[list[socket.socket]]:
    """`idle` connections that each got one answer and stay open, `slow` that never finish their headers.

    Yields the slow sockets (a caller trickles a header line into them to keep them alive) once the server
    has accepted all of them: a probe sent after them, answered (accepts are first come, first served)."""
    ensure_descriptors(idle + slow + 256)
    held: list[socket.socket] = []
    try:
        for _ in range(idle):
            sock = socket.create_connection(address(url), timeout=timeout)
            held.append(sock)
            sock.sendall(HEALTH)
        for sock in held:
            answer = read_answer(sock)
            if not answer.startswith(b"HTTP/1.1 200"):
                raise AssertionError(f"an idle client's first request was not answered: {answer[:80]!r}")
        slow_ones = []
        for _ in range(slow):
            sock = socket.create_connection(address(url), timeout=timeout)
            held.append(sock)
            slow_ones.append(sock)
            sock.sendall(SLOW_START)
        probe(url, timeout)
        yield slow_ones
    finally:
        for sock in held:
            sock.close()


def probe(url: str, timeout: float) -> float:
    """Seconds a new client takes to connect and read the health answer."""
    started = time.perf_counter()
    with socket.create_connection(address(url), timeout=timeout) as sock:
        sock.sendall(HEALTH_CLOSE)
        answer = read_answer(sock)
    if not answer.startswith(b"HTTP/1.1 200"):
        raise AssertionError(f"the new client got {answer[:80]!r}")
    return time.perf_counter() - started
