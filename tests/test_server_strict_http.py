"""Our server as strict as the best on raw sockets: versions, Host, codings, trailers, 414, lingering close, resets;
and the bodies it holds: a server-wide cap (503), freed on close, a body timeout (408)."""
from __future__ import annotations

import gc
import json
import select
import socket
import struct
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from mock_api.http.admission import served_hosts
from mock_api.http.server import ServerLimits
from rawserver import answers, echo_app, exchange, read_until_closed, running


def refusal(raw: bytes) -> tuple[str, dict[str, str], Any]:
    """The one answer of a refused request: status line, headers, JSON body."""
    [(status, headers, body)] = answers(raw)
    return status, headers, json.loads(body)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_a_trailer_field_never_becomes_a_header() -> None:
    with running() as (address, _):
        raw = exchange(address, b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                                b"Connection: close\r\n\r\n5\r\nhello\r\n0\r\nAccept: from-the-trailer\r\n\r\n")
    [(status, _, body)] = answers(raw)
    assert status == "HTTP/1.1 200 OK"
    assert json.loads(body)["accept"] is None and json.loads(body)["body"] == "hello"


@pytest.mark.parametrize("request_line", [b"GET /echo HTTP/2.0", b"GET /echo HTTP/0.9", b"GET /echo"])
def test_versions_but_1_0_and_1_1_get_505_in_http_1_1(request_line: bytes) -> None:
    with running() as (address, _):
        raw = exchange(address, request_line + b"\r\nHost: localhost\r\n\r\n")
    status, headers, body = refusal(raw)
    assert status == "HTTP/1.1 505 HTTP Version Not Supported" and headers["Connection"] == "close"
    assert body["detail"].startswith("HTTP version ") and body["detail"].endswith(" is not supported: "
                                                                                  "HTTP/1.1 or HTTP/1.0")


