"""One client connection: requests read by a RequestReader, answered in order: in the event loop, or by a worker."""
from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections import deque
from concurrent.futures import Executor
from typing import Any, Protocol, runtime_checkable

from mock_api.http.parsed import Refused, Request
from mock_api.http.parts import Answer, detail_answer
from mock_api.http.reader import RequestReader
from mock_api.http.response import encode, error_bytes
from mock_api.http.serverlimits import BodyBuffer, ServerLimits
from mock_api.http.wsgi import Target, build_environ
from mock_api.service import errors

log = logging.getLogger("mock_api.server")
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
WRITE_HIGH_WATER = 256 * 1024  # bytes buffered for a slow reader before we stop reading its requests
# After an answer we close on, the connection reads and drops what the client still sends (a body it wrote
# before reading, say), so that our close is no reset that destroys the answer in flight (nginx's lingering
# close): until the client closes, or is this long silent, or this long in all.
LINGER_QUIET = 2.0
LINGER_TIME = 10.0


@runtime_checkable
class Front(Protocol):
    """The app as the server calls it (mock_api/http/dispatch.py's Dispatcher)."""

    def answer(self, environ: dict[str, Any], may_block: bool = ...) -> Answer | None: ...

    def work(self, environ: dict[str, Any]) -> Answer: ...


class Host(Protocol):
    """What a connection needs of its server (mock_api/http/server.py's Server)."""

    front: Front
    limits: ServerLimits
    executor: Executor
    loop: asyncio.AbstractEventLoop
    draining: bool
    bodies: BodyBuffer
    hosts: frozenset[str] | None  # the Host names served; None: any

    def opened(self, connection: HttpConnection) -> None: ...

    def closed(self, connection: HttpConnection) -> None: ...


