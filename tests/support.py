"""Test helpers: scopes, tokens, task POSTs, the CLI in a subprocess, and a real `python -m mock_api` server."""
from __future__ import annotations

import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from werkzeug.test import TestResponse
from werkzeug.wrappers import Response

from mock_api.contract.spec import check_response
from mock_api.service.scopes import READ, WRITE

FROZEN_AT = 1732131053.0  # the seed requester's iat: 2024-11-20T19:30:53Z; the tests' frozen clock
ROOT = Path(__file__).resolve().parent.parent
READY_PREFIX = "mock_api listening on "
# A valid POST body: the petition of the portal page's task example (shared/seeds), user_netid lower-cased.
SEED_PAYLOAD = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}
# Hypothesis profiles, registered in conftest.py: `ci` (the default, `make test`, CI) runs the counts the tests
# pin; `dev` (`make test-fast`) runs at most DEV_EXAMPLES a test, pinned counts included (see examples()).
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
DEV_EXAMPLES = 20
SUITE_SCENARIO: str | None = None  # --mock-api-scenario, set by conftest: the servers' start-up scenario


class ValidatingClient(FlaskClient):
    """A test client that checks every response against openapi.yaml, so every test checks the contract."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        state = self.application.extensions["mock_api"]
        # Under a scenario other than default, injected errors are expected (see openapi.yaml info).
        faults = bool(request.headers.get("X-Mock-Scenario")) or state.scenario_name != "default"
        problems = check_response(request.method, request.path, response.status_code,
                                  dict(response.headers.items()), response.get_data(), faults_allowed=faults)
        assert not problems, (f"{request.method} {request.path} -> {response.status_code} breaks openapi.yaml:\n"
                              + "\n".join(f"  {p}" for p in problems))
        return response


def validating(app: Flask) -> Flask:
    """The app, its test clients now ValidatingClient."""
    app.test_client_class = ValidatingClient
    return app


def examples(ci: int) -> int:
    """A test's Hypothesis example count: `ci` under the ci profile, no more than the loaded profile's otherwise."""
    return ci if HYPOTHESIS_PROFILE == "ci" else min(ci, settings().max_examples)


def token_for(client: Any, key: str = "dev-readwrite", scopes: Sequence[str] = (READ, WRITE)) -> str:
    response = client.post("/api/jwt", query_string={"scope": " ".join(scopes)}, headers={"Authorization": key})
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.get_json()["jwt"])


def post(client: FlaskClient, headers: dict[str, str], body: Any = None, **kwargs: Any) -> Any:
    if body is not None:
        kwargs["json"] = body
    return client.post("/api/academic/petitions", headers=headers, **kwargs)


def submit(client: FlaskClient, headers: dict[str, str], payload: Any) -> str:
    response = post(client, headers, {"petition": payload})
    assert response.status_code == 202
    return str(response.headers["Location"])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    # 30 s: a server that starts instead of refusing fails the test by timing out, not by hanging CI.
    return subprocess.run([sys.executable, "-m", "mock_api", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=30)


def assert_one_line_usage_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("mock_api: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    url: str
    ready_line: str
    stderr_drain: threading.Thread | None = None
    stderr_lines: list[str] = field(default_factory=list)

    def stderr_text(self, timeout: float = 10.0) -> str:
        """What the server wrote to stderr; complete once the process has exited."""
        if self.stderr_drain is not None:
            self.stderr_drain.join(timeout)
        return "".join(self.stderr_lines)


def _drain(stream: Any, into: list[str]) -> None:
    # An unread stderr pipe fills up (64 KiB) and then blocks every server thread that logs.
    for line in stream:
        into.append(line)


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=0.1):
            return process.stdout.readline()
        if process.poll() is not None:
            break
    return ""


@contextmanager
def running_server(*args: str, timeout: float = 20.0,
                   command: Sequence[str] = ("-m", "mock_api")) -> Iterator[RunningServer]:
    """`python -m mock_api --port 0 ARGS` as a user starts it (or `python COMMAND ...`); waits for the ready line."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if SUITE_SCENARIO is not None and "--scenario" not in args:
        args = ("--scenario", SUITE_SCENARIO, *args)
    process = subprocess.Popen([sys.executable, *command, "--port", "0", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server: RunningServer | None = None
    try:
        line = _read_line(process, timeout)
        if not line.startswith(READY_PREFIX):
            process.kill()
            _, err = process.communicate(timeout=5)
            raise AssertionError(f"server did not start: stdout={line!r} stderr={err!r}")
        server = RunningServer(process, line.strip()[len(READY_PREFIX):], line)
        server.stderr_drain = threading.Thread(target=_drain, args=(process.stderr, server.stderr_lines), daemon=True)
        server.stderr_drain.start()
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if process.stdout is not None:
            process.stdout.close()
        if server is not None and server.stderr_drain is not None:
            server.stderr_drain.join(10)  # the process has exited: the drain reaches EOF
        if process.stderr is not None:
            process.stderr.close()


def drifting(app: Flask, change: Any) -> Flask:
    """The app with every answer passed through `change(response)` (a werkzeug Response): a deployment that
    drifted from the contract, whichever route answered."""
    inner = app.wsgi_app

    def drifted(environ: dict[str, Any], start_response: Any) -> Any:
        response = change(Response.from_app(inner, environ))
        return response(environ, start_response)
    app.wsgi_app = drifted  # type: ignore[method-assign]
    return app
