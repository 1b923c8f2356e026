"""The systems bench_peers.py compares: how each starts, what it serves, and mock_api's bytes they copy."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from _common import HOST, ROOT, free_port, request, stop, token, wait_for_200

NETID = "f0027k4"  # the seed's student: two petitions, the 602-byte answer
READ_PATH = f"/api/academic/petitions?netid={NETID}"
NEW_PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                "decision": "bench", "grade_term": "24W", "user_netid": "f006s0b"}
POST_BODY = json.dumps({"petition": NEW_PETITION})
WIREMOCK_JAR = ROOT / ".bench-tools/node_modules/wiremock/build"


@dataclass
class Peer:
    """A system under test: how to start it, and the paths and headers of each workload it serves."""

    name: str
    command: Callable[[int], list[str]]
    ready_path: str
    prepare: Callable[[int], dict[str, str]]  # after start: returns the read / task paths and headers
    workloads: tuple[str, ...]
    cwd: Path = ROOT


@contextmanager
def started(peer: Peer) -> Iterator[tuple[int, subprocess.Popen[bytes], float]]:
    port = free_port()
    began = time.perf_counter()
    process = subprocess.Popen(peer.command(port), cwd=peer.cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        if not wait_for_200(port, peer.ready_path, began + 300, process):
            raise RuntimeError(f"{peer.name} gave no 200 on {peer.ready_path}")
        yield port, process, (time.perf_counter() - began) * 1000
    finally:
        stop(process)


# -- the systems ------------------------------------------------------------------------------------------

def mock_api_peer(students: int | None) -> Peer:
    extra = [] if students is None else ["--students", str(students)]

    def prepare(port: int) -> dict[str, str]:
        auth = f"Bearer {token(port)}"
        status, headers, _ = request(port, "POST", "/api/academic/petitions", json.loads(POST_BODY),
                                     {"Authorization": auth})
        assert status == 202, status
        return {"auth": auth, "task": headers["Location"]}
    name = "mock_api" if students is None else "mock_api@100k"
    return Peer(name, lambda port: [sys.executable, "-m", "mock_api", "--port", str(port), "--task-seconds", "0",
                                    *extra], "/_mock/health", prepare, ("read", "task", "flow"))


def bare_peer() -> Peer:
    return Peer("bare Flask", lambda port: [sys.executable, "benchmarks/_serve.py", "--server", "mock_api",
                                            "--app", "bare", "--port", str(port)], "/json",
                lambda port: {"read": "/json"}, ("read",))


def capture(students: int | None) -> dict[str, bytes | str]:
    """mock_api's own answers (read, 202, completed task), so that the peers serve the same bytes."""
    with started(mock_api_peer(None)) as (port, _, _):
        auth = {"Authorization": f"Bearer {token(port)}"}
        _, _, read = request(port, "GET", READ_PATH, headers=auth)
        _, headers, accepted = request(port, "POST", "/api/academic/petitions", json.loads(POST_BODY), auth)
        location = headers["Location"]
        _, _, task = request(port, "GET", location, headers=auth)
        assert b'"complete"' in task, task
    return {"read": read, "accepted": accepted, "location": location, "task": task}


def wiremock_jar() -> Path | None:
    explicit = os.environ.get("BENCH_WIREMOCK_JAR")
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    return next(iter(sorted(WIREMOCK_JAR.glob("wiremock-standalone-*.jar"))), None)


def wiremock_peer(bodies: dict[str, bytes | str], root: Path) -> Peer | str:
    jar = wiremock_jar()
    if not shutil.which("java"):
        return "WireMock skipped: no `java` on PATH (apt-get install openjdk-17-jre-headless)"
    if jar is None:
        return ("WireMock skipped: no jar (needs npm: `make bench-peers` runs "
                "npm install --prefix .bench-tools wiremock@3)")
    json_type = {"Content-Type": "application/json"}
    stubs = [
        {"request": {"method": "GET", "urlPath": "/api/academic/petitions",
                     "queryParameters": {"netid": {"equalTo": NETID}}},
         "response": {"status": 200, "headers": json_type, "body": _text(bodies["read"])}},
        {"request": {"method": "POST", "url": "/api/academic/petitions"},
         "response": {"status": 202, "headers": {**json_type, "Location": bodies["location"]},
                      "body": _text(bodies["accepted"])}},
        {"request": {"method": "GET", "url": bodies["location"]},
         "response": {"status": 200, "headers": json_type, "body": _text(bodies["task"])}},
    ]
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    (root / "mappings" / "stubs.json").write_text(json.dumps({"mappings": stubs}))
    return Peer("WireMock", lambda port: ["java", "-jar", str(jar), "--port", str(port), "--root-dir", str(root),
                                          "--disable-banner"], READ_PATH,
                lambda port: {"read": READ_PATH, "task": str(bodies["location"])}, ("read", "task", "flow"))


def moto_peer(bodies: dict[str, bytes | str]) -> Peer | str:
    found = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    if not Path(found).exists():
        return "moto skipped: moto_server not installed (pip install -e '.[bench]')"

    def prepare(port: int) -> dict[str, str]:
        assert request(port, "PUT", "/bench")[0] == 200
        conn_status = _put_raw(port, "/bench/petitions.json", _bytes(bodies["read"]))
        assert conn_status == 200, conn_status
        return {"read": "/bench/petitions.json"}
    return Peer("moto S3", lambda port: [found, "-p", str(port)], "/moto-api/data.json", prepare, ("read",))


def _put_raw(port: int, path: str, data: bytes) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("PUT", path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _text(body: bytes | str) -> str:
    return body.decode() if isinstance(body, bytes) else body


def _bytes(body: bytes | str) -> bytes:
    return body if isinstance(body, bytes) else body.encode()
