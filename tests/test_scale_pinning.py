"""docs/scale.md's nginx file with a process killed: its sessions get only JSON 502s, the others keep their state."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from nginx_cluster import nginx_binary, nginx_front
from support import SEED_PAYLOAD, RunningServer, running_server

pytestmark = pytest.mark.slow
PROCESSES = 3
NAMES = [f"pin-{n:02d}" for n in range(12)]
TIMEOUT = 30
SCOPES = "api:academic:petitions:read api:academic:petitions:write"
AHEAD = 10_000  # seconds each session's clock is moved: a fresh session's clock would not be


@dataclass
class Pinned:
    """One session written through nginx: by the /s/{name} prefix or by X-Mock-Session."""

    name: str
    base: str
    by_header: bool
    token: str = ""
    task: str = ""

    def call(self, method: str, path: str, **kwargs: object) -> requests.Response:
        prefix = "" if self.by_header else f"/s/{self.name}"
        headers = {"X-Mock-Session": self.name} if self.by_header else {}
        headers["Authorization"] = f"Bearer {self.token}" if self.token else "dev-readwrite"
        return requests.request(method, self.base + prefix + path, headers=headers, timeout=TIMEOUT,
                                **kwargs)  # type: ignore[arg-type]

    def write(self) -> None:
        jwt = self.call("POST", "/api/jwt", params={"scope": SCOPES})
        assert jwt.status_code == 200, jwt.text
        self.token = jwt.json()["jwt"]
        posted = self.call("POST", "/api/academic/petitions", json={"petition": SEED_PAYLOAD})
        assert posted.status_code == 202, posted.text
        self.task = posted.headers["Location"].rsplit("/api/", 1)[1]
        moved = self.call("POST", "/_mock/clock/advance", json={"seconds": AHEAD})
        assert moved.status_code == 200, moved.text


@pytest.fixture
def processes() -> Iterator[list[RunningServer]]:
    if nginx_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed: CI must install it (`make test` does, as root)", pytrace=False)
        pytest.skip("nginx is not installed (Debian package nginx; `make test` installs it when run as root)")
    with ExitStack() as stack:
        yield [stack.enter_context(running_server("--quiet", "--task-seconds", "0.3")) for _ in range(PROCESSES)]


def holder(processes: list[RunningServer], name: str) -> int:
    """The index of the process whose own listing has `name` (with requests, for `default`)."""
    found = [index for index, server in enumerate(processes)
             for s in requests.get(f"{server.url}/_mock/sessions", timeout=TIMEOUT).json()
             if s["name"] == name and s["requests"]]
    assert len(found) == 1, (name, found)
    return found[0]


def down(name: str) -> dict[str, str]:
    return {"detail": f"session '{name}' is on a process that is down"}


def test_a_killed_process_s_sessions_answer_502_and_no_other_process_takes_them(
        processes: list[RunningServer], tmp_path: Path) -> None:
    ports = [int(server.url.rsplit(":", 1)[1]) for server in processes]
    with nginx_front(ports, tmp_path) as port:
        base = f"http://127.0.0.1:{port}"
        sessions = [Pinned(name, base, by_header=n % 2 == 1) for n, name in enumerate(NAMES)]
        for session in sessions:
            session.write()
        assert requests.get(f"{base}/_mock/clock", timeout=TIMEOUT).status_code == 200  # `default` used
        owner = {session.name: holder(processes, session.name) for session in sessions}
        default_owner = holder(processes, "default")
        victim = max(range(PROCESSES), key=lambda index: list(owner.values()).count(index))
        os.kill(processes[victim].process.pid, signal.SIGKILL)
        processes[victim].process.wait(timeout=TIMEOUT)
        lost = [s for s in sessions if owner[s.name] == victim]
        kept = [s for s in sessions if owner[s.name] != victim]
        assert lost and kept, owner
        deadline = time.monotonic() + 2.5  # past nginx's default fail_timeout step, many times over
        rounds = 0
        while rounds < 3 or time.monotonic() < deadline:
            rounds += 1
            for session in lost:
                for got in (session.call("GET", f"/api/{session.task}"),
                            session.call("POST", "/api/academic/petitions", json={"petition": SEED_PAYLOAD}),
                            session.call("GET", "/_mock/clock"), session.call("POST", "/_mock/reset"),
                            session.call("GET", "/_mock/health"),
                            session.call("DELETE", f"/_mock/sessions/{session.name}")):
                    assert (got.status_code, got.json()) == (502, down(session.name)), got.request.url
                    assert got.headers["Content-Type"] == "application/json"
            time.sleep(0.05)
        for session in kept:  # their state: the clock moved ahead, the task complete
            clock = session.call("GET", "/_mock/clock").json()
            assert clock["epoch"] > time.time() + AHEAD / 2, session.name
            task = session.call("GET", f"/api/{session.task}")
            assert (task.status_code, task.json()["status"]) == (200, "complete"), session.name
            assert session.call("GET", "/_mock/health").json()["status"] == "ok"
        health = requests.get(f"{base}/_mock/health", timeout=TIMEOUT)
        if default_owner == victim:
            assert (health.status_code, health.json()) == (502, down("default"))
        else:
            assert health.status_code == 200
        for server in (s for index, s in enumerate(processes) if index != victim):  # nothing moved
            names = {s["name"] for s in requests.get(f"{server.url}/_mock/sessions", timeout=TIMEOUT).json()}
            assert not names & {s.name for s in lost}, names
