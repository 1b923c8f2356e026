"""The pytest fixture's costs: session start-up, per-test reset, a request; next to a bare app and an empty Flask app.

Usage: python benchmarks/bench_fixture.py [--rounds N]
Everything runs in this process after the imports, as in a test session; figures are medians, and the
ratios (measured in the same run) are what carry over to another machine. Targets (issue 4): start-up
within 2x of a bare WSGI app on the same server in a thread, reset under 1 ms with the default fixtures.
The fixture serves with mock_api's own server (the CLI's); werkzeug's, which the fixture used before (and
pytest-httpserver uses), is measured beside it for a request.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable from a source checkout too

import requests
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.state import MockState
from mock_api.testing.harness import AppSwitch, MockApiServer, ServerThread

NEW = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG", "decision": "X",
       "grade_term": "24W", "user_netid": "F006S0B"}


def bare_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "15")])
    return [b'{"status":"ok"}']


def empty_flask() -> Flask:
    app = Flask("empty")
    app.add_url_rule("/_mock/health", "health", lambda: {"status": "ok"})
    return app


def median_ms(action: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def started(app_factory: Callable[[], Any]) -> Callable[[], ServerThread]:
    """Build the app, bind port 0, serve in a thread, wait for the health check: the start-up."""
    def start() -> ServerThread:
        server = ServerThread(app_factory())
        server.start(timeout=10)
        return server
    return start


def interleaved(variants: dict[str, Callable[[], Any]], rounds: int) -> dict[str, tuple[float, float]]:
    """Median start-up and stop in ms of each variant; one of each per round, so load drift hits all alike."""
    ups: dict[str, list[float]] = {name: [] for name in variants}
    downs: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, start in variants.items():
            began = time.perf_counter()
            server = start()
            ups[name].append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            server.stop()
            downs[name].append((time.perf_counter() - began) * 1000)
    return {name: (statistics.median(ups[name]), statistics.median(downs[name])) for name in variants}


def reset_costs(rounds: int) -> tuple[float, float]:
    """Median per-test cost of the fixture (reset + serve + handle): after a clean test, after writes."""
    server = MockApiServer(MockConfig())
    try:
        clean = median_ms(server.begin_test, rounds)
        samples = []
        for i in range(rounds):
            handle = server.begin_test()
            handle.add_petition("f006s0b", "Q41", decision=f"D{i}")
            handle.state.backend.submit({"petition": NEW}, {"sub": "bench"}, handle.state.task_behaviour())
            handle.advance(5)
            handle.tasks  # noqa: B018  # settles the task: a written petition, a done task
            began = time.perf_counter()
            server.begin_test()
            samples.append((time.perf_counter() - began) * 1000)
        return clean, statistics.median(samples)
    finally:
        server.stop()


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def request_ms(app: Any, werkzeug: bool, rounds: int) -> float:
    """Median ms of an authenticated netid read through a server in a thread, one keep-alive client in this
    process (a test's calls): the session's server, or werkzeug's threaded one serving the same app."""
    if werkzeug:
        wz = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
        thread = threading.Thread(target=wz.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{wz.server_port}"
    else:
        server = ServerThread(app)
        server.start(timeout=10)
        url = server.url
    try:
        with requests.Session() as client:
            token = client.post(f"{url}/api/jwt?scope=api:academic:petitions:read",
                                headers={"Authorization": "dev-readonly"}).json()["jwt"]
            read = f"{url}/api/academic/petitions?netid=f0027k4"
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(20):
                client.get(read, headers=headers)
            return median_ms(lambda: client.get(read, headers=headers), rounds)
    finally:
        if werkzeug:
            wz.shutdown()
            wz.server_close()
        else:
            server.stop()


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    rounds = max(3, args.rounds)

    # Warm-up: lazy imports and first-use caches are paid once per process, in any session.
    started(lambda: bare_wsgi)().stop()
    cold = time.perf_counter()
    MockApiServer(MockConfig()).stop()
    cold_ms = (time.perf_counter() - cold) * 1000

    state = MockState(MockConfig())
    app = create_app(state=state)
    results = interleaved({
        "bare": started(lambda: bare_wsgi),
        "flask": started(empty_flask),
        "server": started(lambda: AppSwitch(app)),
        "served": started(lambda: AppSwitch(create_app(state=state))),
        "fixture": lambda: MockApiServer(MockConfig()),
    }, rounds)
    (bare_up, bare_down), (flask_up, flask_down) = results["bare"], results["flask"]
    server_up, served_up, (fixture_up, fixture_down) = results["server"][0], results["served"][0], results["fixture"]
    snapshot = median_ms(lambda: MockState(MockConfig()), rounds)
    reset_clean, reset_dirty = reset_costs(max(rounds, 200))
    request_ours = request_ms(create_app(state=state), False, max(rounds, 500))
    request_werkzeug = request_ms(create_app(state=state), True, max(rounds, 500))
    per_test_flask = flask_up + flask_down

    print(f"bench_fixture: medians of {rounds} rounds (resets: {max(rounds, 200)}), in-process, after imports")
    print(f"{'measure':<58}{'ms':>9}{'x bare':>9}")
    rows = [
        ("bare WSGI app, the session's server in a thread: start-up", bare_up),
        ("empty Flask app, same server: start-up", flask_up),
        ("fixture session start-up (snapshot + app + server + probe)", fixture_up),
        ("  of which: snapshot build (fixtures + generated data)", snapshot),
        ("  of which: app + server + health probe (snapshot built)", served_up),
        ("  of which: server + health probe (app built)", server_up),
        ("fixture session start-up, first in the process (cold)", cold_ms),
        ("stop: bare app's server", bare_down),
        ("stop: fixture session server", fixture_down),
        ("per-test: fixture reset, after a test that wrote nothing", reset_clean),
        ("per-test: fixture reset, after a test that wrote", reset_dirty),
        ("per-test alternative: a fresh empty Flask server start+stop", per_test_flask),
        ("a netid read through the session's server (one client)", request_ours),
        ("  the same through werkzeug's threaded server", request_werkzeug),
    ]
    for name, ms in rows:
        print(f"{name:<58}{ms:>9.3f}{ms / bare_up:>9.2f}")
    for name, base in (("bare app", bare_up), ("empty Flask app", flask_up)):
        print(f"start-up vs {name}: server {server_up / base:.2f}x, + app {served_up / base:.2f}x, "
              f"+ snapshot build (whole session start) {fixture_up / base:.2f}x")
    print(f"start-up target (within 2x of the bare app): server part {_verdict(server_up <= 2 * bare_up)}, "
          f"with app {_verdict(served_up <= 2 * bare_up)}, whole session start {_verdict(fixture_up <= 2 * bare_up)}")
    print(f"reset: {reset_dirty:.3f} ms after writes (target < 1 ms): "
          f"{_verdict(reset_dirty < 1)}; "
          f"{per_test_flask / reset_dirty:.0f}x cheaper than a fresh empty Flask server per test")
    print(f"a request: {request_ours:.3f} ms on the session's server, {request_werkzeug:.3f} ms on werkzeug's "
          f"({request_werkzeug / request_ours:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
