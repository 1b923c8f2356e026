"""A hostile client's mix against a server on loopback, for a bounded time: the memory budget's test and soak.

Big headers (200 KB values), token requests with junk scopes, 1,000 sessions (/s/{name}), 60 KB and 1 MB POSTs,
from a few keep-alive clients; unfinished bodies (UNFINISHED_AT_ONCE connections each send a head announcing
1 MB and most of it, then close, again and again); meanwhile a reader times the control API's reads and sizes
its pages, and the server's RSS is sampled from /proc/PID/status. Issue 23's targets: RSS < 400 MB, every
control read < 2 s, pages within their documented ~8 MiB (past their first item).
"""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"  # only ever this machine
SESSIONS = 1000  # `default` and 999 others: --max-sessions' default, so that none is refused
BIG_HEADER = "h" * 200_000
JUNK_SCOPES = "%20".join(f"junk{n:05d}" + "j" * 90 for n in range(200))  # ~20 KB of scopes no key holds
PAGE_BYTES = 8 * 1024 * 1024  # the control API's documented page bound (http/views/control.py)
CONTROL_READS = ("/_mock/health", "/_mock/requests", "/_mock/tasks", "/_mock/sessions", "/_mock/coverage",
                 "/_mock/requests?limit=100000", "/_mock/tasks?limit=100000", "/s/h1/_mock/tasks?limit=100000",
                 "/s/h1/_mock/requests?limit=100000")
RSS_TARGET_MB, READ_TARGET_S = 400.0, 2.0
UNFINISHED_AT_ONCE, UNFINISHED_BODY, UNFINISHED_SENT = 100, 1_000_000, 999_000


def rss_mb(pid: int) -> float:
    """The process's resident set size (VmRSS) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise OSError(f"no VmRSS for {pid}")


def _petition(netid_chars: int) -> bytes:
    """A POST body of about `netid_chars` bytes: a petition for a netid nobody has, so its task fails."""
    return json.dumps({"petition": {"netid": "n" * netid_chars, "petition_code": "Q41", "origin_code": "UREG",
                                    "school": "UG", "decision": "APPV", "grade_term": "24W"}}).encode()


@dataclass
class Outcome:
    """What the mix saw: answers by status, failed calls, control read times and page sizes, RSS samples."""

    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0
    slowest_read: float = 0.0
    slowest_path: str = ""
    largest_page: int = 0  # bytes of a /_mock/requests or /_mock/tasks page past its first item
    reads: int = 0
    unfinished: int = 0  # bodies sent in part, then abandoned
    sessions: set[str] = field(default_factory=set)  # the sessions that answered an API request
    rss: list[float] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)  # GET /_mock/health's `memory` at the end

    @property
    def peak_rss(self) -> float:
        return max(self.rss, default=0.0)


def _call(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def token(port: int) -> str:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        status, body = _call(conn, "POST", "/api/jwt?scope=api:academic:petitions:read%20api:academic:petitions:write",
                             headers={"Authorization": "dev-readwrite"})
    finally:
        conn.close()
    assert status == 200, status
    return str(json.loads(body)["jwt"])


def _client(port: int, slot: int, stop_at: float, auth: dict[str, str], outcome: Outcome, lock: threading.Lock) -> None:
    small, large = _petition(60_000), _petition(1_000_000)
    json_auth = {**auth, "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    number = slot
    while time.monotonic() < stop_at:
        # Half to `default`, so that its journal and task pages fill; half over the 999 others.
        session = "" if number % 2 else f"/s/h{(number // 2) % (SESSIONS - 1) + 1}"
        kind = number % 5
        try:
            if kind == 0:
                status, _ = _call(conn, "GET", f"{session}/api/academic/petitions?netid=f0027k4",
                                  headers={**auth, "X-Big": BIG_HEADER})
            elif kind == 1:
                key = "dev-readwrite" if number % 2 else f"wrong-key-{number}"
                status, _ = _call(conn, "POST", f"{session}/api/jwt?scope={JUNK_SCOPES}{number}",
                                  headers={"Authorization": key})
            elif kind == 4:
                status, _ = _call(conn, "POST", f"{session}/api/academic/petitions", large, json_auth)
            else:
                status, _ = _call(conn, "POST", f"{session}/api/academic/petitions", small, json_auth)
            with lock:
                outcome.statuses[status] += 1
                outcome.sessions.add(session or "default")
        except (OSError, http.client.HTTPException):
            with lock:
                outcome.failures += 1
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=60)
        number += 7  # co-prime with the kinds and the sessions: every client visits every pair
    conn.close()


def _unfinished(port: int, stop_at: float, outcome: Outcome) -> None:
    """Connections that announce a 1 MB POST, send all of it but the last KB, and close: what the server buffered
    for them must not outlive them."""
    head = (f"POST /api/academic/petitions HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {UNFINISHED_BODY}\r\n\r\n").encode()
    part = head + b"x" * UNFINISHED_SENT
    while time.monotonic() < stop_at:
        opened = []
        for _ in range(UNFINISHED_AT_ONCE):
            if time.monotonic() >= stop_at:  # a server that stops reading blocks each send up to its timeout
                break
            try:
                conn = socket.create_connection((HOST, port), timeout=0.5)
                opened.append(conn)
                conn.sendall(part)
                outcome.unfinished += 1
            except OSError:  # refused, ended or no longer read by the server: counted only once all of it is sent
                pass
        for conn in opened:
            conn.close()
        time.sleep(0.2)


def _page_bytes(body: bytes) -> int:
    """A page's bytes past its first item (the documented bound allows one item over it)."""
    items = json.loads(body)
    return len(body) - (len(json.dumps(items[0], separators=(",", ":"))) if items else 0)


def _sampler(pid: int, stop_at: float, outcome: Outcome) -> None:
    while time.monotonic() < stop_at:
        outcome.rss.append(rss_mb(pid))
        time.sleep(1.0)


def _reader(port: int, stop_at: float, outcome: Outcome) -> None:
    while time.monotonic() < stop_at:
        for path in CONTROL_READS:
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            started = time.perf_counter()
            try:
                status, body = _call(conn, "GET", path)
            except (OSError, http.client.HTTPException):
                outcome.failures += 1
                continue
            finally:
                conn.close()
            seconds = time.perf_counter() - started
            if seconds > outcome.slowest_read:
                outcome.slowest_read, outcome.slowest_path = seconds, path
            outcome.reads += 1
            outcome.statuses[status] += 1
            if "/_mock/requests" in path or "/_mock/tasks" in path:
                outcome.largest_page = max(outcome.largest_page, _page_bytes(body))
        time.sleep(0.5)


def run(port: int, pid: int, seconds: float, clients: int = 4, unfinished: bool = True) -> Outcome:
    """The mix for `seconds` against the server on `port` (process `pid`), then its health's `memory`;
    `unfinished`: with the unfinished bodies (what the server buffers for them is issue 23's point 2)."""
    outcome, lock = Outcome(), threading.Lock()
    auth = {"Authorization": f"Bearer {token(port)}"}
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=_client, args=(port, slot, stop_at, auth, outcome, lock))
               for slot in range(clients)]
    threads.append(threading.Thread(target=_reader, args=(port, stop_at, outcome)))
    if unfinished:
        threads.append(threading.Thread(target=_unfinished, args=(port, stop_at, outcome)))
    threads.append(threading.Thread(target=_sampler, args=(pid, stop_at, outcome)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.rss.append(rss_mb(pid))
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        outcome.memory = json.loads(_call(conn, "GET", "/_mock/health")[1])["memory"]
    finally:
        conn.close()
    return outcome
