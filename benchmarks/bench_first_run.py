"""A new user's first run: a fresh clone of this checkout, `make serve`, the first 200; seconds, against 20 s."""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, free_port, machine, wait_for_200

TARGET_SECONDS = 20.0  # issue 26: fresh clone to the first 200 on the project's 2-core machine
DEADLINE_SECONDS = 300.0


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def first_run(python: str = "python3") -> tuple[float, float, str]:
    """Seconds from `git clone` to the first 200 of `make serve` in the clone, the CPU seconds its processes
    used (clone, make, pip, the server, until it stopped), and what it wrote on stderr."""
    cpu = _children_cpu()
    with tempfile.TemporaryDirectory(prefix="mock_api-first-run-") as folder:
        clone, port = Path(folder) / "mock_api", free_port()
        started = time.perf_counter()
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
        process = subprocess.Popen(["make", "--no-print-directory", "serve", f"PYTHON={python}",
                                    f"ARGS=--port {port} --quiet"], cwd=clone, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, start_new_session=True)
        try:
            if not wait_for_200(port, "/_mock/health", started + DEADLINE_SECONDS, process):
                raise RuntimeError(f"make serve gave no 200 within {DEADLINE_SECONDS:g} s")
            seconds = time.perf_counter() - started
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            _, err = process.communicate(timeout=30)
    return seconds, _children_cpu() - cpu, err.decode("utf-8", "replace")


def main() -> int:
    print(f"# first run: git clone, make serve (runtime dependencies only), first 200 — {machine()}")
    print(f"# load average before: {os.getloadavg()[0]:.2f} (other work on the machine slows pip down)")
    seconds, cpu, err = first_run()
    verdict = "met" if seconds <= TARGET_SECONDS else "NOT met"
    print(f"clone to first 200: {seconds:.1f} s (target <= {TARGET_SECONDS:g} s: {verdict}); pip's cache as it is")
    # On a busy machine the wall time waits for the cores; the CPU time is what the run itself costs.
    print(f"CPU used by the clone, make, pip and the server: {cpu:.1f} s")
    print("make serve's stderr before the server stopped:", *(f"  {line}" for line in err.splitlines()), sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
