"""Bytes to requests: httptools' callbacks, the bounds of a head and a body, trailers and odd names dropped."""
from __future__ import annotations

import time
from collections import deque

import httptools

from mock_api.http.admission import admit
from mock_api.http.parsed import Refused, Request
from mock_api.http.serverlimits import BODY_RETRY_AFTER, BodyBuffer, ServerLimits
from mock_api.service import errors

# httptools buffers an unfinished head itself; we count raw bytes to bound it, give or take one read (asyncio
# reads at most 256 KiB at once, part of which may belong to the request before).
READ_SLACK = 256 * 1024
# A parser whose callbacks are no reader's: a closed reader holds it instead of its own, which referred back
# to it (a cycle that kept an unfinished body alive, its connection closed, until the cyclic GC ran).
_SPENT = httptools.HttpRequestParser(object())


class RequestReader:
    """Feeds a connection's bytes to httptools; each request read whole, or the refusal that ends reading, is
    appended to `queue`. Holds the body bytes of what it queued in the server's BodyBuffer until given back."""

    def __init__(self, limits: ServerLimits, bodies: BodyBuffer, hosts: frozenset[str] | None,
                 queue: deque[Request | Refused]) -> None:
        self.limits = limits
        self.bodies = bodies
        self.hosts = hosts
        self.queue = queue
        self.parser = httptools.HttpRequestParser(self)
        self.current: Request | None = None  # being read
        self.head_started: float | None = None  # when its first byte came, until its headers end
        self.head_bytes = 0  # read while its head arrives
        self.body_started: float | None = None  # when its headers ended, until its body ends
        self.body_bytes = 0
        self.body_raw = 0  # bytes read since its headers ended: chunk framing and trailers too
        self.stopped = False  # refused, or switching protocols: nothing more is read

    def feed(self, data: bytes) -> bool:
        """Parse `data`; True if the client asked to switch protocols (its request is answered as a plain one
        and the connection closes after it)."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            self.refuse(cause if isinstance(cause, Refused) else Refused(400, errors.MALFORMED_REQUEST.format(
                problem=exc)))
        except httptools.HttpParserUpgrade:
            self.stopped = True
            if self.queue and isinstance(self.queue[-1], Request):
                self.queue[-1].keep_alive = False  # its answer says Connection: close
            return True
        except httptools.HttpParserError as exc:
            self.refuse(Refused(400, errors.MALFORMED_REQUEST.format(problem=exc)))
        else:
            self._bound_unparsed(len(data))
        return False

    def _bound_unparsed(self, size: int) -> None:
        """httptools buffers an unfinished head, and a trailer section, itself: bound them by the bytes read."""
        if self.head_started is not None:
            self.head_bytes += size
            if self.head_bytes > self.limits.max_header_bytes + READ_SLACK:
                self.refuse(self._too_large_head())
        elif self.body_started is not None:
            self.body_raw += size
            if self.body_raw > 2 * self.limits.max_request_body + READ_SLACK:  # chunk sizes count too
                self.refuse(self._too_large_body())

    # -- httptools callbacks ---------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.current = Request()
        self.head_started = time.monotonic()
        self.head_bytes = self.body_bytes = self.body_raw = 0

    def on_url(self, url: bytes) -> None:
        request = self.current
        assert request is not None
        request.url += url
        request.head_size += len(url)
        if len(request.url) > self.limits.max_header_bytes:
            raise Refused(414, errors.TARGET_TOO_LONG.format(limit=self.limits.max_header_bytes))

    def on_header(self, name: bytes, value: bytes) -> None:
        request = self.current
        assert request is not None
        if self.head_started is None:  # a trailer field (RFC 9110 6.5.2): never a header
            return
        request.head_size += len(name) + len(value) + 4
        if b"_" not in name:  # X_Mock_Session is no X-Mock-Session (CGI's names confuse them): dropped, as nginx
            request.headers.append((name, value))

    def on_headers_complete(self) -> None:
        request = self.current
        assert request is not None
        if request.head_size > self.limits.max_header_bytes:
            raise self._too_large_head()
        self.head_started = None
        parser = self.parser
        request.method = parser.get_method().decode("latin-1")
        request.version = parser.get_http_version()
        request.keep_alive = parser.should_keep_alive()
        admit(request, self.hosts, self.limits)
        self.body_started = time.monotonic()

    def on_body(self, body: bytes) -> None:
        request = self.current
        assert request is not None
        self.body_bytes += len(body)
        if self.body_bytes > self.limits.max_request_body:
            raise self._too_large_body()
        if not self.bodies.take(len(body)):
            raise Refused(503, errors.BODY_BUFFER_FULL, (("Retry-After", str(BODY_RETRY_AFTER)),))
        request.size += len(body)
        request.body.append(body)

    def on_message_complete(self) -> None:
        assert self.current is not None
        self.queue.append(self.current)
        self.current = None
        self.body_started = None

    # -- refusing and forgetting -----------------------------------------------------------------------
    def refuse(self, refused: Refused) -> None:
        """Reading cannot go on: the refusal is queued after what is owed (the request being read is dropped)."""
        self.drop_current()
        self.stopped = True
        self.queue.append(refused)

    def drop_current(self) -> None:
        """Forget the request being read, and give back the body bytes it held."""
        if self.current is not None:
            self.bodies.give(self.current.size)
            self.current = None
        self.head_started = self.body_started = None

    def close(self) -> None:
        """Forget every request not handed on, give back their body bytes, and let go of the parser."""
        self.drop_current()
        for item in self.queue:
            if isinstance(item, Request):
                self.bodies.give(item.size)
        self.queue.clear()
        self.parser = _SPENT

    def _too_large_head(self) -> Refused:
        return Refused(431, errors.HEAD_TOO_LARGE.format(limit=self.limits.max_header_bytes))

    def _too_large_body(self) -> Refused:
        return Refused(413, errors.BODY_TOO_LARGE.format(limit=self.limits.max_body_bytes))
