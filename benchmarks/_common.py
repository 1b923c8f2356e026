"""Shared benchmark helpers: servers in subprocesses, tokens, RSS, and a load generator (wrk or Python)."""
from __future__ import annotations

import compileall
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mock_api.service.scopes import READ, WRITE

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HOST = "127.0.0.1"  # benchmarks only ever talk to this machine
# ~1.19 petitions per generated student with the shipped fixtures: this many give ~100,000 petitions.
STUDENTS_FOR_100K = 84_400
DURATION = float(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def request(port: int, method: str, path: str, body: object = None, headers: dict[str, str] | None = None,
            timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {**({"Content-Type": "application/json"} if data else {}), **(headers or {})}
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def wait_for_200(port: int, path: str, deadline: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    while time.perf_counter() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if request(port, "GET", path, timeout=2)[0] == 200:
                return True
        except OSError:
            time.sleep(0.002)
    return False


@contextmanager
def serving(server: str = "mock_api", app: str = "mock", students: int | None = None,
            task_seconds: float | None = None, ready_path: str = "/_mock/health",
            timeout: float = 180.0) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """benchmarks/_serve.py in a subprocess on a free port, until it answers 200 on ready_path."""
    port = free_port()
    cmd = [sys.executable, str(HERE / "_serve.py"), "--server", server, "--app", app, "--port", str(port)]
    if students is not None:
        cmd += ["--students", str(students)]
    if task_seconds is not None:
        cmd += ["--task-seconds", str(task_seconds)]
    if os.environ.get("BENCH_THREADS"):
        cmd += ["--threads", os.environ["BENCH_THREADS"]]
    process = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_for_200(port, ready_path, time.perf_counter() + timeout, process):
            raise RuntimeError(f"{server}/{app} did not answer 200 on {ready_path}")
        yield port, process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def token(port: int, key: str = "dev-readwrite", scopes: Sequence[str] = (READ, WRITE)) -> str:
    status, _, body = request(port, "POST", "/api/jwt?scope=" + "%20".join(scopes), headers={"Authorization": key})
    assert status == 200, body
    return str(json.loads(body)["jwt"])


def rss_mb(pid: int) -> float:
    """Resident set size of a process and its children (gunicorn forks its worker)."""
    total = 0
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


@dataclass
class Load:
    tool: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers or failed connections

    def row(self) -> str:
        bad = f"  ({self.errors} errors)" if self.errors else ""
        return f"{self.rps:9,.0f} req/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms{bad}"


def load_tool() -> str:
    if shutil.which("wrk") and not os.environ.get("BENCH_NO_WRK"):
        return "wrk -t2"
    return "Python threads (wrk not on PATH: the client takes CPU from the server, ratios compress)"


def load(port: int, path: str, headers: dict[str, str] | None = None, duration: float = DURATION,
         connections: int = CONNECTIONS) -> Load:
    """GET path over keep-alive connections for `duration` seconds; wrk if installed, else Python threads."""
    if load_tool().startswith("wrk"):
        return _wrk(port, path, headers or {}, duration, connections)
    return _python_load(port, path, headers or {}, duration, connections)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * _UNITS[match.group(2)]


def _wrk(port: int, path: str, headers: dict[str, str], duration: float, connections: int) -> Load:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, f"http://{HOST}:{port}{path}"], capture_output=True, text=True,
                         timeout=duration + 30, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return Load("wrk", total, float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
                _ms(percentiles["50"]), _ms(percentiles["99"]), (int(non2xx.group(1)) if non2xx else 0) + socket_errors)


def _python_load(port: int, path: str, headers: dict[str, str], duration: float, connections: int) -> Load:
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    stop_at = time.perf_counter() + duration
    max_per_thread = 200_000  # a bound on the loop whatever the speed

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        mine = latencies[slot]
        while time.perf_counter() < stop_at and len(mine) < max_per_thread:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if not 200 <= response.status < 400:
                    errors[slot] += 1
            except (OSError, http.client.HTTPException):
                errors[slot] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = sorted(x for one in latencies for x in one)
    if not every:
        return Load("python", 0, 0.0, 0.0, 0.0, sum(errors))
    return Load("python", len(every), len(every) / elapsed, every[len(every) // 2] * 1000,
                every[min(len(every) - 1, int(len(every) * 0.99))] * 1000, sum(errors))


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


def compile_sources() -> str:
    """Byte-compile mock_api's sources once, as pip does for an installed package (its dependencies' are).

    With PYTHONDONTWRITEBYTECODE set, a source checkout never writes its .pyc files, so every spawn would
    compile ~60 modules again (~40 ms here): that measures the environment, not the start-up."""
    compileall.compile_dir(ROOT / "mock_api", quiet=1)
    flag = os.environ.get("PYTHONDONTWRITEBYTECODE")
    return f"sources byte-compiled first{'; PYTHONDONTWRITEBYTECODE is set' if flag else ''}"
