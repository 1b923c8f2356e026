"""The whole consumer flow over real HTTP against `python -m mock_api --port 0` in a subprocess."""
from __future__ import annotations

import time

import pytest
import requests

from mock_api.service.scopes import READ, WRITE
from support import READY_PREFIX, running_server

pytestmark = pytest.mark.slow  # a real server in a subprocess

NEW_PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}


def test_ready_line_is_exactly_one_line_with_the_real_port() -> None:
    with running_server() as server:
        assert server.ready_line == f"{READY_PREFIX}{server.url}\n"
        host, port = server.url.removeprefix("http://").split(":")
        assert host == "127.0.0.1" and int(port) > 0


@pytest.mark.lenient("X-Count, reads the new petition at once and by its Mongo id")
def test_full_consumer_flow(tmp_path: object) -> None:
    with running_server("--task-seconds", "0.3") as server:
        base = server.url
        got = requests.post(f"{base}/api/jwt", params={"scope": f"{READ} {WRITE}"},
                            headers={"Authorization": "dev-readwrite"}, timeout=10)
        assert got.status_code == 200
        assert got.json()["accepted_scopes"] == [READ, WRITE]
        auth = {"Authorization": f"Bearer {got.json()['jwt']}"}

        # Read with a filter, then page through a found set with continuation_key.
        sample = requests.get(f"{base}/api/academic/petitions/", params={"netid": "f0027k4"}, headers=auth, timeout=10)
        assert sample.status_code == 200
        assert [r["id"] for r in sample.json()] == ["2907841-Q25-24W=L-APPV", "2907841-Q24--FIVEYEAR"]
        first = requests.get(f"{base}/api/academic/petitions", params={"petition_code": "Q*", "pagesize": "5"},
                             headers=auth, timeout=10)
        total = int(first.headers["X-Count"])
        assert first.status_code == 200 and len(first.json()) == 5 and total > 5
        key = first.headers["X-Request-ID"]
        seen = [r["id"] for r in first.json()]
        page = 2
        while True:
            more = requests.get(f"{base}/api/academic/petitions", headers=auth, timeout=10,
                                params={"continuation_key": key, "pagesize": "5", "page": str(page)})
            assert more.status_code == 200
            seen += [r["id"] for r in more.json()]
            if len(more.json()) < 5:
                break
            page += 1
        assert len(seen) == total == len(set(seen))
        assert all(i.split("-")[1].startswith("Q") for i in seen)

        # Write, then poll the task to completion.
        posted = requests.post(f"{base}/api/academic/petitions", json={"petition": NEW_PETITION},
                               headers=auth, timeout=10)
        assert posted.status_code == 202 and posted.json() == {"status": "accepted"}
        location = posted.headers["Location"]
        task = requests.get(f"{base}{location}", headers=auth, timeout=10).json()
        deadline = time.monotonic() + 10
        while task["status"] != "complete" and time.monotonic() < deadline:
            time.sleep(0.05)
            task = requests.get(f"{base}{location}", headers=auth, timeout=10).json()
        assert task["status"] == "complete"
        assert task["message"].startswith("Petition created successfully. mongo id ")

        # The new petition is readable by its id, by its task path and in the student's collection.
        new_id = "2911310-Q41-24W-2023-2024"
        by_id = requests.get(f"{base}/api/academic/petitions/{new_id}", headers=auth, timeout=10)
        assert by_id.status_code == 200 and by_id.json()["netid"] == "f006s0b"
        by_path = requests.get(f"{base}/api{task['path']}", headers=auth, timeout=10)
        assert by_path.json() == by_id.json()
        student = requests.get(f"{base}/api/students/f006s0b/petitions", headers=auth, timeout=10)
        assert [r["id"] for r in student.json()] == [new_id]
