"""Scenario control over real HTTP: runtime switching, the X-Mock-Scenario override, reset, start-up scenario."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from scenario_http import NEW_ID, Api
from support import running_server

pytestmark = pytest.mark.slow  # a real server in a subprocess

KNOWN = ("broken_connections, default, expired_tokens, failing_tasks, first_poll_not_found, flaky, forbidden_write, "
         "instant_tasks, latency, one_student_fails, pessimistic, read_forbidden, retry_then_succeed, slow_tasks, "
         "stale_cache, throttled, unavailable")
CUSTOM = """\
name: teapot
description: Petition types answer 418 with a text body
rules:
  - match: {method: GET, path: /api/petition_types/*}
    effects:
      - respond: {status: 418, body: "short and stout", headers: {X-Teapot: "yes"}}
"""


OUTSIDE = "scenario files can only be loaded from a --scenarios-dir directory given at start-up"


@pytest.fixture(scope="module")
def custom_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenarios") / "teapot.yaml"
    path.write_text(CUSTOM, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(custom_file: Path) -> Iterator[Api]:
    with running_server("--scenarios-dir", str(custom_file.parent)) as running:
        yield Api(running.url)


@pytest.mark.lenient("default is the start-up scenario")
def test_put_switches_the_active_scenario_and_get_reports_it(server: Api) -> None:
    server.fresh()
    auth = server.token()
    switched = server.control("PUT", "/scenario", {"name": "unavailable"})
    assert switched.status_code == 200
    assert switched.json()["name"] == "unavailable" and switched.json()["startup"] == "default"
    assert server.get("/api/petition_types/Q25", auth).status_code == 503
    assert server.control("GET", "/scenario").json()["name"] == "unavailable"
    server.control("PUT", "/scenario", {"name": "default"})
    assert server.get("/api/petition_types/Q25", auth).status_code == 200


@pytest.mark.parametrize(("body", "detail"), [
    ({"name": "nope"}, f"unknown scenario 'nope' (known: {KNOWN}; or give the path of a scenario .yaml file)"),
    ({"name": ""}, 'body must be {"name": NAME} with NAME a scenario name or the path of a .yaml file'),
    ({"scenario": "flaky"}, 'body must be {"name": NAME} with NAME a scenario name or the path of a .yaml file'),
    (["flaky"], 'body must be {"name": NAME} with NAME a scenario name or the path of a .yaml file'),
    ({"name": "/etc/passwd"}, "a scenario path must end in .yaml or .yml"),
    ({"name": "/no/such/file.yaml"}, OUTSIDE),  # says nothing about the file: not even that it is missing
])
def test_put_refuses_a_bad_name_with_a_400_json_and_keeps_the_scenario(server: Api, body: object, detail: str) -> None:
    server.fresh("latency")
    refused = server.control("PUT", "/scenario", body)
    assert (refused.status_code, refused.json()) == (400, {"detail": detail})
    assert server.control("GET", "/scenario").json()["name"] == "latency"


@pytest.mark.lenient("default is the start-up scenario")
def test_put_loads_a_user_file_which_is_then_listed_and_usable_by_name(server: Api, custom_file: Path) -> None:
    server.fresh()
    loaded = server.control("PUT", "/scenario", {"name": str(custom_file)})
    assert loaded.json() == {"name": "teapot", "description": "Petition types answer 418 with a text body",
                             "source": str(custom_file), "startup": "default"}
    got = server.get("/api/petition_types/Q25")
    assert (got.status_code, got.text, got.headers["X-Teapot"]) == (418, "short and stout", "yes")
    assert got.headers["Content-Type"].startswith("text/plain")
    assert "teapot" in [s["name"] for s in server.control("GET", "/scenarios").json()]
    server.control("PUT", "/scenario", {"name": "default"})
    assert server.get("/api/petition_types/Q25", headers={"X-Mock-Scenario": "teapot"}).status_code == 418


def test_put_by_path_reads_only_files_under_a_scenarios_dir(server: Api, custom_file: Path,
                                                           tmp_path: Path) -> None:
    server.fresh("latency")
    outside = tmp_path / "teapot.yaml"
    outside.write_text(CUSTOM.replace("teapot", "outside"), encoding="utf-8")
    escape = custom_file.parent / ".." / tmp_path.name / "teapot.yaml"
    link = custom_file.parent / "link.yaml"
    link.symlink_to(outside)
    fixtures = str(Path(__file__).resolve().parent.parent / "fixtures" / "api_keys.yaml")
    # A file that exists, one that does not, a way out with .., a link out: the same answer for each.
    for name in (str(outside), str(tmp_path / "missing.yaml"), str(escape), str(link), fixtures):
        refused = server.control("PUT", "/scenario", {"name": name})
        assert (refused.status_code, refused.json()) == (400, {"detail": OUTSIDE}), name
    assert server.control("GET", "/scenario").json()["name"] == "latency"
    assert "outside" not in [s["name"] for s in server.control("GET", "/scenarios").json()]


def test_without_scenarios_dir_no_path_is_read(custom_file: Path) -> None:
    with running_server() as running:
        refused = Api(running.url).control("PUT", "/scenario", {"name": str(custom_file)})
        assert (refused.status_code, refused.json()) == (400, {"detail": OUTSIDE})


def test_scenarios_lists_every_builtin_with_its_description(server: Api) -> None:
    listed = server.control("GET", "/scenarios").json()
    builtins = [s for s in listed if s["source"] == "built-in"]
    assert ", ".join(s["name"] for s in builtins) == KNOWN
    assert all(s["description"] and "\n" not in s["description"] for s in builtins)


@pytest.mark.lenient("default is the start-up scenario")
def test_header_overrides_the_scenario_for_one_request_only(server: Api) -> None:
    server.fresh()
    auth = server.token()
    overridden = server.get("/api/petition_types/Q25", {**auth, "X-Mock-Scenario": "unavailable"})
    assert (overridden.status_code, overridden.json()) == (503, {"detail": "Service Unavailable"})
    assert server.get("/api/petition_types/Q25", auth).status_code == 200
    assert server.control("GET", "/scenario").json()["name"] == "default"
    journal = server.control("GET", "/requests").json()
    assert [(e["status"], e["scenario"]) for e in journal[-2:]] == [(503, "unavailable"), (200, "default")]


def test_header_override_decides_how_a_posted_task_runs(server: Api) -> None:
    server.fresh()
    auth = server.token()
    location = server.submit({**auth, "X-Mock-Scenario": "instant_tasks"})
    assert server.get(location, auth).json()["status"] == "complete"


@pytest.mark.parametrize(("value", "problem"), [
    ("nope", f"unknown scenario 'nope' (known: {KNOWN})"),  # the header takes names only: no path hint
    ("../fixtures/api_keys.yaml", "expected a scenario name, not a path: '../fixtures/api_keys.yaml'"),
])
def test_unknown_header_scenario_is_a_400_json(server: Api, value: str, problem: str) -> None:
    server.fresh()
    got = server.get("/api/petition_types/Q25", {"X-Mock-Scenario": value})
    assert (got.status_code, got.json()) == (400, {"detail": f"X-Mock-Scenario: {problem}"})


@pytest.mark.lenient("default is the start-up scenario")
def test_reset_restores_fixture_state_after_writes_and_the_startup_scenario(server: Api) -> None:
    server.fresh("instant_tasks")
    auth = server.token()
    location = server.submit(auth)
    task = server.get(location, auth).json()
    assert task["status"] == "complete"
    assert server.get(f"/api/academic/petitions/{NEW_ID}", auth).status_code == 200
    assert server.get("/api/students/f006s0b/petitions", auth).json() != []

    assert server.control("POST", "/reset").json() == {"status": "reset"}
    assert server.control("GET", "/scenario").json()["name"] == "default"
    assert server.control("GET", "/tasks").json() == []
    assert server.control("GET", "/requests").json() == []
    assert server.get(f"/api/academic/petitions/{NEW_ID}", auth).status_code == 404
    assert server.get(location, auth).status_code == 404
    assert server.get("/api/students/f006s0b/petitions", auth).json() == []
    # The same write works again: reset did not keep the created petition's id.
    again = server.get(server.submit(auth), auth)
    assert again.json()["status"] == "accepted"


def test_control_api_is_never_subject_to_a_scenario(server: Api) -> None:
    server.fresh("unavailable")
    for path in ("/health", "/scenario", "/clock", "/requests", "/tasks", "/scenarios"):
        assert server.control("GET", path).status_code == 200, path
    assert server.control("GET", "/health", None).status_code == 200


def test_startup_scenario_from_a_file_comes_back_on_reset(custom_file: Path) -> None:
    with running_server("--scenario", str(custom_file)) as running:
        api = Api(running.url)
        assert api.control("GET", "/scenario").json()["startup"] == "teapot"
        api.control("PUT", "/scenario", {"name": "default"})
        assert api.get("/api/petition_types/Q25").status_code == 401
        api.control("POST", "/reset")
        assert api.control("GET", "/scenario").json()["name"] == "teapot"
        assert api.get("/api/petition_types/Q25").status_code == 418
        assert requests.get(f"{running.url}/_mock/health", timeout=10).json()["status"] == "ok"
