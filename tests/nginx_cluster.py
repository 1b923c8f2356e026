"""nginx in front of mock_api processes on loopback, configured by docs/scale.md's own text (tests, benchmarks)."""
from __future__ import annotations

import http.client
import re
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from mock_api.cluster import front
from mock_api.cluster.front import nginx_binary
from mock_api.cluster.supervisor import free_port

ROOT = Path(__file__).resolve().parent.parent
SCALE_DOC = ROOT / "docs" / "scale.md"
__all__ = ["doc_config", "nginx_binary", "nginx_front"]
NGINX_BLOCK = re.compile(r"```nginx\n(.*?)```", re.S)


def doc_config(upstream_ports: Sequence[int], listen_port: int) -> str:
    """docs/scale.md's nginx file with these ports: its `server 127.0.0.1:N max_fails=0;` lines become one per port."""
    text = str(NGINX_BLOCK.findall(SCALE_DOC.read_text(encoding="utf-8"))[0])
    servers = re.findall(r"^ *server 127\.0\.0\.1:\d+ max_fails=0;\n", text, re.M)
    assert servers and "listen 127.0.0.1:8000;" in text, "docs/scale.md's nginx block changed shape"
    indent = servers[0][:len(servers[0]) - len(servers[0].lstrip())]
    ours = "".join(f"{indent}server 127.0.0.1:{port} max_fails=0;\n" for port in upstream_ports)
    text = text.replace("".join(servers), ours, 1)
    return text.replace("listen 127.0.0.1:8000;", f"listen 127.0.0.1:{listen_port};")


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/_mock/health")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


@contextmanager
def nginx_front(upstream_ports: Sequence[int], folder: Path, timeout: float = 20.0) -> Iterator[int]:
    """nginx (foreground, its pid, logs and temp files in `folder`) routing to the ports; yields its port."""
    binary = nginx_binary()
    assert binary is not None, "nginx is not installed"
    port = free_port("127.0.0.1")
    front.write_config(folder, doc_config(upstream_ports, port))
    log = folder / "error.log"
    with (folder / "stderr.log").open("w") as stderr:
        process = subprocess.Popen([binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(log),
                                    "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + timeout
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                said = (folder / "stderr.log").read_text() + (log.read_text() if log.exists() else "")
                raise AssertionError(f"nginx did not serve on 127.0.0.1:{port}: {said}")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