class HttpConnection(asyncio.Protocol):
    """Reads requests, answers one at a time in arrival order; reading pauses while the app works on one."""

    def __init__(self, server: Host) -> None:
        self.server = server
        self.limits = server.limits
        self.transport: asyncio.Transport | None = None
        self.target = Target("", "", "", "")
        self.queue: deque[Request | Refused] = deque()
        self.reader = RequestReader(server.limits, server.bodies, server.hosts, self.queue)
        self.busy = False  # the WSGI app is answering a request of this connection
        self.reading_paused = False
        self.writing_paused = False
        self.closing = False
        self.eof = False  # the client sent FIN (or asked to switch protocols): close once its answers are out
        self.lingering: float | None = None  # since when it reads only to drop, its last answer sent
        self.last_activity = time.monotonic()

    # -- asyncio.Protocol ------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        local = transport.get_extra_info("sockname") or ("", 0)
        peer = transport.get_extra_info("peername") or ("", 0)
        self.target = Target(str(local[0]), str(local[1]), str(peer[0]), str(peer[1]))
        self.server.opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.reader.close()  # what was queued is dropped unanswered; the bodies held are given back
        self.server.closed(self)

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        if self.closing:  # lingering (or closed): what the client still sends is dropped
            return
        if self.reader.feed(data):
            self.eof = True
        if self.reader.stopped:
            self._pause_reading()
        self._next()

    def pause_writing(self) -> None:
        self.writing_paused = True
        self._pause_reading()

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._next()
        if not self.busy and not self.writing_paused:
            self._resume_reading()

    def eof_received(self) -> bool:
        if self.lingering is not None:
            return False  # the client is done too: the transport closes
        self.eof = True  # half-closed: answer what was received, then close
        self._next()
        return True

    # -- answering -------------------------------------------------------------------------------------
    def _next(self) -> None:
        """Answer the queued requests in order until one goes to a worker thread or writing must wait; after
        each answer given in the loop, the loop runs other clients before this one's next request. None once the
        transport is closing (the client reset it: what it queued is dropped, never computed)."""
        if self.transport is not None and self.transport.is_closing() and not self.closing:
            self.closing = True
            self.reader.close()
        if self.queue and not self.busy and not self.writing_paused and not self.closing:
            item = self.queue.popleft()
            if isinstance(item, Refused):
                self._write_and_close(error_bytes(item.status, item.detail, item.headers))
                return
            self.server.bodies.give(item.size)  # handed on: the app's to hold now, one per worker at most
            if self._dispatch(item) and self.queue:
                self.server.loop.call_soon(self._next)
                return
        if not self.queue and not self.busy and not self.closing:
            self._after_queue()

    def _after_queue(self) -> None:
        """Nothing owed: a 100 Continue the client waits for goes now; a drain closes the connection."""
        current = self.reader.current
        if current is not None and current.expect_continue and self.transport is not None:
            current.expect_continue = False
            self.transport.write(CONTINUE)
        if (self.server.draining or self.eof) and self.transport is not None:
            self.closing = True
            self.transport.close()

    def _dispatch(self, request: Request) -> bool:
        """Answer in the loop when the app can do so at once (True); else in a worker thread (False)."""
        environ = build_environ(request.method, request.url, request.version, request.headers,
                                b"".join(request.body), self.target)
        try:
            answer = self.server.front.answer(environ, may_block=False)
        except Exception:  # the app answers its own errors; this is a bug, and still an answer
            log.exception("mock_api: the app raised in the event loop")
            answer = detail_answer(500, errors.INTERNAL_ERROR)
        if answer is not None:
            self._send(request, answer)
            return True
        self.busy = True
        self._pause_reading()
        future = self.server.loop.run_in_executor(self.server.executor, self.server.front.work, environ)
        future.add_done_callback(lambda done: self._worked(request, done))
        return False

    def _worked(self, request: Request, done: asyncio.Future[Answer]) -> None:
        self.busy = False
        if self.closing or done.cancelled():
            return
        try:
            answer = done.result()
        except Exception:
            log.exception("mock_api: the app raised in a worker")
            answer = detail_answer(500, errors.INTERNAL_ERROR)
        self._send(request, answer)
        if not self.closing and not self.writing_paused:
            self._resume_reading()
        self._next()

    def _send(self, request: Request, answer: Answer) -> None:
        """The answer in HTTP/1.1 (1.0 to a 1.0 request); Connection: close when we close after it."""
        if answer.fault in ("reset", "empty"):
            self._drop(answer.fault == "reset")
            return
        last = not self.queue and (self.eof or self.server.draining)
        try:
            encoded = encode(answer, request.method, "1.0" if request.version == "1.0" else "1.1",
                             request.keep_alive and not last)
        except UnicodeEncodeError:  # a header HTTP/1.1 cannot carry (not latin-1): a 500, never a dead socket
            self._write_and_close(error_bytes(500, errors.UNSENDABLE_HEADER))
            return
        self._write(*encoded)

    def _write(self, head: bytes, body: bytes, close: bool) -> None:
        assert self.transport is not None
        self.transport.write(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.transport.write(body)
        self.last_activity = time.monotonic()
        if close:
            self._linger()

    def _write_and_close(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)
        self._linger()

    def _linger(self) -> None:
        """Close our side once the answer is out, and drop what the client still sends until it closes, or
        LINGER_QUIET or LINGER_TIME pass (the sweep): a client writing its body before it reads gets our 413."""
        assert self.transport is not None
        self.closing = True
        self.reader.close()
        # Nothing more can come after the client's FIN; a drain must not wait on clients that keep the socket.
        if self.eof or self.server.draining or self.transport.is_closing() or not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.lingering = self.last_activity = time.monotonic()
        if self.reading_paused:
            self.reading_paused = False
            self.transport.resume_reading()

    def _pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None and not self.closing:
            self.reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None and not self.closing and not self.server.draining:
            self.reading_paused = False
            self.transport.resume_reading()
            if self.reader.body_started is not None:  # a body we did not read meanwhile gets its time again
                self.reader.body_started = time.monotonic()

    # -- faults and timeouts ---------------------------------------------------------------------------
    def _drop(self, reset: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self.closing = True
        if reset:
            sock: Any = transport.get_extra_info("socket")
            if sock is not None:  # linger on, 0 s: close() sends a TCP RST instead of a FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()

    def sweep(self, now: float) -> None:
        """A body slower than the body timeout gets its 408; past any other timeout the connection closes."""
        started = self.reader.body_started
        if (started is not None and not self.closing and not self.reading_paused
                and now - started > self.limits.body_timeout):
            self.reader.refuse(Refused(408, errors.BODY_TOO_SLOW.format(seconds=self.limits.body_timeout)))
            self._pause_reading()
            self._next()
        elif self.expired(now):
            self.stop()

    def expired(self, now: float) -> bool:
        """Silent past the idle timeout (not while the app answers it), its head slower than the header timeout,
        or lingering past its time."""
        if self.lingering is not None:
            return now - self.last_activity > LINGER_QUIET or now - self.lingering > LINGER_TIME
        started = self.reader.head_started
        if started is not None and now - started > self.limits.header_timeout:
            return True
        return not self.busy and now - self.last_activity > self.limits.idle_timeout

    def stop(self) -> None:
        """Close now, dropping whatever is unanswered or unsent (the drain's end, or a timeout)."""
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    def begin_drain(self) -> None:
        """Shutdown: read nothing more; close once the requests already received are answered."""
        if self.lingering is not None:
            self.stop()
            return
        self._pause_reading()
        if not self.busy:
            self._next()
