"""The app's own cost per request, called in-process (a WSGI call, no socket), against a bare Flask view.

What a server adds (parsing, sockets, threads) is left out: this is the request pipeline alone, from the
fault middleware to the journal, strict mode and coverage. Rounds alternate between the apps, so that a
busy machine slows all of them alike; the medians are printed, and the ratio to the bare view is the figure
to compare between two commits.
"""
from __future__ import annotations

import gc
import io
import json
import os
import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.test import EnvironBuilder

from _common import machine
from _serve import bare_app
from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.service.scopes import READ, WRITE

NETID = "f0027k4"  # the seed's student: two petitions
NEW_PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                "decision": "bench", "grade_term": "24W", "user_netid": "f006s0b"}
CALLS_PER_ROUND = int(os.environ.get("BENCH_PIPELINE_CALLS", "1000"))
ROUNDS = int(os.environ.get("BENCH_PIPELINE_ROUNDS", "9"))
WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def call(app: WsgiApp, environ: dict[str, Any], body: bytes = b"") -> tuple[str, list[tuple[str, str]], bytes]:
    """One request through the WSGI app, as a server would make it (a fresh input stream each time)."""
    environ = {**environ, "wsgi.input": io.BytesIO(body)}
    got: list[Any] = []
    result = app(environ, lambda status, headers, exc_info=None: got.extend((status, headers)))
    try:
        data = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return got[0], got[1], data


def environ(method: str, path: str, headers: dict[str, str] | None = None, query: str = "",
            body: bytes | None = None) -> dict[str, Any]:
    builder = EnvironBuilder(path=path, method=method, headers=list((headers or {}).items()), query_string=query,
                             data=body, content_type="application/json" if body else None)
    try:
        return builder.get_environ()
    finally:
        builder.close()


def time_calls(app: WsgiApp, env: dict[str, Any], calls: int) -> float:
    """Microseconds per call over `calls` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        call(app, env)
    return (time.perf_counter() - started) / calls * 1e6


Cases = dict[str, tuple[WsgiApp, dict[str, Any]]]


def timed_rounds(cases: Cases, calls: int, rounds: int) -> dict[str, list[float]]:
    """Each case warmed up once (caches, the journal's first entries, the heap), then `rounds` rounds of
    `calls` calls, the cases interleaved so that a slow moment of the machine hits them all alike."""
    gc.freeze()  # as the server does: the loaded snapshot is not scanned by every collection
    for app, env in cases.values():
        time_calls(app, env, calls)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (app, env) in cases.items():
            samples[name].append(time_calls(app, env, calls))
    return samples


def print_medians(title: str, samples: dict[str, list[float]], base: str, width: int, digits: int) -> None:
    """One line a case: median and min µs per request, and the median's ratio to the `base` case's."""
    print(f"{title} ({machine()})")
    base_us = statistics.median(samples[base])
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"  {name:{width}s} {median:7.1f} µs/request  (min {min(values):6.1f})   "
              f"{median / base_us:4.{digits}f}x {base}", flush=True)


def mock_requests(strict: bool) -> tuple[WsgiApp, dict[str, dict[str, Any]]]:
    """A mock_api app and the environs of its two measured reads (with a token, and a task to poll)."""
    app = create_app(MockConfig(strict=strict))
    status, _, body = call(app, environ("POST", "/api/jwt", {"Authorization": "dev-readwrite"},
                                        f"scope={READ} {WRITE}"))
    assert status.startswith("200"), body
    auth = {"Authorization": f"Bearer {json.loads(body)['jwt']}"}
    payload = json.dumps({"petition": NEW_PETITION}).encode()
    post = environ("POST", "/api/academic/petitions", auth, body=payload)
    status, headers, body = call(app, post, payload)
    assert status.startswith("202"), body
    location = dict(headers)["Location"]
    netid = environ("GET", "/api/academic/petitions", auth, f"netid={NETID}")
    status, _, body = call(app, netid)
    assert status.startswith("200") and len(json.loads(body)) == 2, body
    task = environ("GET", location, auth)
    assert call(app, task)[0].startswith("200")
    return app, {"netid": netid, "task": task}


def main() -> None:
    bare = bare_app()
    bare_env = environ("GET", "/json")
    assert call(bare, bare_env)[0].startswith("200")
    cases: dict[str, tuple[WsgiApp, dict[str, Any]]] = {"bare Flask JSON view": (bare, bare_env)}
    for strict in (False, True):
        app, envs = mock_requests(strict)
        mode = " (strict)" if strict else ""
        cases[f"petitions?netid={NETID}{mode}"] = (app, envs["netid"])
        cases[f"tasks/{{id}} poll{mode}"] = (app, envs["task"])
    samples = timed_rounds(cases, CALLS_PER_ROUND, ROUNDS)
    print_medians(f"== pipeline: the app's own cost per request, in-process WSGI calls, no socket; median of "
                  f"{ROUNDS} rounds of {CALLS_PER_ROUND:,} calls", samples, "bare Flask JSON view", 34, 1)


if __name__ == "__main__":
    main()
