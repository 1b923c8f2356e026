"""One client connection: HTTP/1.1 parsed by httptools, answered in order: in the event loop, or by a worker."""
from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections import deque
from concurrent.futures import Executor
from typing import Any, Protocol, runtime_checkable

import httptools

from mock_api.http.parsed import Refused, Request
from mock_api.http.parts import Answer, detail_answer
from mock_api.http.response import encode, error_bytes
from mock_api.http.serverlimits import ServerLimits
from mock_api.http.wsgi import Target, build_environ
from mock_api.service import errors

log = logging.getLogger("mock_api.server")
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
WRITE_HIGH_WATER = 256 * 1024  # bytes buffered for a slow reader before we stop reading its requests
# httptools buffers an unfinished head itself; we count raw bytes to bound it, give or take one read (asyncio
# reads at most 256 KiB at once, part of which may belong to the request before).
READ_SLACK = 256 * 1024


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

    def opened(self, connection: HttpConnection) -> None: ...

    def closed(self, connection: HttpConnection) -> None: ...


class HttpConnection(asyncio.Protocol):
    """Reads requests, answers one at a time in arrival order; reading pauses while the app works on one."""

    def __init__(self, server: Host) -> None:
        self.server = server
        self.limits = server.limits
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.target = Target("", "", "", "")
        self.queue: deque[Request | Refused] = deque()
        self.current: Request | None = None  # being parsed
        self.head_bytes = 0  # of the request being parsed, until its headers end
        self.head_started: float | None = None  # when its first byte came, until its headers end
        self.body_bytes = 0
        self.busy = False  # the WSGI app is answering a request of this connection
        self.reading_paused = False
        self.writing_paused = False
        self.closing = False
        self.eof = False  # the client sent FIN (or asked to switch protocols): close once its answers are out
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
        self.queue.clear()
        self.server.closed(self)

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            self._refuse(cause if isinstance(cause, Refused) else Refused(400, f"Malformed HTTP request: {exc}"))
        except httptools.HttpParserUpgrade:  # answered as a plain request (no protocol switch), then closed
            self.eof = True
            self._pause_reading()
        except httptools.HttpParserError as exc:
            self._refuse(Refused(400, f"Malformed HTTP request: {exc}"))
        else:
            if self.head_started is not None:  # a head still arriving: httptools buffers it, so bound it here
                self.head_bytes += len(data)
                if self.head_bytes > self.limits.max_header_bytes + READ_SLACK:
                    self._refuse(self._too_large_head())
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
        self.eof = True  # half-closed: answer what was received, then close
        self._next()
        return True

    # -- httptools callbacks ---------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.current = Request()
        self.head_started = time.monotonic()
        self.head_bytes = 0
        self.body_bytes = 0

    def on_url(self, url: bytes) -> None:
        assert self.current is not None
        self.current.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.current is not None
        self.current.headers.append((name, value))

    def on_headers_complete(self) -> None:
        request = self.current
        assert request is not None
        size = len(request.url) + sum(len(name) + len(value) + 4 for name, value in request.headers)
        if size > self.limits.max_header_bytes:
            raise self._too_large_head()
        self.head_started = None
        parser = self.parser
        request.method = parser.get_method().decode("latin-1")
        request.version = parser.get_http_version()
        request.keep_alive = parser.should_keep_alive()
        for name, value in request.headers:
            lowered = name.lower()
            if lowered == b"content-length" and value.isdigit() and int(value) > self.limits.max_request_body:
                raise Refused(413, errors.BODY_TOO_LARGE.format(limit=self.limits.max_body_bytes))
            if lowered == b"expect" and value.lower() == b"100-continue" and request.version == "1.1":
                request.expect_continue = True
        if request.expect_continue and not self.queue and not self.busy and self.transport is not None:
            self.transport.write(CONTINUE)  # nothing is owed before it: the client may send its body now
            request.expect_continue = False

    def on_body(self, body: bytes) -> None:
        assert self.current is not None
        self.body_bytes += len(body)
        if self.body_bytes > self.limits.max_request_body:
            raise Refused(413, errors.BODY_TOO_LARGE.format(limit=self.limits.max_body_bytes))
        self.current.body.append(body)

    def on_message_complete(self) -> None:
        assert self.current is not None
        self.queue.append(self.current)
        self.current = None

    # -- answering -------------------------------------------------------------------------------------
    def _next(self) -> None:
        """Answer the queued requests in order until one goes to a worker thread or writing must wait; after
        each answer given in the loop, the loop runs other clients before this one's next request."""
        if self.queue and not self.busy and not self.writing_paused and not self.closing:
            item = self.queue.popleft()
            if isinstance(item, Refused):
                self._write_and_close(error_bytes(item.status, item.detail))
                return
            if self._dispatch(item) and self.queue:
                self.server.loop.call_soon(self._next)
                return
        if not self.queue and not self.busy and not self.closing:
            self._after_queue()

    def _after_queue(self) -> None:
        """Nothing owed: a 100 Continue deferred behind earlier answers goes now; a drain closes the connection."""
        if self.current is not None and self.current.expect_continue and self.transport is not None:
            self.current.expect_continue = False
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
        if answer.fault in ("reset", "empty"):
            self._drop(answer.fault == "reset")
            return
        try:
            encoded = encode(answer, request.method, request.version, request.keep_alive)
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
            self.closing = True
            self.transport.close()

    def _write_and_close(self, data: bytes) -> None:
        assert self.transport is not None
        self.closing = True
        self.transport.write(data)
        self.transport.close()

    def _refuse(self, refused: Refused) -> None:
        """The parser cannot go on: the error answer is queued after what is owed, then the connection closes."""
        self.current = None
        self.head_started = None
        self.queue.append(refused)
        self._pause_reading()

    def _too_large_head(self) -> Refused:
        return Refused(431, f"Request header fields are larger than {self.limits.max_header_bytes} bytes")

    def _pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None and not self.closing:
            self.reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None and not self.closing and not self.server.draining:
            self.reading_paused = False
            self.transport.resume_reading()

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

    def expired(self, now: float) -> bool:
        """Silent past the idle timeout (not while the app answers it), or its head slower than the header timeout."""
        if self.head_started is not None and now - self.head_started > self.limits.header_timeout:
            return True
        return not self.busy and now - self.last_activity > self.limits.idle_timeout

    def stop(self) -> None:
        """Close now, dropping whatever is unanswered or unsent (the drain's end, or a timeout)."""
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    def begin_drain(self) -> None:
        """Shutdown: read nothing more; close once the requests already received are answered."""
        self._pause_reading()
        if not self.busy:
            self._next()
