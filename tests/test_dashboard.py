"""The dashboard's HTTP side: the page, its assets, the control rules it follows, and the tail pages it reads."""
from __future__ import annotations

from dataclasses import replace

import pytest
import requests
from flask.testing import FlaskClient

from mock_api.http.app import create_app
from mock_api.http.views.dashboard import POLICY
from mock_api.state import MockState
from support import SEED_PAYLOAD, post, running_server, submit, validating

SHELL = ("/_mock/", "/_mock/assets/dashboard.js", "/_mock/assets/dashboard.css")


def test_the_bare_prefix_redirects_relatively_to_the_page(client: FlaskClient) -> None:
    got = client.get("/_mock")
    assert (got.status_code, got.headers["Location"], got.data) == (308, "_mock/", b"")


def test_the_page_is_html_with_every_section_and_a_strict_policy(client: FlaskClient) -> None:
    got = client.get("/_mock/")
    assert got.status_code == 200 and got.content_type == "text/html; charset=utf-8"
    assert got.headers["Content-Security-Policy"] == POLICY
    assert POLICY.startswith("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';")
    assert (got.headers["X-Frame-Options"], got.headers["X-Content-Type-Options"]) == ("DENY", "nosniff")
    assert got.headers["Referrer-Policy"] == "no-referrer"
    page = got.get_data(as_text=True)
    for title in ("Requests", "Tasks", "Scenario", "Clock", "Coverage", "Violations"):
        assert f'">{title}</h2>' in page
    # Relative references only, so that the page works under any prefix (/s/{session}/_mock/ later).
    assert 'href="assets/dashboard.css"' in page and 'src="assets/dashboard.js"' in page
    assert "<script>" not in page and "style=" not in page  # nothing inline: the policy forbids it
    assert 'data-strict="off" data-token="none"' in page


@pytest.mark.parametrize(("name", "content_type", "start"), [
    ("dashboard.js", "text/javascript; charset=utf-8", b"// mock_api's dashboard"),
    ("dashboard.css", "text/css; charset=utf-8", b"/* mock_api dashboard"),
])
def test_the_assets_ship_in_the_package(client: FlaskClient, name: str, content_type: str, start: bytes) -> None:
    got = client.get(f"/_mock/assets/{name}")
    assert (got.status_code, got.content_type, got.data[:len(start)]) == (200, content_type, start)
    assert got.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["x.js", "dashboard.html", "..%2Fdashboard.html", "%2e%2e"])
def test_no_other_file_is_served(client: FlaskClient, name: str) -> None:
    got = client.get(f"/_mock/assets/{name}")
    assert (got.status_code, got.get_json()) == (404, {"detail": "Not Found"})


def test_the_script_never_builds_markup_from_data() -> None:
    from mock_api.http.views.dashboard import FILES

    script = (FILES / "dashboard.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


def test_without_the_control_api_there_is_no_dashboard(state: MockState) -> None:
    app = create_app(state=MockState(replace(state.config, control_api=False), dataset=state.dataset))
    client = app.test_client()
    for path in ("/_mock", *SHELL):
        assert (client.get(path).status_code, client.get(path).get_json()) == (404, {"detail": "Not Found"})


def test_with_a_control_token_the_shell_loads_and_every_data_call_needs_the_header(state: MockState) -> None:
    app = validating(create_app(state=MockState(replace(state.config, control_token="s3cret"), dataset=state.dataset)))
    client = app.test_client()
    for path in SHELL:
        assert client.get(path).status_code == 200, path
    assert 'data-token="required"' in client.get("/_mock/").get_data(as_text=True)
    assert "s3cret" not in client.get("/_mock/").get_data(as_text=True)
    for path in ("/_mock/requests?tail=200", "/_mock/tasks?tail=100", "/_mock/clock", "/_mock/scenario"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"X-Mock-Control-Token": "s3cret"}).status_code == 200, path


