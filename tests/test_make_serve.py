"""`make serve` in a terminal: nothing before the ready line, Ctrl-C stops it with exit status 0."""
from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import READY_PREFIX, ROOT


def _read_until(fd: int, marker: bytes, seconds: float) -> bytes:
    out, deadline = b"", time.monotonic() + seconds
    while marker not in out and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the terminal closed: every process on it exited
                break
            if not chunk:
                break
            out += chunk
    return out


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_serve_is_quiet_until_ready_and_ctrl_c_exits_0() -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: make on a terminal of its own, as a user runs it
        os.chdir(ROOT)
        os.execvp("make", ["make", "--no-print-directory", "serve", "ARGS=--port 0"])
    try:
        out = _read_until(fd, b"dev keys", 60)
        assert out.startswith(READY_PREFIX.encode()), out
        os.write(fd, b"\x03")  # Ctrl-C, as the terminal sends it to its foreground process group
        out += _read_until(fd, b"mock_api stopped", 30)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert b"mock_api stopped" in out and b"Traceback" not in out and b"make:" not in out
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git")
def test_a_fresh_clones_make_serve_installs_the_runtime_only_and_says_one_line(tmp_path: Path) -> None:
    clone = tmp_path / "mock_api"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    process = subprocess.Popen(["make", "--no-print-directory", "serve", f"PYTHON={sys.executable}",
                                "ARGS=--port 0"], cwd=clone, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        ready = process.stdout.readline()  # the install's time is the benchmark's (bench_first_run.py)
        assert ready.startswith(READY_PREFIX), ready + process.stderr.read()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    lines = err.splitlines()
    assert lines[0] == ("make: installing mock_api's runtime dependencies into .venv (first use, or pyproject.toml "
                        "changed)")
    assert lines[1].startswith("  API        http://127.0.0.1:"), err  # the banner next: no pip or setuptools text
    assert not any(word in err.lower() for word in ("warning", "deprecat", "error")), err
    site = next((clone / ".venv" / "lib").glob("python3*/site-packages"))
    installed = {path.name.split("-")[0].lower() for path in site.glob("*.dist-info")}
    assert {"flask", "pyjwt", "faker", "httptools", "jsonschema"} <= installed
    assert not installed & {"pytest", "ruff", "mypy", "hypothesis", "schemathesis", "playwright", "mock_api"}
