"""Failure bundles: --mock-api-bundle-dir writes one per failed test; `mock-api show` and serve read it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from mock_api.testing.bundle import file_name
from plugin_consumer import consumer, run
from support import run_cli, running_server

pytestmark = pytest.mark.slow  # pytester runs a consumer suite with a server; the CLI runs in a subprocess

FAILING = '''
def test_passes(mock_api):
    requests.get(f"{mock_api.url}/api/petition_types", headers=auth(mock_api), timeout=10)

@pytest.mark.parametrize("code", ["Q41"])
def test_fails(mock_api, code):
    mock_api.freeze()
    headers = auth(mock_api)
    got = requests.post(f"{mock_api.url}/api/academic/petitions", json={"petition": NEW}, headers=headers, timeout=10)
    assert got.status_code == 202
    requests.get(f"{mock_api.url}/api/academic/petitions", params={"netid": "f006s0b"}, headers=headers, timeout=10)
    mock_api.assert_requested(method="GET", query={"netid": "f0027k4"})
'''


def test_file_names_are_safe_and_distinct() -> None:
    assert file_name("tests/test_x.py::test_y[a/b c]") == "tests_test_x.py__test_y_a_b_c_.json"
    long_one, other = "t.py::" + "x" * 300, "t.py::" + "x" * 299 + "y"
    assert len(file_name(long_one)) == 120 + 1 + 12 + 5 and file_name(long_one) != file_name(other)


def test_a_failed_test_leaves_a_bundle_that_show_and_serve_read(pytester: pytest.Pytester) -> None:
    consumer(pytester, FAILING)
    result = run(pytester, "--mock-api-bundle-dir", "bundles")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*query.netid: wanted f0027k4, got f006s0b*", "*mock_api bundle*"])
    written = sorted(p.name for p in (pytester.path / "bundles").iterdir())
    assert written == ["test_consumer.py__test_fails_Q41_.json"]
    path = pytester.path / "bundles" / written[0]
    bundle = json.loads(path.read_text())
    assert bundle["test"] == "test_consumer.py::test_fails[Q41]" and bundle["format"] == "mock_api.snapshot/1"
    assert [(e["method"], e["path"], e["status"]) for e in bundle["journal"]] == [
        ("POST", "/api/academic/petitions", 202), ("GET", "/api/academic/petitions", 200)]
    assert bundle["violations"] == [] and len(bundle["backend"]["tasks"]) == 1

    shown = run_cli("show", str(path))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "test        test_consumer.py::test_fails[Q41]"
    assert lines[4] == "written     0 petitions, 1 tasks (1 accepted, 0 complete), 1 found sets"
    assert lines[-3:] == ["seq  method  path                     status  scenario  fault",
                          "  1  POST    /api/academic/petitions     202  default   -",
                          "  2  GET     /api/academic/petitions     200  default   -"]

    with running_server("--snapshot", str(path)) as server:
        tasks = requests.get(f"{server.url}/_mock/tasks", timeout=10).json()
        assert [task["id"] for task in tasks] == [bundle["backend"]["tasks"][0]["id"]]
        verdict = requests.post(f"{server.url}/_mock/verify", json={"match": {"method": "POST"}, "times": 1},
                                timeout=10).json()
        assert (verdict["ok"], verdict["matched"]) == (True, [1])


def test_ini_option_and_no_bundle_for_passing_tests(pytester: pytest.Pytester) -> None:
    consumer(pytester, FAILING.replace('"f0027k4"', '"f006s0b"'))
    pytester.makeini("[pytest]\nmock_api_bundle_dir = out/bundles\n")
    run(pytester).assert_outcomes(passed=2)
    assert not (pytester.path / "out").exists()


def test_show_refuses_what_is_not_a_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("[1]")
    got = run_cli("show", str(path))
    assert got.returncode == 2 and got.stdout == ""
    assert got.stderr.strip().endswith(f"{path}: not a mock_api snapshot or bundle (no \"format\": "
                                       "\"mock_api.snapshot/N\")")