def test_tail_is_the_newest_entries_oldest_first_without_link(client: FlaskClient, rw: dict[str, str]) -> None:
    for path in ("/api/petition_types", "/api/academic/petitions/none", "/api/tasks/none"):
        client.get(path, headers=rw)
    got = client.get("/_mock/requests", query_string={"tail": 2})
    assert got.status_code == 200 and "Link" not in got.headers
    assert [(e["seq"], e["path"]) for e in got.get_json()] == [(3, "/api/academic/petitions/none"),
                                                               (4, "/api/tasks/none")]
    everything = client.get("/_mock/requests", query_string={"tail": 100}).get_json()
    assert everything == client.get("/_mock/requests").get_json() and len(everything) == 4


@pytest.mark.parametrize(("query", "detail"), [
    ("tail=0", "tail must be a whole number from 1 to 100000"),
    ("tail=100001", "tail must be a whole number from 1 to 100000"),
    ("tail=x", "tail must be a whole number from 1 to 100000"),
    ("tail=5&cursor=1", "tail (the newest N items) cannot be combined with cursor or limit"),
    ("tail=5&limit=1", "tail (the newest N items) cannot be combined with cursor or limit"),
])
@pytest.mark.parametrize("path", ["/_mock/requests", "/_mock/tasks"])
def test_a_bad_tail_is_a_400_naming_the_rule(client: FlaskClient, path: str, query: str, detail: str) -> None:
    got = client.get(f"{path}?{query}")
    assert (got.status_code, got.get_json()) == (400, {"detail": detail})


def test_tasks_show_the_clock_seconds_left_and_tail_keeps_the_newest(client: FlaskClient, rw: dict[str, str],
                                                                    state: MockState) -> None:
    first = submit(client, rw, SEED_PAYLOAD).rsplit("/", 1)[1]
    state.clock.advance(0.25)
    second = submit(client, rw, {**SEED_PAYLOAD, "school": "XX"}).rsplit("/", 1)[1]
    tasks = client.get("/_mock/tasks").get_json()
    assert [(t["id"], t["status"], t["due_in_seconds"]) for t in tasks] == [(first, "accepted", 0.75),
                                                                              (second, "accepted", 1.0)]
    assert list(tasks[0])[-2:] == ["failure_reason", "due_in_seconds"]
    state.clock.advance(1)
    newest = client.get("/_mock/tasks", query_string={"tail": 1}).get_json()
    assert [(t["id"], t["status"], t["due_in_seconds"], t["failure_reason"]) for t in newest] == [
        (second, "complete", 0, "unknown school 'XX'")]
    assert post(client, rw, {"petition": SEED_PAYLOAD}).status_code == 202


@pytest.mark.slow
def test_the_ready_output_names_the_dashboard_on_stderr_only() -> None:
    with running_server() as server:
        assert server.ready_line == f"mock_api listening on {server.url}\n"
        assert requests.get(f"{server.url}/_mock/", timeout=10).status_code == 200
        server.process.terminate()
        server.process.wait(timeout=10)
        assert f"  dashboard  {server.url}/_mock/\n" in server.stderr_text()
    with running_server("--no-control") as server:
        server.process.terminate()
        server.process.wait(timeout=10)
        assert "dashboard" not in server.stderr_text()


def test_the_journal_tail_stops_at_its_byte_bound_but_keeps_the_newest() -> None:
    from mock_api.contract.journal import ENTRY_OVERHEAD_BYTES, Journal

    journal = Journal(limit=10, max_bytes=10**6)
    for index in range(4):
        journal.record({"path": f"/p{index}", "body": "x" * 1000})
    one = ENTRY_OVERHEAD_BYTES + 3 + 1000
    assert [e["path"] for e in journal.tail(10, max_bytes=2 * one)] == ["/p2", "/p3"]
    assert [e["path"] for e in journal.tail(10, max_bytes=1)] == ["/p3"]  # the newest, even alone over it
    assert [e["path"] for e in journal.tail(3, max_bytes=10**6)] == ["/p1", "/p2", "/p3"]
    assert Journal(limit=10, max_bytes=100).tail(5, 100) == []
