"""`mock-api serve --workers 2` over real HTTP: one view of every process, restarts that say so, a clean stop."""
from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mock_api.config import VERSION
from mock_api.contract.spec import check_response
from nginx_cluster import nginx_binary
from support import SEED_PAYLOAD, RunningServer, running_server

pytestmark = pytest.mark.slow
TIMEOUT = 30
START = 90.0  # two workers and nginx on a loaded 2-core machine
SCOPES = "api:academic:petitions:read api:academic:petitions:write"
AHEAD = 10_000  # seconds each session's clock is moved: a fresh session's clock would not be


def lost(name: str) -> dict[str, str]:
    return {"detail": f"session '{name}' lost its state when its process restarted; DELETE it to start again"}


def down(name: str) -> dict[str, str]:
    return {"detail": f"session '{name}' is on a process that is down"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[RunningServer]:
    if nginx_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed: CI must install it (`make test` does, as root)", pytrace=False)
        pytest.skip("nginx is not installed (Debian package nginx; `make test` installs it when run as root)")
    with running_server("--workers", "2", "--quiet", "--task-seconds", "0.3", "--allowed-host", "mock.test",
                        timeout=START) as server:
        yield server


def view(base: str) -> tuple[int, list[dict[str, Any]]]:
    got = requests.get(f"{base}/_mock/cluster", timeout=TIMEOUT)
    assert got.headers["Content-Type"] == "application/json"
    assert check_response("GET", "/_mock/cluster", got.status_code, dict(got.headers), got.content) == []
    body = got.json()
    assert list(body) == ["workers"]
    for worker in body["workers"]:
        assert list(worker) == ["port", "pid", "up", "restarts", "sessions"]
        assert all(list(session) == ["name", "requests"] for session in worker["sessions"])
    return got.status_code, body["workers"]


def write(base: str, name: str) -> str:
    """A token, a task and a clock moved ahead in session `name`; the task's path."""
    jwt = requests.post(f"{base}/s/{name}/api/jwt", params={"scope": SCOPES},
                        headers={"Authorization": "dev-readwrite"}, timeout=TIMEOUT).json()["jwt"]
    posted = requests.post(f"{base}/s/{name}/api/academic/petitions", json={"petition": SEED_PAYLOAD},
                           headers={"Authorization": f"Bearer {jwt}"}, timeout=TIMEOUT)
    assert posted.status_code == 202, posted.text
    moved = requests.post(f"{base}/s/{name}/_mock/clock/advance", json={"seconds": AHEAD}, timeout=TIMEOUT)
    assert moved.status_code == 200, moved.text
    return str(posted.headers["Location"])


def test_the_ready_line_and_one_view_of_every_process(cluster: RunningServer) -> None:
    base = cluster.url
    assert re.fullmatch(r"mock_api listening on http://127\.0\.0\.1:\d+\n", cluster.ready_line)
    names = [f"view-{n}" for n in range(8)]
    for name in names:
        write(base, name)
    status, workers = view(base)
    assert status == 200 and len(workers) == 2
    assert len({w["port"] for w in workers}) == 2 and all(w["up"] and w["restarts"] == 0 for w in workers)
    for worker in workers:
        os.kill(worker["pid"], 0)  # a live process
    held = {s["name"]: w["port"] for w in workers for s in w["sessions"] if s["name"].startswith("view-")}
    assert sorted(held) == names  # each once: on one process only
    assert all(s["requests"] == 3 for w in workers for s in w["sessions"] if s["name"] in held)
    listed = requests.get(f"{base}/_mock/sessions", timeout=TIMEOUT).json()
    ours = {s["name"]: s for s in listed if s["name"].startswith("view-")}
    assert {name: s["port"] for name, s in ours.items()} == held
    assert list(ours["view-0"]) == ["name", "created", "last_used", "requests", "tasks", "memory_bytes", "port"]
    assert ours["view-0"]["tasks"] == 1
    health = requests.get(f"{base}/_mock/health", timeout=TIMEOUT)
    assert (health.status_code, health.json()) == (200, {"status": "ok", "version": VERSION, "workers": 2,
                                                         "down": []})
    for name in names:  # each delete reaches the process that holds it
        ended = requests.delete(f"{base}/_mock/sessions/{name}", timeout=TIMEOUT)
        assert (ended.status_code, ended.json()) == (200, {"status": "ended", "name": name})
    again = requests.delete(f"{base}/_mock/sessions/view-0", timeout=TIMEOUT)
    assert (again.status_code, again.json()) == (404, {"detail": "no session named 'view-0'"})
    bad = requests.delete(f"{base}/_mock/sessions/a.b", timeout=TIMEOUT)
    assert bad.status_code == 400
    assert not [s for s in requests.get(f"{base}/_mock/sessions", timeout=TIMEOUT).json()
                if s["name"].startswith("view-")]


def test_the_front_answers_the_allowed_hosts_and_refuses_others_on_every_path(cluster: RunningServer) -> None:
    """nginx passes on the client's Host: the processes and the supervisor's control server both check it."""
    port = cluster.url.rsplit(":", 1)[1]
    for path in ("/_mock/scenario", "/_mock/cluster"):  # a process's, then the supervisor's
        served = requests.get(f"{cluster.url}{path}", headers={"Host": f"mock.test:{port}"}, timeout=TIMEOUT)
        assert served.status_code == 200, (path, served.text)
        refused = requests.get(f"{cluster.url}{path}", headers={"Host": "evil.example"}, timeout=TIMEOUT)
        assert (refused.status_code, refused.json()) == (421, {"detail": (
            "Host 'evil.example' is not served here: this server answers localhost, 127.0.0.1, [::1], its bound "
            "address and --allowed-host names")})
    control = requests.get(f"{cluster.url}/_mock/cluster", headers={"Origin": "https://evil.example"}, timeout=TIMEOUT)
    assert control.status_code == 403 and control.headers["X-Content-Type-Options"] == "nosniff"


def test_a_killed_worker_is_restarted_and_its_sessions_answer_410_until_deleted(cluster: RunningServer) -> None:
    base = cluster.url
    tasks = {f"kill-{n}": write(base, f"kill-{n}") for n in range(8)}
    _, workers = view(base)
    victim = max(workers, key=lambda w: len(w["sessions"]))
    lost_names = [s["name"] for s in victim["sessions"] if s["name"] in tasks]
    kept = [name for name in tasks if name not in lost_names]
    assert lost_names and kept
    os.kill(victim["pid"], signal.SIGKILL)
    deadline = time.monotonic() + START
    while True:  # until it is back: only 502 (down) or 410 (back, state lost), never a fresh session
        got = requests.get(f"{base}/s/{lost_names[0]}/_mock/clock", timeout=TIMEOUT)
        assert (got.status_code, got.json()) in ((502, down(lost_names[0])), (410, lost(lost_names[0])))
        status, workers = view(base)
        again = next(w for w in workers if w["port"] == victim["port"])
        if again["up"] and got.status_code == 410:
            break
        assert time.monotonic() < deadline, workers
        time.sleep(0.1)
    assert status == 200 and (again["restarts"], again["pid"] != victim["pid"]) == (1, True)
    for name in lost_names:
        for got in (requests.get(f"{base}/s/{name}{tasks[name]}", timeout=TIMEOUT),
                    requests.post(f"{base}/s/{name}/api/academic/petitions", json={"petition": SEED_PAYLOAD},
                                  timeout=TIMEOUT),
                    requests.post(f"{base}/s/{name}/_mock/reset", timeout=TIMEOUT),
                    requests.get(f"{base}/api/petition_types", headers={"X-Mock-Session": name}, timeout=TIMEOUT)):
            assert (got.status_code, got.json()) == (410, lost(name)), got.request.url
    for name in kept:
        clock = requests.get(f"{base}/s/{name}/_mock/clock", timeout=TIMEOUT).json()
        assert clock["epoch"] > time.time() + AHEAD / 2, name
    ended = requests.delete(f"{base}/_mock/sessions/{lost_names[0]}", timeout=TIMEOUT)
    assert (ended.status_code, ended.json()) == (200, {"status": "ended", "name": lost_names[0]})
    fresh = requests.get(f"{base}/s/{lost_names[0]}/_mock/clock", timeout=TIMEOUT)
    assert fresh.status_code == 200 and fresh.json()["epoch"] < time.time() + AHEAD / 2
    assert requests.get(f"{base}/_mock/health", timeout=TIMEOUT).status_code == 200


def test_a_worker_that_does_not_answer_makes_the_view_and_health_503(cluster: RunningServer) -> None:
    base = cluster.url
    _, workers = view(base)
    stuck = workers[1]
    os.kill(stuck["pid"], signal.SIGSTOP)
    try:
        status, now = view(base)
        assert status == 503
        assert [(w["port"], w["up"], w["sessions"]) for w in now][1] == (stuck["port"], False, [])
        assert now[0]["up"] is True
        health = requests.get(f"{base}/_mock/health", timeout=TIMEOUT)
        assert (health.status_code, health.json()) == (503, {"status": "degraded", "version": VERSION,
                                                             "workers": 2, "down": [stuck["port"]]})
        listed = requests.get(f"{base}/_mock/sessions", timeout=TIMEOUT)
        assert (listed.status_code, listed.json()) == (503, {
            "detail": f"not every process answers (down: ports [{stuck['port']}]): their sessions cannot be listed"})
        nobody = requests.delete(f"{base}/_mock/sessions/nobody", timeout=TIMEOUT)
        assert (nobody.status_code, nobody.json()) == (
            503, {"detail": f"no process that is up holds session 'nobody'; down: ports [{stuck['port']}]"})
    finally:
        os.kill(stuck["pid"], signal.SIGCONT)
    assert view(base)[0] == 200


def welcome_folder(server: RunningServer) -> str:
    """The private folder the supervisor's stderr names (its welcome comes just after the ready line)."""
    deadline = time.monotonic() + TIMEOUT
    while not (found := re.findall(r"its files in (\S+)\)", "".join(server.stderr_lines))):
        assert time.monotonic() < deadline, server.stderr_lines
        time.sleep(0.05)
    return str(found[0])


@pytest.mark.parametrize(("signum", "token"), [(signal.SIGTERM, None), (signal.SIGINT, "cluster-secret")])
def test_a_signal_stops_nginx_and_every_worker_and_exits_0(signum: int, token: str | None) -> None:
    if nginx_binary() is None:
        pytest.skip("nginx is not installed")
    guard = () if token is None else ("--control-token", token)
    with running_server("--workers", "2", *guard, timeout=START) as server:
        if token is not None:  # the supervisor's paths are guarded as the workers' are
            refused = requests.get(f"{server.url}/_mock/cluster", timeout=TIMEOUT)
            assert (refused.status_code, refused.json()) == (
                401, {"detail": "X-Mock-Control-Token is missing or wrong"})
            got = requests.get(f"{server.url}/_mock/cluster", headers={"X-Mock-Control-Token": token}, timeout=TIMEOUT)
            workers = got.json()["workers"]
            assert got.status_code == 200 and all(w["up"] for w in workers)
        else:
            _, workers = view(server.url)
        pids = [w["pid"] for w in workers]
        folder = Path(welcome_folder(server))
        nginx_pid = int((folder / "nginx.pid").read_text())
        server.process.send_signal(signum)
        assert server.process.wait(timeout=TIMEOUT) == 0
        for pid in [*pids, nginx_pid]:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert not folder.exists()
        assert server.stderr_text().endswith("mock_api stopped\n")
