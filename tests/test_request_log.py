"""The request log on stderr (text, colour, JSON, --quiet) and the progress line of a large generation."""
from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest
import requests

from mock_api.cli.progress import ProgressLine
from mock_api.config import MockConfig
from mock_api.contract.observation import Observation
from mock_api.contract.requestlog import RequestLog, clock_text, target
from mock_api.http.app import create_app
from mock_api.service.clock import Clock
from mock_api.service.requests import PlainRequest
from mock_api.service.scopes import READ
from mock_api.state import MockState
from support import ROOT, bearer, running_server, token_for

NOON = datetime(2025, 3, 4, 12, 0, tzinfo=timezone.utc).timestamp()


def _logged(form: str, strict: bool = False) -> tuple[MockState, io.StringIO, object]:
    app = create_app(MockConfig(request_log=form, frozen_clock_at=NOON, strict=strict))
    state: MockState = app.extensions["mock_api"]
    stream = io.StringIO()
    state.request_log.stream = stream
    return state, stream, app.test_client()


def test_text_line_per_request_with_query_status_duration() -> None:
    _, stream, client = _logged("text")
    client.get("/api/academic/petitions?netid=f0027k4&pagesize=2&pagesize=3")  # type: ignore[attr-defined]
    client.get("/_mock/health")  # type: ignore[attr-defined]  # control calls are not API requests
    client.get("/api/academic/petitions", headers={"X-Mock-Scenario": "unavailable"})  # type: ignore[attr-defined]
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"12:00:00\.000 GET /api/academic/petitions\?netid=f0027k4&pagesize=2&pagesize=3 401 "
                        r"\d+\.\dms", lines[0]), lines[0]
    assert re.fullmatch(r"12:00:00\.000 GET /api/academic/petitions 503 \d+\.\dms \[scenario unavailable\]",
                        lines[1]), lines[1]


def test_strict_violations_are_marked_under_their_request() -> None:
    _, stream, client = _logged("text", strict=True)
    token = token_for(client, "dev-readonly", (READ,))
    stream.truncate(0)
    stream.seek(0)
    client.get("/api/academic/petitions?netd=x", headers=bearer(token))  # type: ignore[attr-defined]
    lines = stream.getvalue().splitlines()
    assert re.fullmatch(r"12:00:00\.000 GET /api/academic/petitions\?netd=x 200 \d+\.\dms", lines[0]), lines[0]
    assert lines[1].startswith("  ! [dropped_filter] GET /api/academic/petitions: 'netd' is not an attribute")
    assert len(lines) == 2


def test_colour_only_when_asked() -> None:
    _, stream, client = _logged("color")
    client.get("/api/academic/petitions")  # type: ignore[attr-defined]
    assert "\033[33m401\033[0m" in stream.getvalue() and "\033[1mGET\033[0m" in stream.getvalue()
    _, plain, client = _logged("text")
    client.get("/api/academic/petitions")  # type: ignore[attr-defined]
    assert "\033" not in plain.getvalue()


def test_json_lines_one_object_per_request() -> None:
    _, stream, client = _logged("json", strict=True)
    client.post("/api/jwt?scope=" + READ, headers={"Authorization": "dev-readonly"})  # type: ignore[attr-defined]
    client.get("/api/academic/petitions?netd=x")  # type: ignore[attr-defined]
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert list(first) == ["time", "seq", "method", "path", "target", "status", "answered", "fault", "duration_ms",
                           "scenario", "violations"]
    assert (first["time"], first["seq"], first["method"], first["target"], first["status"], first["scenario"]) == (
        "2025-03-04T12:00:00.000+00:00", 1, "POST", "/api/jwt?scope=" + READ, 200, "default")
    assert first["violations"] == []
    assert (second["path"], second["status"]) == ("/api/academic/petitions", 401)
    assert second["violations"] == [{"kind": "dropped_filter", "message": second["violations"][0]["message"]}]


def test_off_writes_nothing_and_a_wrong_form_is_refused() -> None:
    _, stream, client = _logged("off")
    client.get("/api/academic/petitions")  # type: ignore[attr-defined]
    assert stream.getvalue() == ""
    with pytest.raises(ValueError, match="request log format must be one of off, text, color, json, got 'xml'"):
        RequestLog("xml")


def _call(url: str) -> None:
    requests.get(f"{url}/api/academic/petitions", params={"netid": "f0027k4"}, timeout=10)


def _stopped_stderr(server: object) -> str:
    server.process.terminate()  # type: ignore[attr-defined]
    server.process.wait(timeout=10)  # type: ignore[attr-defined]
    return str(server.stderr_text())  # type: ignore[attr-defined]


@pytest.mark.slow
def test_server_says_where_things_are_then_logs_plain_text() -> None:
    with running_server() as server:
        _call(server.url)
        err = _stopped_stderr(server)
    lines = err.splitlines()
    assert lines[:4] == [
        f"  API        {server.url}/api  (POST {server.url}/api/jwt with a key below)",
        f"  OpenAPI    {server.url}/openapi.json",
        f"  dashboard  {server.url}/_mock/",
        "  dev keys   dev-readwrite, dev-readonly, dev-noscopes  (fixtures/api_keys.yaml: local keys, not real "
        "credentials)"]
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} GET /api/academic/petitions\?netid=f0027k4 401 \d+\.\dms"
                        r"( \[scenario \w+\])?", lines[4]), lines[4]
    assert lines[5:] == ["mock_api stopped"] and "\033" not in err


