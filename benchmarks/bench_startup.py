"""Process start to first 200 with the default fixtures, against a bare Flask app and moto's server."""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, compile_sources, free_port, machine, request, stop, wait_for_200
from _peers import bare_peer

RUNS = 7
ABSOLUTE_TARGET_MS, MOTO_RATIO_TARGET = 300.0, 0.60
BARE_RATIO_TARGET = 1.2  # issue 12: at most 1.2x a bare Flask app served the way mock_api serves


def first_200(cmd: list[str], port: int, path: str) -> float:
    """Milliseconds from spawning `cmd` to its first 200 on `path` (polled every few ms)."""
    started = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_for_200(port, path, started + 30, process):
            raise RuntimeError(f"{cmd[0]} gave no 200 on {path}")
        return (time.perf_counter() - started) * 1000
    finally:
        stop(process)


def mock_api(port: int) -> list[str]:
    return [sys.executable, "-m", "mock_api", "--port", str(port)]


def first_data_200() -> float:
    """Start to a first authenticated read: token, then a netid query (what a test suite waits for)."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(mock_api(port), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        body = b""
        while not body:
            if time.perf_counter() - started > 30:
                raise RuntimeError("mock_api gave no token in 30 s")
            try:
                status, _, body = request(port, "POST", "/api/jwt?scope=api:academic:petitions:read",
                                          headers={"Authorization": "dev-readonly"}, timeout=2)
            except OSError:
                time.sleep(0.002)
        auth = {"Authorization": "Bearer " + json.loads(body)["jwt"]}
        status, _, _ = request(port, "GET", "/api/academic/petitions?netid=f0027k4", headers=auth)
        assert status == 200, status
        return (time.perf_counter() - started) * 1000
    finally:
        stop(process)


def moto_command() -> list[str] | None:
    found = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    return [found] if Path(found).exists() else None


def main() -> None:
    print(f"== start-up: spawn to first 200, median of {RUNS} ({machine()}; {compile_sources()})", flush=True)
    ours, data, bare, moto = [], [], [], []
    moto_cmd = moto_command()
    bare_app = bare_peer()
    for _ in range(RUNS):  # interleaved, so all see the same machine load
        port = free_port()
        ours.append(first_200(mock_api(port), port, "/_mock/health"))
        data.append(first_data_200())
        port = free_port()
        bare.append(first_200(bare_app.command(port), port, bare_app.ready_path))
        if moto_cmd:
            port = free_port()
            moto.append(first_200([*moto_cmd, "-p", str(port)], port, "/moto-api/data.json"))
    ours_ms, data_ms = statistics.median(ours), statistics.median(data)
    print(f"  mock_api  GET /_mock/health        {ours_ms:6.0f} ms  (min {min(ours):.0f})")
    print(f"  mock_api  token + netid read      {data_ms:6.0f} ms  (min {min(data):.0f})")
    verdict = "meets" if ours_ms < ABSOLUTE_TARGET_MS else "MISSES"
    print(f"  absolute target < {ABSOLUTE_TARGET_MS:.0f} ms: {verdict}")
    bare_ms = statistics.median(bare)
    bare_ratio = ours_ms / bare_ms
    print(f"  bare Flask  GET /json              {bare_ms:6.0f} ms  (min {min(bare):.0f})")
    print(f"  mock_api / bare Flask = {bare_ratio:.2f}x (target <= {BARE_RATIO_TARGET}x): "
          f"{'meets' if bare_ratio <= BARE_RATIO_TARGET else 'MISSES'}")
    if moto:
        moto_ms = statistics.median(moto)
        ratio = ours_ms / moto_ms
        print(f"  moto_server GET /moto-api/data.json {moto_ms:6.0f} ms  (min {min(moto):.0f})")
        print(f"  mock_api / moto = {ratio:.1%} (target <= {MOTO_RATIO_TARGET:.0%}): "
              f"{'meets' if ratio <= MOTO_RATIO_TARGET else 'MISSES'}")
    else:
        print("  moto_server not installed (pip install -e '.[bench]'): absolute target only")


if __name__ == "__main__":
    main()
