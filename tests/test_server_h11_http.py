"""The same bytes to h11 and to our server over a real socket: wherever h11 refuses a request, we refuse it too
(a 4xx/5xx or a close, never a 2xx); the smuggling classics are refused outright."""
from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_api.http.server import ServerLimits
from rawserver import running
from support import examples

MAX_HEAD = 16 * 1024  # h11's own default bound on a head; ours is set to the same for the comparison
HEAD_LINE = b"Host: localhost\r\n"


def blank_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """200 with no body to everything it is given: any 2xx on the wire is a request we served."""
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Length", "0")])
    return []


def h11_served(data: bytes) -> tuple[int, bool]:
    """How many requests h11 reads whole from `data`, and whether it then refuses the stream."""
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    connection.receive_data(data)
    connection.receive_data(b"")
    served = 0
    try:
        while True:
            event = connection.next_event()
            if event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
                return served, False
            if isinstance(event, h11.EndOfMessage):
                served += 1
                # A 404, never a 2xx: h11 would take a 2xx to CONNECT as a protocol switch.
                connection.send(h11.Response(status_code=404, headers=[("Content-Length", "0")]))
                connection.send(h11.EndOfMessage())
                if connection.our_state is h11.MUST_CLOSE:
                    return served, False
                connection.start_next_cycle()
    except h11.RemoteProtocolError:
        return served, True


def our_successes(address: tuple[str, int], data: bytes) -> int:
    """The 2xx answers our server gives `data`, sent whole and then half-closed."""
    received = b""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    heads = [part for part in received.split(b"\r\n\r\n") if part.startswith(b"HTTP/")]
    return sum(1 for head in heads if head.split(b" ", 2)[1].startswith(b"2"))


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    with running(ServerLimits(threads=2, max_header_bytes=MAX_HEAD), app=blank_app) as (where, _):
        yield where


def assert_no_more_than_h11(address: tuple[str, int], data: bytes) -> None:
    served, refused = h11_served(data)
    if refused:
        assert our_successes(address, data) <= served, f"h11 refused after {served}; we served more: {data!r}"


CLASSICS = {
    "CL and TE": b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "TE and CL": b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
                 b"0\r\n\r\n",
    "two CLs": b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
    "two equal CLs": b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "CL list": b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3, 3\r\n\r\nabc",
    "CL plus sign": b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: +3\r\n\r\nabc",
    "CL negative": b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: -3\r\n\r\n",
    "CL hex": b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0x3\r\n\r\nabc",
    "TE gzip, chunked": b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "TE chunked, gzip": b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "TE twice": b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
                b"\r\n0\r\n\r\n",
    "TE xchunked": b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    "TE vertical tab": b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
    "TE space before colon": b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "TE on HTTP/1.0": b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "TE obs-fold": b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
    "obs-fold": b"GET / HTTP/1.1\r\nHost: localhost\r\nX-A: a\r\n b\r\n\r\n",
    "bare LF": b"GET / HTTP/1.1\nHost: localhost\n\n",
    "bare CR": b"GET / HTTP/1.1\rHost: localhost\r\r",
    "space before colon": b"GET / HTTP/1.1\r\nHost : localhost\r\n\r\n",
    "NUL in a value": b"GET / HTTP/1.1\r\nHost: localhost\r\nX-A: a\x00b\r\n\r\n",
    "NUL in a name": b"GET / HTTP/1.1\r\nHost: localhost\r\nX\x00A: a\r\n\r\n",
    "NUL in the target": b"GET /\x00 HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "HTTP/0.9": b"GET /\r\n\r\n",
    "HTTP/2.0 request line": b"GET / HTTP/2.0\r\nHost: localhost\r\n\r\n",
    "no Host": b"GET / HTTP/1.1\r\n\r\n",
    "two Hosts": b"GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n",
    "chunk size overflow": b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"ffffffffffffffffff1\r\na\r\n0\r\n\r\n",
    "chunk size bare LF": b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n",
    "chunk without CRLF": b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naX0\r\n\r\n",
    "whitespace before the first header": b"GET / HTTP/1.1\r\n Host: localhost\r\n\r\n",
    "header without colon": b"GET / HTTP/1.1\r\nHost: localhost\r\nNoColon\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(CLASSICS))
def test_the_smuggling_classics_are_refused(address: tuple[str, int], name: str) -> None:
    data = CLASSICS[name]
    assert_no_more_than_h11(address, data)
    assert our_successes(address, data) == 0


def test_the_differential_sees_a_served_request(address: tuple[str, int]) -> None:
    """The measure can tell: a well-formed pair is served twice by both."""
    data = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\nPOST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nx"
    assert h11_served(data) == (2, False) and our_successes(address, data) == 2


METHODS = st.sampled_from([b"GET", b"POST", b"HEAD", b"DELETE", b"OPTIONS", b"get", b"CONNECT", b"PRI", b"G\tET"])
TARGETS = st.sampled_from([b"/", b"/a?b=1", b"*", b"http://localhost/a", b"/a b", b"/\xff", b"/%00", b"", b"a"])
VERSIONS = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1.2", b"http/1.1", b""])
NAMES = st.sampled_from([b"Host", b"Content-Length", b"Transfer-Encoding", b"Connection", b"X-A", b"X_A",
                         b"Host ", b" X-A", b"", b"X\x00A", b"Content-Length\t"])
VALUES = st.sampled_from([b"localhost", b"evil.example", b"3", b"0", b"-1", b"3, 3", b"chunked", b"gzip, chunked",
                          b"Chunked", b" chunked ", b"close", b"keep-alive", b"upgrade", b"a\x00b", b"a\x7fb",
                          b"\xe9", b"", b"a\r\n b"])
ENDINGS = st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r"])
BODIES = st.sampled_from([b"", b"abc", b"0\r\n\r\n", b"3\r\nabc\r\n0\r\n\r\n", b"3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
                          b"zz\r\n", b"3\nabc\n0\n\n", b"abcdef"])


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """One request head and body from pieces that are well-formed, subtly wrong or wholly wrong."""
    ending = draw(ENDINGS)
    line = draw(METHODS) + b" " + draw(TARGETS) + b" " + draw(VERSIONS)
    headers = [HEAD_LINE.rstrip(b"\r\n")] if draw(st.booleans()) else []
    headers += [name + b": " + value for name, value in draw(st.lists(st.tuples(NAMES, VALUES), max_size=4))]
    return ending.join([line, *headers, b""]) + ending + draw(BODIES)


@pytest.mark.slow  # a few hundred exchanges over real sockets
@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=st.lists(requests(), min_size=1, max_size=2).map(b"".join))
def test_wherever_h11_refuses_a_request_we_refuse_it(address: tuple[str, int], stream: bytes) -> None:
    assert_no_more_than_h11(address, stream)