@pytest.mark.slow
def test_server_quiet_and_json_and_no_dashboard_line_without_control() -> None:
    with running_server("--quiet") as server:
        _call(server.url)
        assert _stopped_stderr(server) == "mock_api stopped\n"
    with running_server("--log-format", "json", "--no-control") as server:
        _call(server.url)
        lines = _stopped_stderr(server).splitlines()
    assert not any("dashboard" in line for line in lines)
    entry = json.loads(lines[3])
    assert (entry["method"], entry["target"], entry["status"]) == ("GET", "/api/academic/petitions?netid=f0027k4", 401)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _record(done: int, total: int) -> logging.LogRecord:
    record = logging.LogRecord("mock_api.progress", logging.INFO, __file__, 1, "generating students", None, None)
    record.done, record.total = done, total
    return record


def test_progress_is_throttled_and_always_shows_the_end() -> None:
    plain = io.StringIO()
    handler = ProgressLine(plain)
    for done in (1000, 2000, 3000):
        handler.emit(_record(done, 30000))
    handler.emit(_record(30000, 30000))
    assert plain.getvalue() == ("mock_api: generating students: 1,000 of 30,000 (3%)\n"
                                "mock_api: generating students: 30,000 of 30,000 (100%)\n")
    terminal = _Terminal()
    handler = ProgressLine(terminal)
    handler.emit(_record(1000, 30000))
    handler.shown_at = time.monotonic() - 1  # the next redraw is due
    handler.emit(_record(2000, 30000))
    handler.emit(_record(30000, 30000))
    assert terminal.getvalue() == ("\rmock_api: generating students: 1,000 of 30,000 (3%)"
                                   "\rmock_api: generating students: 2,000 of 30,000 (6%)"
                                   "\rmock_api: generating students: 30,000 of 30,000 (100%)\n")


@pytest.mark.slow
@pytest.mark.parametrize("quiet", [False, True])
def test_a_large_generation_shows_progress_unless_quiet(quiet: bool) -> None:
    # No cache, so the data is generated; the port is taken, so the CLI stops right after building it.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = subprocess.run([sys.executable, "-m", "mock_api", "--students", "20000", "--seed", "7", "--port", port,
                               *(["--quiet"] if quiet else [])], cwd=ROOT, capture_output=True, text=True,
                              timeout=180, env={**os.environ, "MOCK_API_CACHE_DIR": "off"})
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and lines[-1].startswith(f"mock_api: error: cannot listen on 127.0.0.1:{port}")
    progress = lines[:-1]
    if quiet:
        assert progress == []
    else:  # not a terminal: the first line at once, then one every few seconds, and the end
        assert progress[0].startswith("mock_api: generating students: 1,000 of 20,000 (5%)")
        assert progress[-1] == "mock_api: generating students: 20,000 of 20,000 (100%)"


@pytest.mark.parametrize("epoch", [0.0, 1732131053.0, 1732131053.123, 1732131053.9999995, 1732131053.0009995,
                                   1732131053.0004999, 86399.9996, 4102444799.999])
def test_the_clock_is_datetimes_to_the_millisecond(epoch: float) -> None:
    expected = datetime.fromtimestamp(epoch, timezone.utc).strftime("%H:%M:%S.%f")[:-3]
    assert clock_text(epoch) == expected


@pytest.mark.parametrize("query", [{"netid": ["f0027k4"]}, {"a": ["1", "2"], "b": ["x y"]}, {"é": ["ü"]},
                                   {"x": [""]}, {"d": ["ge:2024-01-01T00:00:00Z"]}, {"s": ["a+b&c=d"]}, {}])
def test_the_target_is_urlencodes_whether_or_not_the_query_needs_quoting(query: dict[str, list[str]]) -> None:
    request = PlainRequest("GET", "/api/x", None, [], {}, "", lambda: b"", "key", Clock(None))
    seen = Observation(request, None, 0.0, 200, True, None, None, "default", None, 0.0, query)
    encoded = urlencode(query, doseq=True, safe=":/,")
    assert target(seen) == (f"/api/x?{encoded}" if encoded else "/api/x")


@pytest.mark.slow
def test_the_banner_names_strict_mode_and_a_scenario_other_than_default() -> None:
    with running_server("--strict", "--scenario", "flaky") as server:
        err = _stopped_stderr(server)
    lines = err.splitlines()
    assert lines[3].startswith("  dev keys   ")
    assert lines[4:6] == [
        "  strict     on: the client's contract violations are logged below and listed at "
        f"{server.url}/_mock/violations",
        "  scenario   flaky"]
    with running_server("--strict", "--no-control", "--scenario", "default") as server:
        lines = _stopped_stderr(server).splitlines()
    assert lines[2:] == [lines[2], "  strict     on: the client's contract violations are logged below",
                         "mock_api stopped"]
