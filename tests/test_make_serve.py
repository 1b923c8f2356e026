"""`make serve` in a terminal: nothing before the ready line, Ctrl-C stops it with exit status 0."""
from __future__ import annotations

import os
import pty
import select
import shutil
import time

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
