"""Many clients posting and polling at once over real HTTP, through the inline lane and through Flask: nothing
lost, nothing done twice."""
from __future__ import annotations

import http.client
import json
import threading
from typing import Any
from urllib.parse import urlsplit

import pytest

from mock_api.service.scopes import READ, WRITE
from support import running_server

pytestmark = pytest.mark.slow  # a real server in a subprocess, 5000 tasks

THREADS = 32
TASKS = 5000
STUDENT, PIDM = "f006s0b", "2911310"  # a fixture student with no petition in the snapshot
MAX_POLLS = 200  # per task; with --task-seconds 0 the first poll already sees it complete


class Client:
    """One keep-alive connection (http.client: far less client CPU than requests on 2 cores)."""

    def __init__(self, url: str, token: str = "") -> None:
        self.calls = 0  # requests sent, to check the journal numbered each exactly once
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
             ) -> tuple[int, Any, Any]:
        data = None if body is None else json.dumps(body)
        sent = {**self.headers, **({"Content-Type": "application/json"} if data else {}), **(headers or {})}
        self.conn.request(method, path, body=data, headers=sent)
        self.calls += 1
        response = self.conn.getresponse()
        raw = response.read()
        # response.headers: case-insensitive (the server sends X-Request-Id for Flask's X-Request-ID).
        return response.status, response.headers, json.loads(raw) if raw else None


def petition(decision: str) -> dict[str, Any]:
    return {"petition": {"netid": STUDENT, "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                         "decision": decision, "grade_term": "24W", "user_netid": STUDENT}}


def worker(url: str, token: str, number: int, count: int, out: dict[str, Any], errors: list[str],
           calls: list[int]) -> None:
    client = Client(url, token)
    # Half the clients add a trailing slash: the server's inline lane leaves those to Flask's router, so
    # both paths (the event loop and the worker threads) write to the same stores at once.
    slash = "/" if number % 2 else ""
    try:
        for i in range(count):
            decision = f"c{number}-{i}"
            status, headers, body = client.call("POST", "/api/academic/petitions" + slash, petition(decision))
            if status != 202 or body != {"status": "accepted"}:
                errors.append(f"POST {decision}: {status} {body}")
                continue
            location = headers["Location"]
            for _ in range(MAX_POLLS):
                status, _, task = client.call("GET", location + slash)
                if status != 200 or task["status"] == "complete":
                    break
            out[location] = (decision, status, task)
    except Exception as exc:  # reported by the test, not lost in a thread
        errors.append(f"thread {number}: {exc!r}")
    calls[number] = client.calls


def all_items(client: Client, path: str) -> list[dict[str, Any]]:
    """Every item of a control API list, page after page by its Link (a page is bounded by bytes too)."""
    got: list[dict[str, Any]] = []
    target: str | None = f"{path}?limit=100000"
    while target is not None:
        status, headers, page = client.call("GET", target)
        assert status == 200
        got.extend(page)
        link = headers.get("Link")
        target = link.split(">", 1)[0].lstrip("<") if link else None
    return got


@pytest.mark.lenient("tasks complete at once (--task-seconds 0), their petitions are read at once, X-Count")
def test_32_clients_post_and_poll_5000_tasks() -> None:
    with running_server("--task-seconds", "0") as server:
        admin = Client(server.url)
        status, _, got = admin.call("POST", f"/api/jwt?scope={READ}%20{WRITE}",
                                    headers={"Authorization": "dev-readwrite"})
        assert status == 200
        token = got["jwt"]
        results: dict[str, Any] = {}
        errors: list[str] = []
        calls = [0] * THREADS
        share = [TASKS // THREADS + (1 if n < TASKS % THREADS else 0) for n in range(THREADS)]
        threads = [threading.Thread(target=worker, args=(server.url, token, n, share[n], results, errors, calls))
                   for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert errors == []

        # Every POST got its own task id, and every poll saw its task complete and succeed.
        assert len(results) == TASKS
        expected_ids = {f"{PIDM}-Q41-24W-{decision}" for decision, _, _ in results.values()}
        assert len(expected_ids) == TASKS
        for location, (_, status, task) in results.items():
            assert status == 200 and task["status"] == "complete", (location, task)
            assert task["id"] == location.rsplit("/", 1)[1]
            assert task["message"].startswith("Petition created successfully. mongo id ")

        client = Client(server.url, token)
        # The control API holds exactly these tasks, each completed once with its own mongo id.
        tasks = all_items(client, "/_mock/tasks")  # control calls are not journaled: counted to leave them out below
        assert sorted(t["id"] for t in tasks) == sorted(loc.rsplit("/", 1)[1] for loc in results)
        assert all(t["status"] == "complete" and t["failure_reason"] is None for t in tasks)
        paths = [t["path"] for t in tasks]
        assert len(set(paths)) == TASKS
        # A second read of the tasks changes nothing: completion happened exactly once.
        assert all_items(client, "/_mock/tasks") == tasks
        control_calls = client.calls  # and the journal's pages, read after the API reads below

        # The student's petitions are exactly the ones posted: none lost, none duplicated.
        status, headers, first = client.call("GET", f"/api/students/{STUDENT}/petitions?pagesize=1000")
        assert status == 200 and headers["X-Count"] == str(TASKS)
        seen = [r["id"] for r in first]
        key = headers["X-Request-ID"]
        for page in range(2, TASKS // 1000 + 2):
            status, _, more = client.call(
                "GET", f"/api/students/{STUDENT}/petitions?continuation_key={key}&pagesize=1000&page={page}")
            assert status == 200, more
            seen += [r["id"] for r in more]
        assert len(seen) == TASKS and set(seen) == expected_ids
        api_calls = client.calls - control_calls

        # The journal numbered every API request exactly once (control calls are not journaled): its
        # ring keeps the newest entries, consecutive, and the last number is the count of requests sent.
        journal = all_items(client, "/_mock/requests")
        seqs = [entry["seq"] for entry in journal]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        sent = admin.calls + sum(calls) + api_calls  # this client's /_mock calls are not journaled
        assert sum(calls) >= 2 * TASKS and seqs[-1] == sent
        assert journal[-1]["path"] == f"/api/students/{STUDENT}/petitions" and journal[-1]["status"] == 200
        # Both paths served: the lane's exact paths and Flask's trailing-slash ones, interleaved.
        posted = {entry["path"] for entry in journal if entry["method"] == "POST"}
        assert posted == {"/api/academic/petitions", "/api/academic/petitions/"}
