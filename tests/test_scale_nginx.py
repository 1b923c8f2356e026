"""Scale-out (docs/scale.md): nginx pins each session to one of 3 mock_api processes; 30 concurrent flows."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from nginx_cluster import nginx_binary, nginx_front
from support import running_server

pytestmark = pytest.mark.slow
PROCESSES = 3
SESSIONS = 30
TIMEOUT = 30
READ, WRITE = "api:academic:petitions:read", "api:academic:petitions:write"
NEW_PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}
SAME_WRITES = {"netid": "f006s0b", "petition_code": "Q41"}  # every session writes the same: a leak would show


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """nginx's URL and the 3 processes' URLs."""
    if nginx_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed: CI must install it (`make test` does, as root)", pytrace=False)
        pytest.skip("nginx is not installed (Debian package nginx; `make test` installs it when run as root)")
    with ExitStack() as stack:
        servers = [stack.enter_context(running_server("--task-seconds", "0.3", "--threads", "4"))
                   for _ in range(PROCESSES)]
        ports = [int(server.url.rsplit(":", 1)[1]) for server in servers]
        port = stack.enter_context(nginx_front(ports, Path(tmp_path_factory.mktemp("nginx"))))
        yield f"http://127.0.0.1:{port}", [server.url for server in servers]


@dataclass
class Flow:
    """One consumer's JWT -> POST -> poll -> read, through nginx, counting what it sent."""

    name: str
    by_header: bool
    sent: list[tuple[str, str]] = field(default_factory=list)  # (method, path without the prefix)
    mongo_id: str = ""
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)

    def call(self, http: requests.Session, base: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        prefix = "" if self.by_header else f"/s/{self.name}"
        headers = {"X-Mock-Session": self.name} if self.by_header else {}
        url = path if path.startswith("http") else base + prefix + path
        answer = http.request(method, url, headers={**headers, **kwargs.pop("headers", {})}, timeout=TIMEOUT,
                              **kwargs)
        self.sent.append((method, url.removeprefix(base).removeprefix(prefix).split("?")[0]))
        return answer

    def run(self, base: str) -> Flow:
        with requests.Session() as http:
            jwt = self.call(http, base, "POST", "/api/jwt", params={"scope": f"{READ} {WRITE}"},
                            headers={"Authorization": "dev-readwrite"})
            assert jwt.status_code == 200, jwt.text
            http.headers["Authorization"] = f"Bearer {jwt.json()['jwt']}"
            self.before = self.ids(http, base)
            posted = self.call(http, base, "POST", "/api/academic/petitions", json={"petition": NEW_PETITION})
            assert posted.status_code == 202, posted.text
            location = posted.headers["Location"]
            assert location.startswith(("" if self.by_header else f"/s/{self.name}") + "/api/tasks/")
            deadline = time.monotonic() + TIMEOUT
            while True:
                task = self.call(http, base, "GET", base + location).json()
                if task["status"] != "accepted" or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert task["status"] == "complete", task
            self.mongo_id = task["path"].rsplit("/", 1)[1]
            self.after = self.ids(http, base)
            own = self.call(http, base, "GET", f"/api/academic/petitions/{self.mongo_id}")
            assert own.status_code == 200, own.text
        return self

    def ids(self, http: requests.Session, base: str) -> list[str]:
        got = self.call(http, base, "GET", "/api/academic/petitions", params=SAME_WRITES)
        assert got.status_code == 200, got.text
        return sorted(record["id"] for record in got.json())


def test_sessions_read_their_own_writes_stay_on_one_process_and_spread(cluster: tuple[str, list[str]]) -> None:
    base, processes = cluster
    flows = [Flow(f"flow-{n:02d}", by_header=n % 2 == 1) for n in range(SESSIONS)]
    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        done = list(pool.map(lambda flow: flow.run(base), flows))
    for flow in done:  # its own write, and nothing of the 29 identical others
        assert len(flow.after) == len(flow.before) + 1, flow.name
        assert set(flow.before) < set(flow.after)
    listings = [{s["name"]: s for s in requests.get(f"{url}/_mock/sessions", timeout=TIMEOUT).json()}
                for url in processes]
    owners: dict[int, list[str]] = {index: [] for index in range(PROCESSES)}
    for flow in done:
        holding = [index for index, listing in enumerate(listings) if flow.name in listing]
        assert len(holding) == 1, (flow.name, holding)  # on one process only
        session = listings[holding[0]][flow.name]
        assert (session["requests"], session["tasks"]) == (len(flow.sent), 1), flow.name
        owners[holding[0]].append(flow.name)
        journal = requests.get(f"{processes[holding[0]]}/s/{flow.name}/_mock/requests", timeout=TIMEOUT).json()
        assert [(entry["method"], entry["path"]) for entry in journal] == flow.sent, flow.name
    assert all(owners.values()), owners  # spread over all 3 processes
