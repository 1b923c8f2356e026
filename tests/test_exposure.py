"""Safe exposure: a non-loopback bind needs a control token or --no-control; the token guards /_mock."""
from __future__ import annotations

import pytest
import requests

from mock_api.cli import build_parser, host_is_loopback
from support import assert_one_line_usage_error, run_cli, running_server

TOKEN = "s3cret-control"
REFUSED = {"detail": "X-Mock-Control-Token is missing or wrong"}


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_a_non_loopback_host_without_token_or_no_control_is_refused(host: str) -> None:
    result = run_cli("--host", host, "--port", "0")
    assert_one_line_usage_error(result, f"--host {host} is not a loopback address: give --control-token TOKEN")
    assert "--no-control" in result.stderr


@pytest.mark.parametrize("choice", [["--control-token", TOKEN], ["--no-control"]])
def test_a_non_loopback_host_is_accepted_with_a_token_or_no_control(choice: list[str]) -> None:
    # 192.0.2.1 (TEST-NET-1) is not this machine's: the bind itself fails, after the exposure check passed.
    result = run_cli("--host", "192.0.2.1", "--port", "0", *choice)
    assert_one_line_usage_error(result, "cannot listen on 192.0.2.1:0: Cannot assign requested address")


@pytest.mark.slow
@pytest.mark.parametrize("host", ["127.0.0.2", "::1"])
def test_loopback_hosts_need_no_token(host: str) -> None:
    with running_server("--host", host) as server:
        assert requests.get(f"{server.url}/_mock/health", timeout=10).status_code == 200


@pytest.mark.parametrize(("host", "loopback"), [("localhost", True), ("127.255.0.1", True), ("::1", True),
                                                ("0.0.0.0", False), ("::", False), ("192.0.2.1", False)])
def test_which_hosts_count_as_loopback(host: str, loopback: bool) -> None:
    assert host_is_loopback(build_parser(), host) is loopback


def _check_guard(url: str) -> None:
    for headers in ({}, {"X-Mock-Control-Token": "wrong"}, {"X-Mock-Control-Token": TOKEN + "x"}):
        refused = requests.post(f"{url}/_mock/reset", headers=headers, timeout=10)
        assert (refused.status_code, refused.json()) == (401, REFUSED)
        assert refused.headers["Content-Type"] == "application/json"
    for path in ("/_mock/health", "/_mock/requests", "/_mock/coverage", "/_mock/violations", "/_mock/nope"):
        assert requests.get(f"{url}{path}", timeout=10).status_code == 401, path
    # Refused calls changed nothing: the API request is still in the journal (reset was refused).
    assert requests.get(f"{url}/api/petition_types", timeout=10).status_code == 401  # no bearer: the API's own 401
    journal = requests.get(f"{url}/_mock/requests", headers={"X-Mock-Control-Token": TOKEN}, timeout=10)
    assert journal.status_code == 200 and [e["path"] for e in journal.json()] == ["/api/petition_types"]
    ok = requests.post(f"{url}/_mock/reset", headers={"X-Mock-Control-Token": TOKEN}, timeout=10)
    assert (ok.status_code, ok.json()) == (200, {"status": "reset"})


@pytest.mark.slow
def test_with_a_control_token_every_mock_call_needs_the_header() -> None:
    with running_server("--control-token", TOKEN) as server:
        _check_guard(server.url)


@pytest.mark.slow
def test_the_control_token_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_API_CONTROL_TOKEN", TOKEN)
    with running_server() as server:
        _check_guard(server.url)


def test_an_empty_control_token_is_refused() -> None:
    assert_one_line_usage_error(run_cli("--control-token", " "), "--control-token must not be empty")
