"""One client connection: HTTP/1.1 parsed by httptools, answered in order by the inline lane or the WSGI app."""
from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Protocol

import httptools

from mock_api.http.answer import TRIED_KEY, Answer, InlineLane
from mock_api.http.parsed import Refused, Request
from mock_api.http.response import encode_inline, encode_wsgi, error_answer
from mock_api.http.serverlimits import ServerLimits
from mock_api.http.wsgi import Target, WsgiAnswer, WsgiApp, build_environ, run_app
from mock_api.service import errors

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
WRITE_HIGH_WATER = 256 * 1024  # bytes buffered for a slow reader before we stop reading its requests
# httptools buffers an unfinished head itself; we count raw bytes to bound it, give or take one read (asyncio
# reads at most 256 KiB at once, part of which may belong to the request before).
READ_SLACK = 256 * 1024


class Host(Protocol):
    """What a connection needs of its server (mock_api/http/server.py's Server)."""

    app: WsgiApp
    inline: InlineLane | None
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
        """Answer the queued requests in order until one goes to a worker thread or writing must wait."""
        while self.queue and not self.busy and not self.writing_paused and not self.closing:
            item = self.queue.popleft()
            if isinstance(item, Refused):
                self._write_and_close(error_answer(item.status, item.detail))
                return
            self._dispatch(item)
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

    def _dispatch(self, request: Request) -> None:
        environ = build_environ(request.method, request.url, request.version, request.headers,
                               b"".join(request.body), self.target, self)
        inline = self.server.inline
        if inline is not None:
            answer = inline(environ)
            if answer is not None:
                self._write_inline(request, answer)
                return
            environ[TRIED_KEY] = True  # asked and declined: the app's own LaneFirst need not ask again
        self.busy = True
        self._pause_reading()
        future = asyncio.get_running_loop().run_in_executor(self.server.executor, run_app, self.server.app, environ)
        future.add_done_callback(lambda done: self._wsgi_done(request, done))

    def _wsgi_done(self, request: Request, done: asyncio.Future[WsgiAnswer | None]) -> None:
        self.busy = False
        if self.closing or done.cancelled():
            return
        answer = done.result()
        if answer is None:  # a fault dropped the connection (drop() is on its way through the loop)
            self.closing = True
            return
        self._write_wsgi(request, answer)
        if not self.closing and not self.writing_paused:
            self._resume_reading()
        self._next()

    def _write_inline(self, request: Request, answer: Answer) -> None:
        if answer.fault in ("reset", "empty"):
            self._drop(answer.fault == "reset")
            return
        self._send(encode_inline, answer, request)

    def _write_wsgi(self, request: Request, answer: WsgiAnswer) -> None:
        self._send(encode_wsgi, answer, request)

    def _send(self, encode: Callable[[Any, str, str, bool], tuple[bytes, bytes, bool]], answer: Any,
              request: Request) -> None:
        try:
            encoded = encode(answer, request.method, request.version, request.keep_alive)
        except UnicodeEncodeError:  # a header HTTP/1.1 cannot carry (not latin-1): a 500, never a dead socket
            self._write_and_close(error_answer(500, errors.UNSENDABLE_HEADER))
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
    def drop(self, reset: bool) -> None:
        """Close from any thread, writing nothing for the request at hand: RST when reset, else FIN."""
        self.server.loop.call_soon_threadsafe(self._drop, reset)

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
