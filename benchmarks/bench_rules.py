"""What scenario rules that target and count cost per request, in-process, against the default scenario.

The same read (`GET /api/petition_types/Q25` with a token) under: the default scenario (no rule), a rule
matching method and path only, and a rule that also targets query, headers and the token and counts per
token (after a billion, so it never answers: the view's work stays the same).
Rounds alternate between the apps; medians are printed, with the ratio to the default.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench_pipeline import WsgiApp, call, environ, print_medians, timed_rounds
from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.service.scopes import READ

CALLS_PER_ROUND = int(os.environ.get("BENCH_RULES_CALLS", "1000"))
ROUNDS = int(os.environ.get("BENCH_RULES_ROUNDS", "9"))
NO_OP = [{"reads": {"count_header": True}}]  # an effect that changes nothing: the rule's cost alone
RULES: dict[str, list[dict[str, Any]]] = {
    "default (no rule)": [],
    "method + path rule": [{"match": {"method": "GET", "path": "/api/petition_types/*"}, "effects": NO_OP}],
    "every key, per token": [{"match": {"method": "GET", "path": "/api/petition_types/*", "query": {"v": "1*"},
                                        "headers": {"X-Client": "bench-*"}, "token": {"sub": "f0057pn", "scope": READ}},
                              "per": "token", "after": 10**9, "effects": NO_OP}],
}


def app_for(folder: Path, name: str, rules: list[dict[str, Any]]) -> tuple[WsgiApp, dict[str, Any]]:
    path = folder / f"{len(list(folder.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump({"name": f"bench{path.stem}", "description": name, "rules": rules}),
                    encoding="utf-8")
    app = create_app(MockConfig(scenario=str(path)))
    status, _, body = call(app, environ("POST", "/api/jwt", {"Authorization": "dev-readwrite"}, f"scope={READ}"))
    assert status.startswith("200"), body
    headers = {"Authorization": f"Bearer {json.loads(body)['jwt']}", "X-Client": "bench-1"}
    env = environ("GET", "/api/petition_types/Q25", headers, "v=12")
    assert call(app, env)[0].startswith("200")
    return app, env


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        cases = {name: app_for(Path(folder), name, rules) for name, rules in RULES.items()}
    samples = timed_rounds(cases, CALLS_PER_ROUND, ROUNDS)
    print_medians(f"== rules: cost of targeting and counting per request, in-process WSGI calls; median of "
                  f"{ROUNDS} rounds of {CALLS_PER_ROUND:,} calls", samples, "default (no rule)", 24, 2)


if __name__ == "__main__":
    main()
