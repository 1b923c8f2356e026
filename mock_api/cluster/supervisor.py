"""The supervisor: N workers, nginx in front, a control server for the cluster-wide paths; restarts and stops."""
from __future__ import annotations

import argparse
import errno
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

from mock_api.cliargs import fail
from mock_api.cluster import front
from mock_api.cluster.workers import Worker
from mock_api.http.admission import ANY_HOST
from mock_api.http.roster import WorkerView, create_roster_app
from mock_api.service import errors
from mock_api.testing.serving import ServerThread

START_TIMEOUT = 120.0  # seconds a worker (a large generated dataset) or nginx may take to be ready
WATCH_SECONDS = 0.1  # how often dead workers are looked for
MISSING = ("--workers needs nginx, and {where}: install Debian's package {package} "
           "(apt-get install {package}), or give --nginx PATH")


def supervise(args: argparse.Namespace, options: Sequence[str], loopback: bool) -> int:
    """Run the cluster until SIGINT/SIGTERM (its front on a `loopback` address or not); 0 after a clean stop, 2 if
    it cannot start."""
    binary = args.nginx or front.nginx_binary()
    if binary is None or not Path(binary).is_file():
        where = "it is not installed" if binary is None else f"{binary} does not exist"
        return fail(MISSING.format(where=where, package=front.PACKAGE))
    taken = port_taken(args.host, args.port)
    if taken is not None:  # said before N processes start, in the words of a lone server
        hint = " (--port 0 picks a free port)" if taken.errno == errno.EADDRINUSE else ""
        return fail(f"cannot listen on {args.host}:{args.port}: {taken.strerror or taken}{hint}")
    folder = Path(tempfile.mkdtemp(prefix="mock_api-cluster-"))  # mode 0700: this user's only
    try:
        return Cluster(args, options, binary, folder, front_hosts(args.host, loopback)).run()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def front_hosts(host: str, loopback: bool) -> tuple[str, ...]:
    """What the processes behind nginx add to --allowed-host: they bind 127.0.0.1, but nginx passes on the Host a
    client sent the front. On a loopback front, its own address (127.0.0.2, say); else any Host (as a lone
    server on that address answers any)."""
    if not loopback:
        return (ANY_HOST,)
    return (f"[{host}]" if ":" in host else host,)


