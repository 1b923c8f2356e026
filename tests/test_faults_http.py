"""Faults below HTTP over real sockets, on the CLI's server and the pytest plugin's (the same server, in-process)."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.testing.serving import ServerThread
from scenario_http import Api
from support import running_server

FAULT_FILE = """\
name: fault_{kind}
description: GET petition types and POST petitions meet a {kind} fault
rules:
  - match: {{path: [/api/petition_types, /api/academic/petitions]}}
    effects:
      - fault: {kind}
"""
# What `requests` raises for each fault, and a word of its message.
EXPECTED = {
    "reset": (requests.exceptions.ConnectionError, "Connection reset by peer"),
    "empty": (requests.exceptions.ConnectionError, "Remote end closed connection without response"),
    "truncated": (requests.exceptions.ChunkedEncodingError, "IncompleteRead"),
}


@pytest.fixture(scope="module")
def fault_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("faults")
    files = {}
    for kind in EXPECTED:
        files[kind] = folder / f"fault_{kind}.yaml"
        files[kind].write_text(FAULT_FILE.format(kind=kind), encoding="utf-8")
    return files


@pytest.fixture(scope="module")
def cli_api(fault_files: dict[str, Path]) -> Iterator[Api]:
    with running_server("--scenarios-dir", str(fault_files["reset"].parent)) as running:
        yield Api(running.url)


@pytest.fixture(scope="module")
def plugin_api(fault_files: dict[str, Path]) -> Iterator[Api]:
    """The pytest plugin's server: mock_api's own, its loop in a thread of this process."""
    config = MockConfig(scenario_dirs=(fault_files["reset"].parent.resolve(),))
    server = ServerThread(create_app(config))
    server.start(timeout=10)
    try:
        yield Api(server.url)
    finally:
        server.stop()


@pytest.fixture(params=[pytest.param("cli", marks=pytest.mark.slow), "plugin"])
def api(request: pytest.FixtureRequest) -> Api:
    return request.getfixturevalue(f"{request.param}_api")  # type: ignore[no-any-return]


def _check_fault(api: Api, session: requests.Session, kind: str) -> None:
    error, words = EXPECTED[kind]
    auth = api.token()
    with pytest.raises(error, match=words):
        session.get(f"{api.base}/api/petition_types", headers=auth, timeout=10)
    # The server survives: the next request, on the same session, is answered normally.
    after = session.get(f"{api.base}/api/petition_types/Q25", headers=auth, timeout=10)
    assert after.status_code == 200 and after.json()["id"] == "Q25"


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_fault_breaks_the_connection_and_the_server_survives(api: Api, fault_files: dict[str, Path],
                                                             kind: str) -> None:
    api.fresh(str(fault_files[kind]))
    with requests.Session() as session:  # keep-alive: the broken connection must not poison the pool
        _check_fault(api, session, kind)
        _check_fault(api, session, kind)
    journal = api.control("GET", "/requests").json()
    faulted = [e for e in journal if e["path"] == "/api/petition_types"]
    assert [(e["fault"], e["scenario"]) for e in faulted] == [(kind, f"fault_{kind}")] * 2
    assert [e["status"] for e in faulted] == [200 if kind == "truncated" else None] * 2


def _raw_get(base: str, path: str, headers: dict[str, str]) -> bytes:
    """Everything the server sends for one request, read until it closes the connection."""
    host, port = base.removeprefix("http://").split(":")
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall("\r\n".join(lines).encode())
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    return received


def test_truncated_body_is_the_first_half_of_the_real_answer(api: Api, fault_files: dict[str, Path]) -> None:
    api.fresh()
    auth = api.token()
    whole = api.get("/api/petition_types", auth).content
    api.control("PUT", "/scenario", {"name": str(fault_files["truncated"])})
    head, _, body = _raw_get(api.base, "/api/petition_types", auth).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert f"Content-Length: {len(whole)}".encode() in head.split(b"\r\n")
    assert body == whole[: len(whole) // 2]


@pytest.mark.parametrize("kind", ["reset", "empty"])
def test_dropped_post_writes_nothing(api: Api, fault_files: dict[str, Path], kind: str) -> None:
    api.fresh(str(fault_files[kind]))
    with pytest.raises(requests.exceptions.ConnectionError):
        api.post_petition(api.token())
    assert api.control("GET", "/tasks").json() == []


def test_flask_test_client_gets_a_connection_error_for_a_dropping_fault(fault_files: dict[str, Path]) -> None:
    app = create_app(MockConfig(scenario=str(fault_files["reset"])))
    with pytest.raises(ConnectionAbortedError, match="needs mock_api's own server"):
        app.test_client().get("/api/petition_types")
