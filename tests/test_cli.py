"""The command line as a user runs it: ready line, clean stop on signals, clear errors with exit 2."""
from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
import requests

from mock_api.config import MockConfig
from support import assert_one_line_usage_error, run_cli, running_server


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_the_server_cleanly(sig: signal.Signals) -> None:
    with running_server() as server:
        assert requests.get(f"{server.url}/_mock/health", timeout=5).json()["status"] == "ok"
        server.process.send_signal(sig)
        assert server.process.wait(timeout=10) == 0
        err = server.stderr_text()
        assert "Traceback" not in err and "mock_api stopped" in err


@pytest.mark.slow
def test_defaults_bind_loopback_only() -> None:
    with running_server() as server:
        assert server.url.startswith("http://127.0.0.1:")


@pytest.mark.slow
def test_seed_option_changes_the_generated_data() -> None:
    with running_server("--seed", "99", "--students", "5") as server:
        token = requests.post(f"{server.url}/api/jwt", params={"scope": "api:academic:petitions:read"},
                              headers={"Authorization": "dev-readonly"}, timeout=5).json()["jwt"]
        response = requests.get(f"{server.url}/api/academic/petitions", params={"pagesize": 1000},
                                headers={"Authorization": f"Bearer {token}"}, timeout=5)
        netids = {r["netid"] for r in response.json()}
        assert netids - {"f0027k4", "f006kdf"}  # generated students with petitions
        assert len(netids) <= 2 + 5


def test_bad_fixtures_exit_2_naming_file_and_key(tmp_path: Path) -> None:
    folder = tmp_path / "fixtures"
    shutil.copytree(MockConfig().fixtures_dir, folder)
    (folder / "api_keys.yaml").write_text("service_accounts:\n  - key: k\n    scopes: nope\n")
    result = run_cli("--fixtures", str(folder), "--port", "0")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (f"mock_api: error: bad fixtures: {folder / 'api_keys.yaml'}: "
                             "service_accounts[0].scopes: expected a list of scope strings\n")


@pytest.mark.parametrize(("args", "message"), [
    (["--port", "70000"], "--port must be between 0 and 65535"),
    (["--port", "x"], "invalid int value"),
    (["--students", "-1"], "--students must be >= 0"),
    (["--fixtures", "/nonexistent"], "/nonexistent: (directory): not found"),
    (["--host", "256.1.1.1"], "--host 256.1.1.1: not a valid IPv4 address"),
    (["--host", "no-such-host.invalid"], "--host no-such-host.invalid: cannot be resolved"),
    (["--connection-limit", "0"], "--connection-limit and --idle-timeout must be >= 1"),
    (["--idle-timeout", "0"], "--connection-limit and --idle-timeout must be >= 1"),
    (["--shutdown-grace", "-1"], "--shutdown-grace must be >= 0"),
    (["--nope"], "unrecognized arguments: --nope"),
    (["--scenarios-dir", "/nonexistent"], "--scenarios-dir /nonexistent: not a directory"),
])
def test_bad_options_exit_2_with_one_line(args: list[str], message: str) -> None:
    assert_one_line_usage_error(run_cli(*args), message)


@pytest.mark.slow
def test_port_in_use_is_one_line_suggesting_port_0() -> None:
    with running_server() as server:
        port = server.url.rsplit(":", 1)[1]
        result = run_cli("--port", port)
        assert_one_line_usage_error(result, f"cannot listen on 127.0.0.1:{port}: Address already in use "
                                            "(--port 0 picks a free port)")