class Cluster:
    """The running cluster; also the Roster its control app reads."""

    def __init__(self, args: argparse.Namespace, options: Sequence[str], binary: str, folder: Path,
                 hosts: tuple[str, ...] = ()) -> None:
        self.args, self.binary, self.folder = args, binary, folder
        self.hosts = (*args.allowed_host, *hosts)  # the Host names the processes behind nginx answer
        token = None if args.no_control else args.control_token
        options = [*options, *(f"--allowed-host={name}" for name in hosts)]
        self.workers = [Worker(index, folder, options, token) for index in range(args.workers)]
        self.stopping = threading.Event()
        self.control: ServerThread | None = None
        self.nginx: subprocess.Popen[bytes] | None = None
        self.url = ""

    def run(self) -> int:
        previous = {signum: signal.signal(signum, self._signalled) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            problem = self._start()
            if problem is not None:
                return fail(problem)
            if self.stopping.is_set():
                return 0
            self._announce()
            assert self.nginx is not None
            while not self.stopping.wait(WATCH_SECONDS):
                if self.nginx.poll() is not None:
                    return fail(f"nginx stopped (status {self.nginx.returncode}): {front.said(self.folder)}")
                self._watch()
            return 0
        finally:
            self._stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _signalled(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()

    def _start(self) -> str | None:
        """Workers, the control server, nginx; what went wrong, or None."""
        for worker in self.workers:
            worker.start()
        try:
            for worker in self.workers:
                worker.wait_ready(START_TIMEOUT)
        except RuntimeError as exc:
            return f"cannot start the cluster: {exc}"
        control = None
        if not self.args.no_control:
            # Bound here, so nginx's first request waits in its listen queue until the thread serves it.
            self.control = ServerThread(create_roster_app(self, self.args.control_token), allowed_hosts=self.hosts)
            self.control.thread.start()
            control = self.control.port
        port = self.args.port or free_port(self.args.host)
        listen = f"{self.args.host}:{port}" if ":" not in self.args.host else f"[{self.args.host}]:{port}"
        front.write_config(self.folder, front.render([w.port for w in self.workers], listen, control))
        self.nginx = front.start(self.binary, self.folder)
        self.url = f"http://{self.args.host}:{port}"
        return self._wait_for_front(self.nginx, port)

    def _wait_for_front(self, nginx: subprocess.Popen[bytes], port: int) -> str | None:
        """None once nginx accepts connections on the port; what it said if it stopped instead."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and not self.stopping.is_set():
            if nginx.poll() is not None:
                return f"nginx could not start on {self.args.host}:{port}: {front.said(self.folder)}"
            try:
                socket.create_connection((self.args.host, port), timeout=1).close()
                return None
            except OSError:
                time.sleep(0.02)
        return None if self.stopping.is_set() else f"nginx did not listen on port {port} in time"

    def _announce(self) -> None:
        print(f"mock_api listening on {self.url}", flush=True)
        if not self.args.quiet:
            ports = ", ".join(str(w.port) for w in self.workers)
            view = "" if self.args.no_control else f"; {self.url}/_mock/cluster lists them"
            print(f"  cluster    {len(self.workers)} processes on 127.0.0.1 ports {ports}, nginx in front "
                  f"(its files in {self.folder}){view}", file=sys.stderr, flush=True)

    def _watch(self) -> None:
        for worker in self.workers:
            if worker.restart_due() and not self.stopping.is_set():
                print(f"mock_api: worker on port {worker.port} (pid {worker.pid}) exited with status "
                      f"{worker.process.returncode if worker.process else '?'}: restarting it; its sessions "
                      "answer 410 until deleted", file=sys.stderr, flush=True)
                worker.restart()

    def _stop(self) -> None:
        """nginx first (it answers what it holds), then the workers (each drains), then the control server."""
        grace = float(self.args.shutdown_grace)
        if self.nginx is not None:
            front.stop(self.nginx, grace + 5)
        for worker in self.workers:  # all at once: they drain side by side
            worker.send(signal.SIGTERM)
        for worker in self.workers:
            worker.stop(grace + 5)
        if self.control is not None:
            self.control.stop()
        print("mock_api stopped", file=sys.stderr, flush=True)

    def snapshot(self) -> list[WorkerView]:
        """Every worker as its GET /_mock/sessions finds it now (down: no answer in time), asked side by side."""
        with ThreadPoolExecutor(max_workers=len(self.workers)) as pool:
            answers = list(pool.map(lambda worker: worker.ask("GET", "/_mock/sessions"), self.workers))
        views = []
        for worker, answer in zip(self.workers, answers, strict=True):
            up = answer is not None and answer[0] == 200
            views.append(WorkerView(worker.port, worker.pid, up, worker.restarts, answer[1] if up and answer else []))
        return views

    def end(self, name: str) -> tuple[int, dict[str, Any]]:
        """Asked of every process: the one holding `name` ends it (every process has a `default`, one of them
        perhaps lost), the others know no such session. A 200 wins, then a refusal (a bad name), then 503
        if a process that may hold it is down, else 404."""
        down, refused = [], None
        for worker in self.workers:
            answer = worker.ask("DELETE", "/_mock/sessions/" + urllib.parse.quote(name, safe=""))
            if answer is None:
                down.append(worker.port)
            elif answer[0] == 200:
                return answer[0], answer[1]
            elif answer[0] != 404 and refused is None:
                refused = answer
        if refused is not None:
            return refused[0], refused[1]
        if down:
            return 503, {"detail": errors.SESSION_MAYBE_DOWN.format(name=name, ports=down)}
        return 404, {"detail": errors.SESSION_UNKNOWN.format(name=name)}


def port_taken(host: str, port: int) -> OSError | None:
    """Why nginx could not listen on host:port (bound as nginx binds: SO_REUSEADDR), or None; port 0 is free."""
    if port == 0:
        return None
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc
    return None


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
