"""Benchmark launcher: serves the mock_api app or a bare Flask JSON app with a chosen WSGI server."""
from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from mock_api.http.serverlimits import DEFAULT_THREADS

# A bare Flask app answering a fixed JSON body about the size of a student's petitions (~1 KB).
BARE_BODY = [{"id": f"2907841-Q2{i}-24W-APPV", "netid": "f0027k4", "petition_code": f"Q2{i}",
              "petition_name": "Reduce Sr Yr Residence Req", "origin_code": "UREG", "origin_name": "UG - Registrar",
              "school": "UG", "decision": "APPV", "grade_term": "24W", "effective_date": "2024-01-08T05:00:00Z",
              "cache_date": "2024-11-20T19:30:53Z"} for i in range(3)]


def bare_app() -> Any:
    from flask import Flask, jsonify

    app = Flask("bare")

    @app.get("/json")
    def json_view() -> Any:
        return jsonify(BARE_BODY)
    return app


def mock_app(args: argparse.Namespace) -> Any:
    from mock_api.config import MockConfig
    from mock_api.http.app import create_app

    return create_app(MockConfig().with_overrides(students=args.students, task_seconds=args.task_seconds))


def serve_gunicorn(app: Any, port: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Single(BaseApplication):
        def load_config(self) -> None:
            # One worker: the emulator's state lives in one process (PERF_NOTES: 2 workers lose polls).
            for key, value in {"bind": f"127.0.0.1:{port}", "workers": 1, "worker_class": "gthread",
                               "threads": threads, "accesslog": None, "loglevel": "warning"}.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app
    print(f"ready http://127.0.0.1:{port}", flush=True)  # gunicorn binds before forking the worker
    Single().run()


GRANIAN_ARGS = "BENCH_SERVE_ARGS"  # granian builds the app in its worker process, from these arguments


def granian_factory() -> Any:
    """The app for granian's worker (it imports a target rather than taking an object)."""
    args = argparse.Namespace(**json.loads(os.environ[GRANIAN_ARGS]))
    app = bare_app() if args.app == "bare" else mock_app(args)
    gc.freeze()  # here, in the worker that holds the data: as serve() does after loading
    return app


def serve_granian(args: argparse.Namespace) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    os.environ[GRANIAN_ARGS] = json.dumps(vars(args))
    print(f"ready http://127.0.0.1:{args.port}", flush=True)
    # One worker (state in one process), WSGI on blocking threads: the mode the issue measured.
    Server("_serve:granian_factory", address="127.0.0.1", port=args.port, interface=Interfaces.WSGI, workers=1,
           blocking_threads=args.threads, factory=True, working_dir=Path(__file__).resolve().parent,
           log_enabled=False).serve()


def main() -> None:
    parser = argparse.ArgumentParser()
    # mock_api: our server (the CLI's); waitress: the one before issue 12, kept as a baseline.
    parser.add_argument("--server", choices=("mock_api", "waitress", "werkzeug", "gunicorn", "granian"),
                        default="mock_api")
    parser.add_argument("--app", choices=("mock", "bare"), default="mock")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)  # the CLI's, for every server
    parser.add_argument("--students", type=int)
    parser.add_argument("--task-seconds", type=float)
    args = parser.parse_args()
    if args.server == "granian":
        return serve_granian(args)
    app = bare_app() if args.app == "bare" else mock_app(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    gc.freeze()  # as mock_api.http.server.serve does, so that every server runs the same process set-up
    if args.server == "mock_api":
        from mock_api.http.app import front_of
        from mock_api.http.server import serve
        serve(front_of(app), "127.0.0.1", args.port, threads=args.threads,
              announce=lambda line: print("ready " + line.split()[-1], flush=True))
    elif args.server == "waitress":
        import waitress
        print(f"ready http://127.0.0.1:{args.port}", flush=True)
        waitress.serve(app, host="127.0.0.1", port=args.port, threads=args.threads, ident="mock_api",
                       connection_limit=4096, channel_timeout=30, asyncore_use_poll=True)
    elif args.server == "werkzeug":
        from werkzeug.serving import make_server
        server = make_server("127.0.0.1", args.port, app, threaded=True)
        print(f"ready http://127.0.0.1:{args.port}", flush=True)
        server.serve_forever()
    else:
        serve_gunicorn(app, args.port, args.threads)


if __name__ == "__main__":
    main()
