"""`python -m mock_api verify`: passes against the mock, reports a drifted deployment, never leaks secrets."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask, Response
from werkzeug.serving import make_server

from mock_api.config import MockConfig
from mock_api.contract.verify import Options, Outcome, main, report
from mock_api.http.app import create_app
from mock_api.service.dataset import Dataset
from mock_api.state import MockState
from support import ROOT, drifting, running_server


def _verify(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mock_api", "verify", "--base-url", url, "--api-key",
                           "dev-readwrite", *extra], cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_verify_passes_against_the_mock_and_stays_read_only_by_default() -> None:
    with running_server("--task-seconds", "0.1") as server:
        done = _verify(server.url)
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert lines[0] == f"mock_api verify: {server.url} (read-only), against openapi.yaml"
        assert lines[-1] == "15 checks: 14 passed, 0 drifted, 1 skipped. OK: no drift"
        assert "SKIP  POST /api/academic/petitions and task polling" in lines
        with urllib.request.urlopen(f"{server.url}/_mock/requests", timeout=10) as answer:
            journal = json.load(answer)
        assert {(e["method"], e["path"]) for e in journal if e["method"] == "POST"} == {("POST", "/api/jwt")}
        assert all(e["headers"].get("Authorization", "***").endswith("***") for e in journal)

        unnamed = _verify(server.url, "--write")
        assert unnamed.returncode == 2
        assert "--write posts a real petition: name its student with --netid (or give --payload)" in unnamed.stderr
        written = _verify(server.url, "--write", "--netid", "f0027k4", "--poll-seconds", "0.1")
        assert written.returncode == 0, written.stdout + written.stderr
        assert written.stdout.splitlines()[-1] == "17 checks: 17 passed, 0 drifted, 0 skipped. OK: no drift"
        assert "PASS  POST a petition -> 202" in written.stdout
        assert "the task failed" not in written.stdout
        again = _verify(server.url, "--write", "--netid", "f0027k4", "--poll-seconds", "0.1")  # now a duplicate
        assert again.returncode == 0, again.stdout + again.stderr
        assert ("      - the task failed: no petition was written (a duplicate, or a payload this deployment "
                "refuses; try another --payload); its shape still matches the contract") in again.stdout.splitlines()
        for output in (done.stdout + done.stderr, written.stdout + written.stderr):
            assert "dev-readwrite" not in output and "eyJ" not in output  # neither the key nor a token


@pytest.mark.slow
def test_a_refused_key_a_base_url_with_api_and_a_write_for_a_student_without_petitions() -> None:
    with running_server("--task-seconds", "0.1") as server:
        refused = subprocess.run([sys.executable, "-m", "mock_api", "verify", "--base-url", server.url, "--api-key",
                                  "revoked-key"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stdout.splitlines()[-3:] == [
            "REFUSED POST /api/jwt with the key -> 401",
            "      - the API key was refused: check it (--api-key or MOCK_API_VERIFY_API_KEY); "
            "nothing else was checked",
            "3 checks: 2 passed, 0 drifted, 0 skipped. REFUSED: the API key was refused: check it"]
        assert "revoked-key" not in refused.stdout + refused.stderr

        under_api = _verify(server.url + "/api/")
        assert under_api.returncode == 1
        assert under_api.stdout.splitlines()[1] == (
            f"hint: --base-url ends in /api, and every checked path starts with /api/ (POST /api/jwt goes to "
            f"{server.url}/api/api/jwt): give it without /api, e.g. https://api.dartmouth.edu")

        # f006s0b has no petition yet: the single-record read takes one from the unfiltered collection.
        written = _verify(server.url, "--write", "--netid", "f006s0b", "--poll-seconds", "0.1")
        assert written.returncode == 0, written.stdout + written.stderr
        lines = written.stdout.splitlines()
        assert "PASS  GET one page of all petitions (netid f006s0b has none) -> 200" in lines
        assert "PASS  GET one petition by the collection's id -> 200" in lines
        assert lines[-1] == "18 checks: 18 passed, 0 drifted, 0 skipped. OK: no drift"


def _drift(response: Response) -> Response:
    """A deployment that renamed a field and answers a missing record with 400."""
    if response.mimetype == "application/json" and response.status_code == 200:
        body = response.get_json()
        records = body if isinstance(body, list) else [body]
        for record in records:
            if isinstance(record, dict) and "petition_name" in record:
                record["name"] = record.pop("petition_name")
        response.set_data(json.dumps(body))
    if response.status_code == 404:
        response.status_code = 400
    return response


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_verify_reports_a_drifted_deployment(dataset: Dataset, capsys: pytest.CaptureFixture[str]) -> None:
    app = drifting(create_app(state=MockState(MockConfig(), dataset=dataset)), _drift)
    with serving(app) as url:
        code = main(["--base-url", url, "--api-key", "dev-readwrite"])
    out = capsys.readouterr().out
    assert code == 1, out
    lines = out.splitlines()
    at = lines.index("DRIFT GET /api/academic/petitions/?netid=f0027k4 -> 200")
    assert lines[at + 1] == "      - body $[0]: Additional properties are not allowed ('name' was unexpected)"
    assert lines[at + 2] == "      - body $[0]: 'petition_name' is a required property"
    assert "DRIFT GET a petition that does not exist -> 400" in lines
    assert '      - status 400, expected 404; body {"detail": "Not Found"}' in lines
    assert lines[-1].endswith("drifted, 1 skipped. DRIFT: the deployment differs from the contract")
    assert "PASS  GET petitions without a token -> 401" in lines  # what did not drift still passes


def test_unreachable_deployment_and_missing_key_are_usage_errors(capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with serving(Flask("closed")) as url:
        pass  # the port is closed again
    assert main(["--base-url", url, "--api-key", "k"]) == 2
    assert capsys.readouterr().err.startswith(f"mock_api: error: verify: cannot reach {url}")
    monkeypatch.delenv("MOCK_API_VERIFY_API_KEY", raising=False)
    with pytest.raises(SystemExit) as stopped:
        main(["--base-url", url])
    assert stopped.value.code == 2
    assert "--api-key or the MOCK_API_VERIFY_API_KEY environment variable is required" in capsys.readouterr().err


def test_report_scrubs_any_secret_that_reached_a_note() -> None:
    options = Options("http://x", "sekret-key", "f0027k4", False, None, 1.0, 5.0)
    outcomes: list[Any] = [Outcome("DRIFT", "POST /api/jwt -> 500", ["body echoed sekret-key and tok.en.value1"])]
    text = report(options, outcomes, ["sekret-key", "tok.en.value1"])
    assert "sekret-key" not in text and "tok.en.value1" not in text
    assert "      - body echoed *** and ***" in text.splitlines()


def test_the_server_cli_still_parses_flat_options() -> None:
    from mock_api.cli import build_parser

    assert build_parser().parse_args(["--port", "0", "--strict"]).port == 0