def test_an_http_1_0_request_gets_an_http_1_0_status_line_and_1_1_gets_1_1() -> None:
    with running() as (address, _):
        assert answers(exchange(address, b"GET /echo HTTP/1.0\r\n\r\n"))[0][0] == "HTTP/1.0 200 OK"
        assert answers(exchange(address, b"GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                       )[0][0] == "HTTP/1.1 200 OK"


@pytest.mark.parametrize("coding", [b"gzip, chunked", b"identity, chunked", b"deflate,chunked"])
def test_a_transfer_coding_other_than_chunked_is_a_501(coding: bytes) -> None:
    with running() as (address, _):
        raw = exchange(address, b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: " + coding
                       + b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    status, headers, body = refusal(raw)
    assert status == "HTTP/1.1 501 Not Implemented" and headers["Connection"] == "close"
    assert body == {"detail": f"Transfer-Encoding {coding.lower().replace(b',', b', ').replace(b'  ', b' ').decode()!r}"
                              " is not supported: chunked only"}


@pytest.mark.parametrize(("hosts", "count"), [(b"", 0), (b"Host: localhost\r\nHost: localhost\r\n", 2),
                                              (b"Host: localhost\r\nHost: evil.example\r\n", 2)])
def test_http_1_1_without_a_host_or_with_two_is_a_400(hosts: bytes, count: int) -> None:
    with running() as (address, _):
        raw = exchange(address, b"GET /echo HTTP/1.1\r\n" + hosts + b"\r\n")
    assert refusal(raw)[0::2] == ("HTTP/1.1 400 Bad Request",
                                  {"detail": f"An HTTP/1.1 request needs exactly one Host header, got {count}"})


def test_a_target_over_the_limit_is_a_414_not_a_431() -> None:
    with running(ServerLimits(threads=1, max_header_bytes=4096)) as (address, _):
        raw = exchange(address, b"GET /echo?q=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert refusal(raw)[0::2] == ("HTTP/1.1 414 Request-URI Too Long",
                                  {"detail": "Request target is longer than 4096 bytes"})


def test_a_header_name_with_an_underscore_is_dropped() -> None:
    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.append(environ)
        start_response("200 OK", [("Content-Length", "0")])
        return []

    with running(app=app) as (address, _):
        exchange(address, b"GET /x HTTP/1.1\r\nHost: localhost\r\nX_Mock_Session: s1\r\nX-Kept: 1\r\n"
                          b"Connection: close\r\n\r\n")
    assert seen[0]["HTTP_X_KEPT"] == "1" and "HTTP_X_MOCK_SESSION" not in seen[0]


def test_an_upgrade_request_is_answered_plainly_with_connection_close_then_closed() -> None:
    with running() as (address, _):
        raw = exchange(address, b"GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
                                b"Upgrade: websocket\r\n\r\n")
    [(status, headers, _)] = answers(raw)
    assert (status, headers["Connection"]) == ("HTTP/1.1 200 OK", "close")


def test_a_client_that_writes_10_mb_before_reading_gets_the_413() -> None:
    """Lingering close: the server drops what follows its early answer instead of resetting the connection."""
    body = b"x" * (10 * 1024 * 1024)
    with running(ServerLimits(threads=1, max_body_bytes=1000)) as (address, _), \
            socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        raw = read_until_closed(sock)
    assert refusal(raw)[0::2] == ("HTTP/1.1 413 Request Entity Too Large",
                                  {"detail": "Request body is larger than 1000 bytes"})


def test_requests_queued_by_a_client_that_reset_are_never_computed() -> None:
    worked: list[str] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        worked.append(environ["PATH_INFO"])
        return echo_app(environ, start_response)

    with running(app=app) as (address, _):
        sock = socket.create_connection(address, timeout=10)
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n"
                     + b"GET /queued HTTP/1.1\r\nHost: localhost\r\n\r\n" * 50)
        wait_for(lambda: worked == ["/slow"])  # in a worker: the other 50 wait their turn
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset while /slow is in hand
        time.sleep(0.6)  # /slow is done, its answer met the reset
    assert worked == ["/slow"]


def test_past_the_body_buffer_a_body_gets_503_with_retry_after_and_a_close_gives_the_bytes_back() -> None:
    limits = ServerLimits(threads=1, body_buffer_bytes=100_000)
    with running(limits) as (address, server), socket.create_connection(address, timeout=10) as holder:
        holder.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 90000\r\n\r\n" + b"h" * 60_000)
        wait_for(lambda: server.bodies.held == 60_000)
        raw = exchange(address, b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 50000\r\n\r\n"
                       + b"b" * 50_000)
        status, headers, body = refusal(raw)
        assert (status, headers["Retry-After"], headers["Connection"]) == ("HTTP/1.1 503 Service Unavailable", "1",
                                                                           "close")
        assert body == {"detail": "The server holds too many request bodies; retry shortly"}
        holder.close()
        wait_for(lambda: server.bodies.held == 0)
        raw = exchange(address, b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 50000\r\n"
                                b"Connection: close\r\n\r\n" + b"b" * 50_000)
        assert answers(raw)[0][0] == "HTTP/1.1 200 OK"
        assert server.bodies.held == 0  # handed to the app: no longer the buffer's


def test_an_unfinished_body_is_freed_when_its_connection_closes_without_a_gc_pass() -> None:
    enabled = gc.isenabled()
    gc.disable()  # only reference counting frees: a cycle would keep the connection and its body
    try:
        with running() as (address, server):
            sock = socket.create_connection(address, timeout=10)
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048576\r\n\r\n"
                         + b"u" * 524_288)
            wait_for(lambda: len(server.connections) == 1)
            time.sleep(0.2)  # the server reads what was sent
            [connection] = server.connections
            gone = weakref.ref(connection)
            del connection
            sock.close()
            wait_for(lambda: not server.connections)
            wait_for(lambda: gone() is None, timeout=2)
            assert server.bodies.held == 0
    finally:
        if enabled:
            gc.enable()


@pytest.mark.slow  # waits for a real timeout
def test_a_body_slower_than_the_body_timeout_gets_a_408_though_it_trickles() -> None:
    with running(ServerLimits(threads=1, body_timeout=0.5)) as (address, _), \
            socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n")
        for _ in range(40):  # a byte every 0.1 s: never silent, never done
            time.sleep(0.1)
            sock.sendall(b"x")
            if select.select([sock], [], [], 0)[0]:
                break
        raw = read_until_closed(sock)
    assert refusal(raw)[0::2] == ("HTTP/1.1 408 Request Timeout",
                                  {"detail": "Request body did not arrive within 0.5 s"})


def test_any_host_is_served_on_a_non_loopback_bind_only() -> None:
    assert served_hosts("0.0.0.0", ()) is None and served_hosts("192.168.1.4", ("x",)) is None
    assert served_hosts("127.0.0.2", ("Mock.Internal:8000",)) == frozenset(
        {"localhost", "127.0.0.1", "[::1]", "127.0.0.2", "mock.internal"})
    assert served_hosts("::1", ()) == frozenset({"localhost", "127.0.0.1", "[::1]"})
    assert served_hosts("127.0.0.1", ("mock.test", "*")) is None  # '*': any Host, as a front before it checks
