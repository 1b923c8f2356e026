"""The cluster's emulator processes: start one, learn its port, ask it over HTTP, restart it when it dies."""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READY = "mock_api listening on http://127.0.0.1:"
ASK_TIMEOUT = 2.0  # seconds a worker may take to answer the supervisor before it counts as down
RESTART_PAUSE = 1.0  # a worker is started again no sooner than this after its last start: no busy loop


@dataclass
class Worker:
    """One emulator process: the same port and sessions file across restarts, so nginx's configuration stays
    right and the restarted process knows which sessions its previous run held (they answer 410)."""

    index: int
    folder: Path
    options: Sequence[str]  # the user's serve options, passed on
    token: str | None
    port: int = 0
    restarts: int = 0
    process: subprocess.Popen[bytes] | None = None
    started: float = field(default=0.0)

    @property
    def sessions_file(self) -> Path:
        return self.folder / f"worker-{self.index}.sessions"

    @property
    def output(self) -> Path:
        return self.folder / f"worker-{self.index}.out"

    @property
    def pid(self) -> int:
        return 0 if self.process is None else self.process.pid

    def start(self) -> None:
        """Start the process (its ready line goes to a file; its log to the supervisor's stderr)."""
        command = [sys.executable, "-m", "mock_api", "serve", *self.options, "--workers", "1",
                   "--host", "127.0.0.1", "--port", str(self.port), "--sessions-file", str(self.sessions_file)]
        env = {key: value for key, value in os.environ.items() if key != "MOCK_API_WORKERS"}
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, env=env,
                                            start_new_session=True)
        self.started = time.monotonic()

    def wait_ready(self, timeout: float) -> int:
        """The port of its ready line; RuntimeError (what it said) if it exits or says nothing in time."""
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            text = self.output.read_text(encoding="utf-8", errors="replace")
            if text.startswith(READY) and text.endswith("\n"):
                self.port = int(text[len(READY):].split()[0])
                return self.port
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.index} exited with status {self.process.returncode}")
            time.sleep(0.02)
        raise RuntimeError(f"worker {self.index} did not start within {timeout:g} s")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def restart_due(self) -> bool:
        """Dead, and its last start long enough ago."""
        return not self.alive() and time.monotonic() - self.started >= RESTART_PAUSE

    def restart(self) -> None:
        self.restarts += 1
        self.start()

    def ask(self, method: str, path: str) -> tuple[int, Any] | None:
        """Its answer to one control call (status, JSON body); None if it does not answer."""
        if not self.alive():
            return None
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=ASK_TIMEOUT)
        headers = {} if self.token is None else {"X-Mock-Control-Token": self.token}
        try:
            connection.request(method, path, headers=headers)
            answer = connection.getresponse()
            return answer.status, json.loads(answer.read())
        except (OSError, ValueError, http.client.HTTPException):
            return None
        finally:
            connection.close()

    def send(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self, grace: float) -> None:
        """SIGTERM (the worker drains for its --shutdown-grace), SIGKILL if it is still there after `grace`."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
