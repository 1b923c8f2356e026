"""Serves an app over HTTP/1.1 with our own asyncio server (one process: the state lives in this process)."""
from __future__ import annotations

import asyncio
import gc
import resource
import signal
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import replace

from mock_api.http.admission import served_hosts
from mock_api.http.connection import Front, HttpConnection
from mock_api.http.serverlimits import DEFAULT_THREADS, BodyBuffer, ServerLimits

__all__ = ["Server", "ServerLimits", "listen", "raise_descriptor_limit", "serve", "serve_until_stopped"]

FD_RESERVE = 64  # descriptors kept for files and the listening socket
DRAIN_STEP = 0.05  # seconds between looks while draining
SWEEP_SECONDS = 0.5  # how often idle and slow-header connections are looked for
ACCEPT_BATCH = 64  # connections accepted per wake-up of the listening socket
LISTEN_BACKLOG = 1024


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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


def listen(host: str, port: int) -> socket.socket:
    """A listening, non-blocking socket on the first address `host` names (port 0: a free port)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class Server:
    """The listening socket and the open connections: accepts up to the limit, sweeps timeouts, drains."""

    def __init__(self, front: Front, limits: ServerLimits, sock: socket.socket,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.front = front
        self.limits = limits
        self.sock: socket.socket | None = sock
        self.loop = loop
        self.executor: Executor = ThreadPoolExecutor(max_workers=limits.threads, thread_name_prefix="mock_api")
        self.connections: set[HttpConnection] = set()
        self.accepted = 0  # accepted sockets, counted before their protocol is connected
        self.accepting = False
        self.draining = False
        self.bodies = BodyBuffer(limits.body_buffer_bytes)
        self.hosts = served_hosts(str(sock.getsockname()[0]), limits.allowed_hosts)

    def start(self) -> None:
        self._accepting(True)
        self.loop.call_later(SWEEP_SECONDS, self._sweep)

    def _accepting(self, on: bool) -> None:
        if self.sock is None or on == self.accepting:
            return
        self.accepting = on
        if on:
            self.loop.add_reader(self.sock.fileno(), self._accept)
        else:
            self.loop.remove_reader(self.sock.fileno())

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            if self.sock is None or self.accepted >= self.limits.connection_limit:
                break
            try:
                client, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # EMFILE, ECONNABORTED ...: try again on the next wake-up
                return
            client.setblocking(False)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.accepted += 1
            self.loop.create_task(self._connect(client))
        if self.accepted >= self.limits.connection_limit:
            self._accepting(False)  # new clients wait in the listen queue until one closes

    async def _connect(self, client: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(lambda: HttpConnection(self), client)
        except OSError:
            client.close()
            self._released()

    def opened(self, connection: HttpConnection) -> None:
        self.connections.add(connection)

    def closed(self, connection: HttpConnection) -> None:
        self.connections.discard(connection)
        self._released()

    def _released(self) -> None:
        self.accepted -= 1
        if not self.draining and self.accepted < self.limits.connection_limit:
            self._accepting(True)

    def _sweep(self) -> None:
        now = time.monotonic()
        for connection in list(self.connections):
            connection.sweep(now)
        if self.sock is not None:
            self.loop.call_later(SWEEP_SECONDS, self._sweep)

    def stop_accepting(self) -> None:
        """Close the listening socket: new connections are refused."""
        self._accepting(False)
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def begin_drain(self) -> None:
        self.draining = True
        for connection in list(self.connections):
            connection.begin_drain()

    def close(self) -> None:
        self.stop_accepting()
        for connection in list(self.connections):
            connection.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)


async def serve_until_stopped(server: Server, stop: asyncio.Event, again: asyncio.Event,
                              step: float = DRAIN_STEP) -> None:
    """Serve until the first signal; then drain for up to the grace (a second signal ends it at once),
    looking every `step` seconds (the in-process server of the tests looks more often: it stops per session)."""
    server.start()
    await stop.wait()
    server.stop_accepting()
    await asyncio.sleep(step)  # one turn: requests that reached the kernel before the signal are read
    server.begin_drain()
    deadline = time.monotonic() + server.limits.shutdown_grace
    while server.connections and not again.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(step)
    server.close()
    await asyncio.sleep(0)  # let the transports' close callbacks run


def _limits_for(limits: ServerLimits) -> ServerLimits:
    """The connection limit that fits the open-files limit."""
    connection_limit = raise_descriptor_limit(limits.connection_limit)
    if connection_limit < limits.connection_limit:
        print(f"mock_api: warning: open-files limit allows {connection_limit} connections, not "
              f"{limits.connection_limit}", file=sys.stderr, flush=True)
    return replace(limits, connection_limit=connection_limit)


def _on_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event, again: asyncio.Event) -> None:
    def signalled() -> None:
        (again if stop.is_set() else stop).set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, signalled)


SWITCH_INTERVAL = 0.0001  # seconds: Python's default is 0.005


def serve(front: Front, host: str, port: int, threads: int = DEFAULT_THREADS,
          announce: Callable[[str], None] | None = None, limits: ServerLimits | None = None,
          after_ready: Callable[[str], None] | None = None) -> None:
    """Bind (port 0 picks a free port), announce the real URL once, serve until SIGINT/SIGTERM, drain.

    `front` answers each request in the event loop when it can at once, else in a worker thread."""
    limits = _limits_for(limits or ServerLimits(threads=threads))
    sock = listen(host, port)
    loop = asyncio.new_event_loop()
    server = Server(front, limits, sock, loop)
    stop, again = asyncio.Event(), asyncio.Event()
    line = f"mock_api listening on {_url(host, int(sock.getsockname()[1]))}"
    # Everything loaded so far (the snapshot: ~1.5 million objects at 100,000 petitions) lives as long as
    # the process: frozen, the cyclic GC stops walking it, which otherwise paused requests for ~100+ ms.
    gc.freeze()
    # A worker answering a large read holds the GIL for a whole switch interval each time the loop lets it go
    # (every socket call), so a cheap request in the loop waited that long many times over; a shorter interval
    # hands the GIL back sooner (benchmarks/bench_fairness.py).
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        _on_signals(loop, stop, again)  # from the ready line on, a signal is a clean stop
        if announce is None:
            print(line, flush=True)
        else:
            announce(line)
        if after_ready is not None:  # stderr's welcome: after the ready line, which scripts wait for on stdout
            after_ready(_url(host, int(sock.getsockname()[1])))
        loop.run_until_complete(serve_until_stopped(server, stop, again))
    finally:
        server.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        loop.close()
        print("mock_api stopped", file=sys.stderr, flush=True)
