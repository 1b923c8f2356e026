"""Our HTTP/1.1 server on raw sockets, in a thread of this process: answers in the loop or a worker, pipelining,
limits, faults."""
from __future__ import annotations

import json
import socket
import time
from dataclasses import replace

import pytest

from mock_api.http.server import ServerLimits
from rawserver import BIG, answers, exchange, read_until_closed, running


def test_the_inline_lane_answers_its_path_with_the_servers_headers() -> None:
    with running() as (address, _):
        raw = exchange(address, b"GET /inline HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 202 Accepted" and body == b'{"inline": "yes"}'
    assert [line.split(b":")[0] for line in lines[1:]] == [b"Connection", b"Content-Length", b"Content-Type",
                                                           b"Date", b"Server"]
    assert b"Content-Length: 17" in lines and b"Server: mock_api" in lines and b"Connection: close" in lines


def test_other_paths_go_to_the_wsgi_app_with_a_pep_3333_environ() -> None:
    with running() as (address, _):
        raw = exchange(address, b"GET /caf%C3%A9/x?a=1&b=%20 HTTP/1.1\r\nHost: localhost\r\nAccept: a\r\nAccept: b\r\n"
                                b"Connection: close\r\n\r\n")
    [(status, headers, body)] = answers(raw)
    assert status == "HTTP/1.1 200 OK" and headers["X-Request-Id"] == "r1"  # names capitalised as waitress did
    assert json.loads(body) == {"method": "GET", "path": "/caf\u00c3\u00a9/x", "query": "a=1&b=%20", "length": "",
                                "body": "", "accept": "a, b"}


def test_pipelined_requests_are_answered_in_order_whichever_lane_answers() -> None:
    with running() as (address, _):
        raw = exchange(address, b"GET /slow HTTP/1.1\r\nHost: localhost\r\n"
                                b"\r\nGET /inline HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                b"GET /third HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    bodies = [body for _, _, body in answers(raw)]
    assert [json.loads(b).get("path", "inline") for b in bodies] == ["/slow", "inline", "/third"]


@pytest.mark.parametrize("path", ["/inline", "/fixed"])
def test_head_keeps_the_get_length_and_sends_no_body(path: str) -> None:
    with running() as (address, _), socket.create_connection(address, timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        get_length = answers(sock.recv(65536))[0][1]["Content-Length"]
        sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: localhost\r\n\r\nGET /after HTTP/1.1\r\nHost: localhost\r\n"
                     "Connection: close\r\n\r\n".encode())
        raw = read_until_closed(sock)
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert f"Content-Length: {get_length}".encode() in head.split(b"\r\n")
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n")  # the next answer follows at once: the HEAD sent no body
    assert json.loads(answers(rest)[0][2])["path"] == "/after"


def test_expect_100_continue_is_answered_before_the_body_is_sent() -> None:
    with running() as (address, _), socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
                     b"Connection: close\r\n\r\n")
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        [(status, _, body)] = answers(read_until_closed(sock))
    assert status == "HTTP/1.1 200 OK" and json.loads(body)["body"] == "hello"


def test_a_chunked_body_reaches_the_app_whole_with_its_length() -> None:
    with running() as (address, _):
        raw = exchange(address, b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                                b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    body = json.loads(answers(raw)[0][2])
    assert (body["body"], body["length"]) == ("hello world", "11")


def test_a_body_past_the_limit_and_slack_is_a_json_413_without_reading_it() -> None:
    with running(ServerLimits(threads=1, max_body_bytes=1000)) as (address, _):
        raw = exchange(address, b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 999999\r\n\r\n")
    [(status, _, body)] = answers(raw)
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert json.loads(body) == {"detail": "Request body is larger than 1000 bytes"}


def test_headers_over_the_limit_get_a_json_431_and_close() -> None:
    with running(ServerLimits(threads=1, max_header_bytes=1024)) as (address, _):
        raw = exchange(address, b"GET /echo HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"y" * 2000 + b"\r\n\r\n")
    [(status, headers, body)] = answers(raw)
    assert status == "HTTP/1.1 431 Request Header Fields Too Large" and headers["Connection"] == "close"
    assert json.loads(body) == {"detail": "Request header fields are larger than 1024 bytes"}


def test_garbage_gets_a_json_400_and_close() -> None:
    with running() as (address, _):
        raw = exchange(address, b"GARBAGE\r\n\r\n")
    [(status, headers, body)] = answers(raw)
    assert status == "HTTP/1.1 400 Bad Request" and headers["Connection"] == "close"
    assert json.loads(body)["detail"].startswith("Malformed HTTP request: ")


def test_http_1_0_closes_unless_keep_alive_is_asked() -> None:
    with running() as (address, _):
        assert answers(exchange(address, b"GET /inline HTTP/1.0\r\n\r\n"))[0][0] == "HTTP/1.0 202 Accepted"
        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(b"GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            [(status, headers, _)] = answers(sock.recv(65536))
            assert (status, headers["Connection"]) == ("HTTP/1.0 200 OK", "Keep-Alive")
            sock.sendall(b"GET /echo HTTP/1.0\r\n\r\n")  # the same connection still serves
            assert answers(read_until_closed(sock))[0][0] == "HTTP/1.0 200 OK"


def test_inline_faults_reset_empty_and_truncated() -> None:
    with running() as (address, _):
        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(b"GET /inline/reset HTTP/1.1\r\nHost: localhost\r\n\r\n")
            with pytest.raises(ConnectionResetError):
                sock.recv(65536)
        assert exchange(address, b"GET /inline/empty HTTP/1.1\r\nHost: localhost\r\n\r\n") == b""
        raw = exchange(address, b"GET /inline/truncated HTTP/1.1\r\nHost: localhost\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 202 Accepted\r\n") and b"Content-Length: 17" in head.split(b"\r\n")
    assert body == b'{"inline": "yes"}'[:8]


@pytest.mark.slow  # waits for real timeouts
def test_a_head_slower_than_the_header_timeout_is_closed_though_it_trickles() -> None:
    with running(ServerLimits(threads=1, header_timeout=0.5)) as (address, _), \
            socket.create_connection(address, timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n")
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            for number in range(50):
                time.sleep(0.1)
                sock.sendall(f"X-Trickle-{number}: 1\r\n".encode())
        assert time.monotonic() - started < 4.0


@pytest.mark.slow  # waits for real timeouts
def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    with running(ServerLimits(threads=1, idle_timeout=0.5)) as (address, _), \
            socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"GET /inline HTTP/1.1\r\nHost: localhost\r\n\r\n")
        started = time.monotonic()
        assert read_until_closed(sock).startswith(b"HTTP/1.1 202 Accepted")
        assert 0.4 < time.monotonic() - started < 4.0


def test_past_the_connection_limit_a_client_waits_until_one_closes() -> None:
    with running(ServerLimits(threads=1, connection_limit=2)) as (address, _):
        first, second = (socket.create_connection(address, timeout=10) for _ in range(2))
        for sock in (first, second):
            sock.sendall(b"GET /inline HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 202")
        with socket.create_connection(address, timeout=0.5) as third:  # in the listen queue, not accepted
            third.sendall(b"GET /inline HTTP/1.1\r\nHost: localhost\r\n\r\n")
            with pytest.raises(TimeoutError):
                third.recv(65536)
            first.close()
            third.settimeout(10)
            assert third.recv(65536).startswith(b"HTTP/1.1 202")
        second.close()


def test_a_client_that_never_reads_cannot_grow_the_servers_buffers() -> None:
    with running(replace(ServerLimits(threads=1), idle_timeout=60)) as (address, server), \
            socket.create_connection(address, timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        request = b"GET /big HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + b"p" * 1000 + b"\r\n\r\n"
        wanted = 20 * 1024 * 1024  # far more than the kernel's socket buffers hold
        sent = 0
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sent < wanted:
            try:
                sent += sock.send(request)
            except BlockingIOError:
                time.sleep(0.05)
        time.sleep(0.5)
        [connection] = list(server.connections)
        assert connection.transport is not None
        buffered = connection.transport.get_write_buffer_size()
        assert buffered <= 2 * len(BIG)  # one answer past the high-water mark at most
        assert len(connection.queue) < 300  # parsed from what was read before reading paused
        assert sent < wanted  # the client's sends blocked: the server stopped reading


def test_an_app_that_names_no_length_gets_ours_and_the_connection_stays_open() -> None:
    with running() as (address, _):
        raw = exchange(address, b"GET /nolength HTTP/1.1\r\nHost: localhost\r\n"
                                b"\r\nGET /nolength HTTP/1.1\r\nHost: localhost\r\n"
                                b"Connection: close\r\n\r\n")
    found = answers(raw)
    assert [(status, headers["Content-Length"], body) for status, headers, body in found] == [
        ("HTTP/1.1 200 OK", "4", b"part")] * 2
    assert "Connection" not in found[0][1]


def test_an_app_body_shorter_than_its_length_is_sent_with_its_true_length() -> None:
    """The server holds the whole body before it writes: Content-Length is what it sends, never a promise."""
    with running() as (address, _):
        raw = exchange(address, b"GET /short HTTP/1.1\r\nHost: localhost\r\n"
                                b"\r\nGET /echo HTTP/1.1\r\nHost: localhost\r\n"
                                b"Connection: close\r\n\r\n")
    first, second = answers(raw)
    assert first[1]["Content-Length"] == "4" and first[2] == b"part" and "Connection" not in first[1]
    assert json.loads(second[2])["path"] == "/echo"


@pytest.mark.parametrize("path", ["/euro", "/inline/euro"])
def test_a_header_http_cannot_carry_is_a_500_and_a_close_never_a_dead_socket(path: str) -> None:
    with running() as (address, _):
        raw = exchange(address, f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    [(status, headers, body)] = answers(raw)
    assert status == "HTTP/1.1 500 Internal Server Error" and headers["Connection"] == "close"
    assert json.loads(body) == {"detail": "Internal Server Error: a response header value is not Latin-1"}
