"""Malformed requests on the real socket: answered or refused, never a crash, the server keeps serving."""
from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

from mock_api.service.scopes import WRITE
from support import running_server

pytestmark = pytest.mark.slow  # a real server in a subprocess

LIMIT = 1024 * 1024  # MockConfig.max_body_bytes


def exchange(url: str, raw: bytes) -> bytes:
    """Send raw bytes, read until the server closes or 2 s pass."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=5) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(2)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


@pytest.fixture(scope="module")
def server_url() -> str:  # type: ignore[misc]
    with running_server() as server:
        yield server.url
        assert server.process.poll() is None  # still running after everything below


BAD = {
    "garbage request line": b"GARBAGE\r\n\r\n",
    "invalid UTF-8 in the path": b"GET /api/academic/petitions/\xff\xfe HTTP/1.1\r\nHost: localhost\r\n"
                                 b"Connection: close\r\n\r\n",
    "NUL in the path": b"GET /api/tasks/\x00 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    "latin-1 token": b"GET /api/academic/petitions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \xe9\xff\r\n"
                     b"Connection: close\r\n\r\n",
    "bad Content-Length": b"POST /api/jwt HTTP/1.1\r\nHost: localhost\r\n"
                          b"Content-Length: -5\r\nConnection: close\r\n\r\n",
    "bad chunk": b"POST /api/jwt HTTP/1.1\r\nHost: localhost\r\n"
                 b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n",
    "header without colon": b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\n"
                            b"NoColonHere\r\nConnection: close\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_requests_get_no_500(server_url: str, name: str) -> None:
    status = status_of(exchange(server_url, BAD[name]))
    assert status == 0 or 400 <= status < 500 or status == 200, status
    assert status_of(exchange(server_url, b"GET /_mock/health HTTP/1.1\r\nHost: localhost\r\n"
                                          b"Connection: close\r\n\r\n")) == 200


def test_a_body_over_the_limit_is_a_json_413_on_the_socket(server_url: str) -> None:
    body = b"x" * (LIMIT + 1)
    answer = exchange(server_url, b"POST /api/jwt HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                      + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    assert status_of(answer) == 413
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"detail": f"Request body is larger than {LIMIT} bytes"}


def test_a_chunked_body_over_the_limit_is_a_json_413(server_url: str) -> None:
    """No Content-Length to check first: the limit cuts the body as it is read."""
    got = requests.post(f"{server_url}/api/jwt", params={"scope": WRITE}, headers={"Authorization": "dev-readwrite"},
                        timeout=10)
    token = got.json()["jwt"].encode()
    chunk = b"x" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(LIMIT // len(chunk) + 1))
    answer = exchange(server_url, b"POST /api/academic/petitions HTTP/1.1\r\nHost: localhost\r\n"
                      b"Content-Type: application/json\r\nAuthorization: Bearer " + token
                      + b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
    assert status_of(answer) == 413
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"detail": f"Request body is larger than {LIMIT} bytes"}
