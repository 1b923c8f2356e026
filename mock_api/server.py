"""Serves an app over HTTP with waitress (one process, threads: the state lives in this process)."""
from __future__ import annotations

import gc
import logging
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from waitress.server import create_server

# Measured (benchmarks/bench_reads.py, 2 cores): 4 threads serve as many reads as 8 with a p99 of
# 14-16 ms instead of 20; more threads only queue on the GIL. Requests are short and CPU-bound, and
# waitress reads and writes sockets in its own loop, so a slow client does not hold a thread.
DEFAULT_THREADS = 4


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(app: Any, host: str, port: int, threads: int = DEFAULT_THREADS,
          announce: Callable[[str], None] | None = None) -> None:
    """Bind (port 0 picks a free port), announce the real URL once, serve until SIGINT/SIGTERM."""
    # waitress warns "Task queue depth is N" on every request that waits for a free thread: normal for a
    # mock under a load test, and a flood that blocks the server once a parent's stderr pipe is full.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = create_server(app, host=host, port=port, threads=threads, ident="mock_api")
    real_port = int(server.effective_port)  # type: ignore[union-attr]
    line = f"mock_api listening on {_url(host, real_port)}"
    if announce is None:
        print(line, flush=True)
    else:
        announce(line)
    # Everything loaded so far (the snapshot: ~1.5 million objects at 100,000 petitions) lives as long as
    # the process: frozen, the cyclic GC stops walking it, which otherwise paused requests for ~100+ ms.
    gc.freeze()
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)
        print("mock_api stopped", file=sys.stderr, flush=True)
