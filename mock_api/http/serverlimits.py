"""The server's connection limits, timeouts and shutdown grace, their defaults and why; the body bytes held."""
from __future__ import annotations

from dataclasses import dataclass

# Measured (benchmarks/bench_reads.py, 2 cores): 4 threads serve as many reads as 8 with a lower p99; more
# threads only queue on the GIL. The event loop reads and writes the
# sockets, so a slow client holds no thread.
DEFAULT_THREADS = 4
# An open connection costs a few KB here; 4,096 lets a crowd of idle keep-alive or slowloris sockets sit
# beside the real clients (waitress's default of 100 locked new clients out for two minutes).
DEFAULT_CONNECTION_LIMIT = 4096
DEFAULT_IDLE_TIMEOUT = 30  # seconds a connection may stay silent between requests
DEFAULT_HEADER_TIMEOUT = 20  # seconds from a request's first byte to the end of its headers (slowloris)
# Seconds from the end of a request's headers to the end of its body; past it 408. A slow body holds its
# bytes and its connection as a slow head does, and a mock's consumers are on this machine.
DEFAULT_BODY_TIMEOUT = 20
# Body bytes buffered across all connections (requests still arriving or waiting their turn); past it a
# body gets 503 with Retry-After. 64 bodies of the default largest size: a crowd of unfinished 1 MB
# bodies once held a gigabyte.
DEFAULT_BODY_BUFFER_BYTES = 64 * 1024 * 1024
BODY_RETRY_AFTER = 1  # seconds a client refused for the buffer is told to wait
DEFAULT_MAX_HEADER_BYTES = 256 * 1024  # request line and headers; past it 431 (waitress's default bound)
DEFAULT_SHUTDOWN_GRACE = 5.0  # seconds SIGTERM waits for requests already received
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # MockConfig.max_body_bytes: the app answers 413 past it
# The app itself answers a body over its limit with 413; past the limit and this much more the server stops
# reading and answers the same 413, so a body is never buffered unbounded.
BODY_SLACK = 64 * 1024


@dataclass(frozen=True)
class ServerLimits:
    """Connection limits and the shutdown grace; each field is a CLI option (docs/reference.md: connections)."""

    threads: int = DEFAULT_THREADS
    connection_limit: int = DEFAULT_CONNECTION_LIMIT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # the app's own limit (serve() reads it from a Flask app)
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    body_buffer_bytes: int = DEFAULT_BODY_BUFFER_BYTES
    # Host names served besides localhost, 127.0.0.1, [::1] and the bound address on a loopback bind
    # (serve() reads them from a Flask app's MockConfig): any other Host is a 421 (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()

    @property
    def max_request_body(self) -> int:
        """The most body bytes read for one request before the server answers 413 itself."""
        return self.max_body_bytes + BODY_SLACK


class BodyBuffer:
    """The body bytes held by all connections of one server (one event loop: no lock), against its cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.held = 0

    def take(self, size: int) -> bool:
        """Count `size` more bytes held; False (nothing counted) when that would pass the cap."""
        if self.held + size > self.cap:
            return False
        self.held += size
        return True

    def give(self, size: int) -> None:
        self.held -= size
