"""The front: nginx's configuration (docs/scale.md's recipe, the supervisor's additions) and its process."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

PACKAGE = "nginx"  # Debian's package, named by the error when the binary is missing
SBIN = "/usr/sbin/nginx"  # not on a non-root user's PATH
# docs/scale.md shows this text with the ports 8001, 8002 and 8000 (tests/test_scale_doc.py compares them).
RECIPE = """\
# The session of a request: the /s/{name} prefix, else the X-Mock-Session header, else `default`.
map $uri $mock_api_path_session {
    "~^/s/(?<name>[^/]*)"  $name;
    default                "";
}
map $mock_api_path_session $mock_api_session {
    ""       $http_x_mock_session;
    default  $mock_api_path_session;
}
map $mock_api_session $mock_api_shard {
    ""       default;
    default  $mock_api_session;
}
# The name a 502 shows: a session name, never text that would break its JSON.
map $mock_api_shard $mock_api_shown {
    "~^[A-Za-z0-9_-]{1,64}$"  $mock_api_shard;
    default                   "(not a session name)";
}

upstream mock_api {
    # One session, one process: ketama consistent hashing of the session name.
    hash $mock_api_shard consistent;
    # max_fails=0: a process is never marked down, so its sessions are never hashed to another one.
@SERVERS@
    keepalive 32;
}

server {
    listen @LISTEN@;
@CONTROL@
    location / {
        proxy_pass http://mock_api;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        # Never retry on another process: it would answer from a fresh, empty session.
        proxy_next_upstream off;
        # Stream a large answer (a journal) instead of writing it to a temporary file.
        proxy_max_temp_file_size 0;
        # nginx's own 502 (the process is down; a process's own answers pass as they are): JSON naming the session.
        error_page 502 = @mock_api_down;
    }
    location @mock_api_down {
        default_type application/json;
        return 502 '{"detail":"session \\'${mock_api_shown}\\' is on a process that is down"}\\n';
    }
}
"""
# The supervisor answers these paths itself: the whole cluster's view, sessions and health.
CONTROL = """\
    location ~ ^/_mock/(cluster|health|sessions(/[^/]+)?)$ {
        proxy_pass http://127.0.0.1:@PORT@;
        proxy_set_header Host $http_host;
    }
"""
# The top level around the http-level file: everything nginx writes stays in `folder`.
MAIN = """\
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/mock_api.conf;
}}
"""


def nginx_binary() -> str | None:
    """nginx on PATH, or Debian's /usr/sbin/nginx; None if not installed."""
    found = shutil.which("nginx")
    if found is None and os.access(SBIN, os.X_OK):
        found = SBIN
    return found


def render(upstream_ports: Sequence[int], listen: str, control_port: int | None = None) -> str:
    """The http-level configuration: one `server` line a process, and the supervisor's paths when it has one."""
    servers = "\n".join(f"    server 127.0.0.1:{port} max_fails=0;" for port in upstream_ports)
    control = "" if control_port is None else CONTROL.replace("@PORT@", str(control_port))
    text = RECIPE.replace("@SERVERS@", servers).replace("@LISTEN@", listen)
    return text.replace("@CONTROL@\n", control)


def write_config(folder: Path, http_level: str) -> Path:
    """The two files nginx reads, in `folder`; the main one's path."""
    (folder / "mock_api.conf").write_text(http_level, encoding="utf-8")
    main = folder / "nginx.conf"
    main.write_text(MAIN.format(folder=folder), encoding="utf-8")
    return main


def start(binary: str, folder: Path, stderr: int | None = None) -> subprocess.Popen[bytes]:
    """nginx in the foreground on the files of write_config; its own process group, so a terminal's Ctrl-C
    reaches only the supervisor, which stops it in order."""
    command = [binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log"),
               "-g", "daemon off;"]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=stderr, start_new_session=True)


def said(folder: Path) -> str:
    """What nginx wrote to its error log (its start-up complaint), the last lines."""
    log = folder / "error.log"
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return " | ".join(text.strip().splitlines()[-3:])


def stop(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGQUIT, nginx's graceful stop (requests in hand are answered), then SIGTERM and SIGKILL if it lingers."""
    for signum, wait in ((signal.SIGQUIT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            return
        process.send_signal(signum)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
