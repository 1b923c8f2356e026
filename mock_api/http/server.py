"""Serves an app over HTTP with waitress (one process, threads: the state lives in this process)."""
from __future__ import annotations

import gc
import logging
import resource
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

# Measured (benchmarks/bench_reads.py, 2 cores): 4 threads serve as many reads as 8 with a p99 of
# 14-16 ms instead of 20; more threads only queue on the GIL. Requests are short and CPU-bound, and
# waitress reads and writes sockets in its own loop, so a slow client does not hold a thread.
DEFAULT_THREADS = 4
# waitress's own defaults (100 connections, idle ones closed after 120 s) let ~100 idle keep-alive or
# slowloris sockets lock every new client out for two minutes. An open connection costs a few KB here.
DEFAULT_CONNECTION_LIMIT = 4096
DEFAULT_IDLE_TIMEOUT = 30  # seconds a connection may stay silent between requests
DEFAULT_SHUTDOWN_GRACE = 5.0  # seconds SIGTERM waits for requests already received
FD_RESERVE = 64  # descriptors kept for files, the listening socket and waitress's trigger pipe
DRAIN_STEP = 0.05  # seconds per loop turn while draining


@dataclass(frozen=True)
class ServerLimits:
    """Connection limits and the shutdown grace; every field is a CLI option (README, "Connections")."""

    threads: int = DEFAULT_THREADS
    connection_limit: int = DEFAULT_CONNECTION_LIMIT
    idle_timeout: int = DEFAULT_IDLE_TIMEOUT
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def raise_descriptor_limit(connections: int) -> int:
    """Raise the soft open-files limit to fit `connections`; the connection limit that fits after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
            soft = new_soft
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return connections
    return max(1, min(connections, soft - FD_RESERVE))


def _waitress_options(limits: ServerLimits) -> dict[str, Any]:
    connection_limit = raise_descriptor_limit(limits.connection_limit)
    if connection_limit < limits.connection_limit:
        print(f"mock_api: warning: open-files limit allows {connection_limit} connections, not "
              f"{limits.connection_limit}", file=sys.stderr, flush=True)
    return {
        "threads": limits.threads, "connection_limit": connection_limit,
        "channel_timeout": limits.idle_timeout,
        # waitress looks for idle connections every cleanup_interval (default 30 s): often enough that
        # an idle connection is closed within 1.5 x the timeout.
        "cleanup_interval": max(1, min(30, limits.idle_timeout // 2)),
        # select() cannot watch descriptors above 1024; poll() can.
        "asyncore_use_poll": True,
    }


def _busy(server: Any) -> bool:
    """True while a connection has a request received but not answered, or an answer not yet sent."""
    return any(channel.requests or channel.total_outbufs_len for channel in list(server.active_channels.values()))


def drain(server: Any, grace: float) -> None:
    """Stop accepting, then keep serving the requests already received for up to `grace` seconds."""
    wasyncore.dispatcher.close(server)  # the listening socket only: new connections are refused
    deadline = time.monotonic() + grace
    try:
        # One turn first: it reads requests that reached the kernel before the signal but not yet the loop.
        wasyncore.loop(timeout=DRAIN_STEP, map=server._map, use_poll=True, count=1)
        while _busy(server) and time.monotonic() < deadline:
            wasyncore.loop(timeout=DRAIN_STEP, map=server._map, use_poll=True, count=1)
    except KeyboardInterrupt:  # a second signal: stop now
        pass


def serve(app: Any, host: str, port: int, threads: int = DEFAULT_THREADS,
          announce: Callable[[str], None] | None = None, limits: ServerLimits | None = None,
          dashboard: str | None = None) -> None:
    """Bind (port 0 picks a free port), announce the real URL once, serve until SIGINT/SIGTERM, drain.

    `dashboard`: the dashboard's path, named on stderr after the ready line (stdout keeps one line)."""
    limits = limits or ServerLimits(threads=threads)
    # waitress warns "Task queue depth is N" on every request that waits for a free thread: normal for a
    # mock under a load test, and a flood that blocks the server once a parent's stderr pipe is full.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = create_server(app, host=host, port=port, ident="mock_api", **_waitress_options(limits))
    real_port = int(server.effective_port)  # type: ignore[union-attr]
    line = f"mock_api listening on {_url(host, real_port)}"
    if announce is None:
        print(line, flush=True)
    else:
        announce(line)
    if dashboard is not None:
        print(f"mock_api dashboard: {_url(host, real_port)}{dashboard}", file=sys.stderr, flush=True)
    # Everything loaded so far (the snapshot: ~1.5 million objects at 100,000 petitions) lives as long as
    # the process: frozen, the cyclic GC stops walking it, which otherwise paused requests for ~100+ ms.
    gc.freeze()
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        wasyncore.loop(timeout=1, map=server._map, use_poll=True)  # type: ignore[union-attr]
    except KeyboardInterrupt:
        drain(server, limits.shutdown_grace)
    finally:
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        wasyncore.close_all(server._map)  # type: ignore[union-attr]
        signal.signal(signal.SIGTERM, previous)
        print("mock_api stopped", file=sys.stderr, flush=True)
