"""mock_api.testing without pytest in the loop: the handle's levers, the server thread, the state pool."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from typing import Any

import jwt
import pytest
import requests

from mock_api.config import MockConfig
from mock_api.http.app import FRONT_KEY, front_of
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from mock_api.testing.harness import (
    AppSwitch,
    MockApiHandle,
    MockApiStartupError,
    RecordedRequest,
    ServerThread,
    StatePool,
    probe,
)


@pytest.fixture
def handle(state: MockState) -> MockApiHandle:
    return MockApiHandle("http://127.0.0.1:1", state)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_token_claims_follow_the_clock_and_config(handle: MockApiHandle, state: MockState) -> None:
    claims = jwt.decode(handle.token([WRITE, READ, WRITE]), state.config.signing_key, algorithms=["HS256"],
                        options={"verify_exp": False})
    assert claims == {"sub": "f0057pn", "name": "DPLAN API", "email": "DPLAN.API@dartmouth.edu",
                      "scope": f"{WRITE},{READ}", "exp": int(state.clock.now()) + 10800,
                      "iat": int(state.clock.now())}
    # A string is split on spaces, as the scope query parameter is; scopes the key lacks are dropped.
    limited = jwt.decode(handle.token(f"{READ} {WRITE}", key="dev-readonly"), options={"verify_signature": False})
    assert limited["scope"] == READ
    none = jwt.decode(handle.token(key="dev-noscopes"), options={"verify_signature": False})
    assert none["scope"] == ""


def test_add_student_picks_a_free_pidm_and_refuses_duplicates(handle: MockApiHandle) -> None:
    first, second = handle.add_student("zz1"), handle.add_student("zz2")
    assert (first.pidm, second.pidm) == ("9000001", "9000002")
    assert handle.add_student("zz3", pidm=42).pidm == "0000042"
    with pytest.raises(ValueError, match="student 'zz1' exists already"):
        handle.add_student("zz1")
    with pytest.raises(ValueError, match="student 'f0027k4' exists already"):
        handle.add_student("f0027k4")
    with pytest.raises(ValueError, match="at most 7 digits"):
        handle.add_student("zz4", pidm="12345678")


def test_add_petition_is_stored_like_a_task_write_and_checks_like_one(handle: MockApiHandle,
                                                                      state: MockState) -> None:
    record = handle.add_petition("f006s0b", "R10", origin_code="UDEN", decision="GRANTED", grade_term="25W")
    assert record["id"] == "2911310-R10-25W-GRANTED"
    assert (record["effective_date"], record["cache_date"]) == ("2024-11-20T05:00:00Z", "2024-11-20T19:30:53Z")
    entry = state.backend.get_petition("2911310-R10-25W-GRANTED", state.clock.now())
    assert entry is not None and entry.record["netid"] == "f006s0b" and entry.record["petition_code"] == "R10"
    assert state.backend.get_petition(entry.mongo_id, state.clock.now()) is entry
    with pytest.raises(ValueError, match="unknown school 'XX'"):
        handle.add_petition("f006s0b", "Q31", school="XX")
    with pytest.raises(ValueError, match="no student 'nobody'"):
        handle.add_petition("nobody", "Q31")
    with pytest.raises(ValueError, match="does not match format"):
        handle.add_petition("f006s0b", "Q31", effective_date="2024-01-01")
    state.reset()
    assert state.backend.get_petition("2911310-R10-25W-GRANTED", state.clock.now()) is None


def test_expect_errors_takes_error_statuses_only(handle: MockApiHandle) -> None:
    handle.expect_errors(401, 404)
    assert handle.expected_errors == {401, 404}
    for bad in ((), (200,), ("404",)):
        with pytest.raises(ValueError, match="HTTP error statuses"):
            handle.expect_errors(*bad)


def test_recorded_request_keeps_fields_it_does_not_know() -> None:
    entry = {"seq": 1, "time": "t", "method": "GET", "path": "/p", "query": {}, "headers": {}, "body": None,
             "status": 200, "duration_ms": 1.0, "violations": ["x"]}
    recorded = RecordedRequest.from_entry(entry)
    assert recorded.extra == {"violations": ["x"]} and recorded.json() is None


def test_server_thread_serves_the_current_app_of_the_switch() -> None:
    pool = StatePool(MockConfig())
    state, app = pool.get()
    assert pool.get() == (state, app)  # built once
    other_state, other_app = pool.get(seed=11)
    switch = AppSwitch(app)
    server = ServerThread(switch)
    server.start(timeout=10)
    try:
        assert server.url == f"http://127.0.0.1:{server.port}" and server.port > 0
        requests.get(f"{server.url}/api/academic/petitions", timeout=10)
        switch.switch(other_app)
        requests.get(f"{server.url}/api/petition_types", timeout=10)
        assert [e["path"] for e in state.journal.entries()] == ["/api/academic/petitions"]
        assert [e["path"] for e in other_state.journal.entries()] == ["/api/petition_types"]
    finally:
        server.stop()
    assert not server.thread.is_alive()
    assert probe(f"{server.url}/_mock/health", 1.0) is not None  # the port is closed again


def test_the_session_server_is_the_clis_keeping_connections_and_answering_reads_in_its_loop() -> None:
    """The plugin serves with the CLI's server: HTTP/1.1 keep-alive, its header form, the switch's app."""
    pool = StatePool(MockConfig())
    state, app = pool.get()
    front, answered = front_of(app), []

    class Counted:
        def answer(self, environ: dict[str, Any], may_block: bool = True) -> Any:
            found = front.answer(environ, may_block)
            answered.append(found is not None)
            return found

        def work(self, environ: dict[str, Any]) -> Any:
            return front.work(environ)
    app.extensions[FRONT_KEY] = Counted()  # the switch asks the current app's front, in the server's loop
    server = ServerThread(AppSwitch(app))
    server.start(timeout=10)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            for _ in range(2):  # the same connection answers twice
                sock.sendall(b"GET /api/academic/petitions HTTP/1.1\r\nHost: localhost\r\n\r\n")
                head = b""
                while b"\r\n\r\n" not in head:
                    head += sock.recv(4096)
                head, _, body = head.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = int(next(line.split(": ")[1] for line in lines if line.startswith("Content-Length: ")))
                while len(body) < length:
                    body += sock.recv(4096)
                assert lines[0] == "HTTP/1.1 401 Unauthorized"
                assert "Server: mock_api" in lines and any(line.startswith("X-Request-Id: ") for line in lines)
        # The loop declines the health probe (Flask answers it, in a worker); it answers both reads itself.
        assert answered == [False, True, True]
        assert [e["status"] for e in state.journal.entries()] == [401, 401]
    finally:
        server.stop()
    assert not server.thread.is_alive()


def test_stopping_the_session_server_lets_a_request_in_hand_finish() -> None:
    started = threading.Event()

    def slow(environ: dict[str, object], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/slow":
            started.set()
            time.sleep(0.3)
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "15")])
        return [b'{"status":"ok"}']
    server = ServerThread(slow)
    server.start(timeout=10)
    answers: list[requests.Response] = []
    client = threading.Thread(target=lambda: answers.append(requests.get(f"{server.url}/slow", timeout=10)))
    client.start()
    assert started.wait(5)
    server.stop()  # within its grace: the answer in hand is written before the connection closes
    client.join(5)
    assert [(a.status_code, a.content) for a in answers] == [(200, b'{"status":"ok"}')]
    assert not server.thread.is_alive()


def test_stop_of_a_server_never_started_does_not_hang() -> None:
    server = ServerThread(AppSwitch(None))  # type: ignore[arg-type]
    server.stop()
    assert not server.thread.is_alive()


def test_probe_says_what_went_wrong() -> None:
    assert probe(f"http://127.0.0.1:{free_port()}/_mock/health", 1.0).startswith("ConnectionRefusedError")  # type: ignore[union-attr]


def test_start_times_out_with_the_last_problem(state: MockState) -> None:
    from mock_api.http.app import create_app
    server = ServerThread(create_app(state=state))
    with pytest.raises(MockApiStartupError, match=r"/nope was not ready within 0.2 s: answered HTTP 404"):
        server.start(timeout=0.2, health_path="/nope")
    assert not server.thread.is_alive()


def test_loading_the_plugin_does_not_import_the_emulator() -> None:
    # Every pytest run where mock_api is installed loads the plugin; only users of the fixture pay for Flask.
    code = ("import sys, mock_api.testing.plugin; "
            "print(sorted(m for m in ('flask', 'faker', 'mongomock', 'mock_api.testing.harness') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"
    import mock_api.testing
    from mock_api.config import DEFAULT_STARTUP_TIMEOUT
    assert mock_api.testing.DEFAULT_STARTUP_TIMEOUT == DEFAULT_STARTUP_TIMEOUT
