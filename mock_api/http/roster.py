"""The supervisor's control app (`--workers`): /_mock/cluster, /_mock/sessions and /_mock/health for every process."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask, Response

from mock_api.config import VERSION
from mock_api.http.paths import CONTROL_PREFIX as PREFIX
from mock_api.http.paths import NOSNIFF
from mock_api.http.views.common import json_response
from mock_api.http.views.control import origin_refusal, token_refusal
from mock_api.service import errors


@dataclass
class WorkerView:
    """One worker process as the supervisor sees it now; `sessions` as its own GET /_mock/sessions lists them."""

    port: int
    pid: int
    up: bool
    restarts: int
    sessions: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {"port": self.port, "pid": self.pid, "up": self.up, "restarts": self.restarts,
                "sessions": [{"name": s["name"], "requests": s["requests"]} for s in self.sessions]}


class Roster(Protocol):
    """What the supervisor offers its control app."""

    def snapshot(self) -> list[WorkerView]:
        """Every worker, in the order they were started, each asked now."""

    def end(self, name: str) -> tuple[int, dict[str, Any]]:
        """DELETE /_mock/sessions/{name} on the process that holds it: its status and JSON body."""


def create_roster_app(roster: Roster, control_token: str | None) -> Flask:
    """The Flask app nginx sends the cluster-wide control paths to (the workers' own apps are unchanged)."""
    app = Flask("mock_api.roster")

    @app.before_request
    def guard() -> Response | None:
        """The workers' control guards: another site's Origin is a 403, then the token's 401."""
        refused = origin_refusal() or token_refusal(control_token)
        return None if refused is None else json_response(refused.body, refused.status, refused.headers)

    @app.after_request
    def no_sniffing(response: Response) -> Response:
        response.headers[NOSNIFF[0]] = NOSNIFF[1]
        return response

    @app.get(PREFIX + "/cluster")
    def cluster() -> Response:
        workers = roster.snapshot()
        return json_response({"workers": [w.describe() for w in workers]}, 200 if all_up(workers) else 503)

    @app.get(PREFIX + "/health")
    def health() -> Response:
        workers = roster.snapshot()
        down = [w.port for w in workers if not w.up]
        body = {"status": "degraded" if down else "ok", "version": VERSION, "workers": len(workers), "down": down}
        return json_response(body, 503 if down else 200)

    @app.get(PREFIX + "/sessions")
    def sessions() -> Response:
        workers = roster.snapshot()
        down = [w.port for w in workers if not w.up]
        if down:  # a list without their sessions would say they have none
            return json_response({"detail": errors.SESSIONS_DOWN.format(ports=down)}, 503)
        return json_response(cluster_sessions(workers))

    @app.delete(PREFIX + "/sessions/<name>")
    def end(name: str) -> Response:
        status, body = roster.end(name)
        return json_response(body, status)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def refused(error: Any) -> Response:
        return json_response({"detail": error.name}, error.code)

    return app


def all_up(workers: list[WorkerView]) -> bool:
    return all(w.up for w in workers)


def cluster_sessions(workers: list[WorkerView]) -> list[dict[str, Any]]:
    """Every up process's sessions, each with the port that holds it; a process's `default` only once it has
    served a request (every process has one; only the one nginx hashes `default` to is used)."""
    return [{**session, "port": w.port} for w in workers for session in w.sessions
            if session["name"] != "default" or session["requests"]]
