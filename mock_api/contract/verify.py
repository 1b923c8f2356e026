"""`python -m mock_api verify`: check a deployment (the mock or the real API) against openapi.yaml."""
from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mock_api.cliargs import PROG, OneLineParser, fail
from mock_api.contract.spec import check_response
from mock_api.contract.verify_http import ConnectionProblem, Http, Reply, preview
from mock_api.service.scopes import READ, WRITE

KEY_ENV = "MOCK_API_VERIFY_API_KEY"
BAD_KEY = "mock-api-verify-not-a-key"
NO_SUCH_ID = "0000000-Q00--MOCKAPIVERIFY"
FORGED = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtb2NrLWFwaS12ZXJpZnkifQ.bm90LWEtc2lnbmF0dXJl"
EXIT_OK, EXIT_DRIFT, EXIT_USAGE = 0, 1, 2
KEY_REFUSED = "the API key was refused: check it"
# Statuses of POST /api/jwt that mean the key itself was refused (a client treats 403 so; the mock sends 401).
REFUSAL_STATUSES = (401, 403)


@dataclass
class Outcome:
    verdict: str  # PASS, DRIFT, SKIP, or REFUSED (the key: nothing was compared)
    title: str
    notes: list[str] = field(default_factory=list)


@dataclass
class Options:
    base_url: str
    api_key: str
    netid: str
    write: bool
    payload: dict[str, Any] | None
    poll_seconds: float
    timeout: float


class Suite:
    """The contract checks, run in order; later ones use what earlier ones found (token, a record)."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.http = Http(options.base_url, timeout=min(options.timeout, 30.0))
        self.outcomes: list[Outcome] = []
        self.secrets: list[str] = [options.api_key]
        self.auth: dict[str, str] = {}
        self.no_scope_auth: dict[str, str] = {}

    def expect(self, title: str, method: str, path: str, reply: Reply, status: int, extra: Sequence[str] = ()) -> bool:
        """PASS if the status is `status` and the reply conforms to openapi.yaml, else DRIFT with why."""
        notes = [] if reply.status == status else [f"status {reply.status}, expected {status}; body {preview(reply)}"]
        notes += [str(p) for p in check_response(method, path, reply.status, reply.headers, reply.body)]
        notes += list(extra)
        self.outcomes.append(Outcome("DRIFT" if notes else "PASS", f"{title} -> {reply.status}", notes))
        return not notes

    def skip(self, title: str, why: str) -> None:
        self.outcomes.append(Outcome("SKIP", title, [why]))

    def token(self, scopes: Sequence[str]) -> tuple[Reply, str | None]:
        params = {"scope": " ".join(scopes)} if scopes else None
        reply = self.http.call("POST", "/api/jwt", params=params, headers={"Authorization": self.options.api_key})
        token = reply.data.get("jwt") if reply.status == 200 and isinstance(reply.data, dict) else None
        if isinstance(token, str):
            self.secrets.append(token)
            return reply, token
        return reply, None

    def run(self) -> list[Outcome]:
        self.check_jwt()
        if self.outcomes[-1].verdict == "REFUSED":
            return self.outcomes
        if not self.auth:
            self.skip("every check that needs a token", "no token with the read scope")
            return self.outcomes
        self.check_refusals()
        record = self.check_collection()
        self.check_record(record)
        self.check_lookups()
        if self.options.write:
            self.check_write()
        else:
            self.skip("POST /api/academic/petitions and task polling", "read-only run (pass --write to include)")
        return self.outcomes

    def check_jwt(self) -> None:
        self.expect("GET /api/jwt is refused", "GET", "/api/jwt", self.http.call("GET", "/api/jwt"), 405)
        bad = self.http.call("POST", "/api/jwt", params={"scope": READ}, headers={"Authorization": BAD_KEY})
        self.expect("POST /api/jwt with an unknown key", "POST", "/api/jwt", bad, 401)
        scopes = [READ, WRITE] if self.options.write else [READ]
        reply, token = self.token(scopes)
        if reply.status in REFUSAL_STATUSES:  # not drift: a revoked or mistyped key must not read as a changed API
            self.outcomes.append(Outcome("REFUSED", f"POST /api/jwt with the key -> {reply.status}",
                                         [f"{KEY_REFUSED} (--api-key or {KEY_ENV}); nothing else was checked"]))
            return
        accepted = reply.data.get("accepted_scopes", []) if isinstance(reply.data, dict) else []
        missing = [f"accepted_scopes lacks {s}: the key's account is not granted it"
                   for s in scopes if s not in accepted]
        if self.expect(f"POST /api/jwt with the key, scope {' '.join(scopes)}", "POST", "/api/jwt", reply, 200,
                       missing) and token:
            self.auth = {"Authorization": f"Bearer {token}"}

    def check_refusals(self) -> None:
        path = "/api/academic/petitions"
        self.expect("GET petitions without a token", "GET", path, self.http.call("GET", path), 401)
        forged = self.http.call("GET", path, headers={"Authorization": f"Bearer {FORGED}"})
        self.expect("GET petitions with a forged token", "GET", path, forged, 401)
        reply, token = self.token([])
        granted = reply.data.get("accepted_scopes") if isinstance(reply.data, dict) else None
        if not self.expect("POST /api/jwt without scope grants none", "POST", "/api/jwt", reply, 200,
                           [] if granted == [] else [f"accepted_scopes is {granted}, expected []"]) or not token:
            self.skip("GET petitions with a token lacking the read scope", "no scope-less token")
            return
        self.no_scope_auth = {"Authorization": f"Bearer {token}"}
        refused = self.http.call("GET", path, params={"netid": self.options.netid}, headers=self.no_scope_auth)
        self.expect("GET petitions with a token lacking the read scope", "GET", path, refused, 403)

    def check_collection(self) -> dict[str, Any] | None:
        netid = self.options.netid
        reply = self.http.call("GET", "/api/academic/petitions/", params={"netid": netid}, headers=self.auth)
        records = reply.data if isinstance(reply.data, list) else []
        wrong = [f"record {i} has another netid: the filter was not applied" for i, r in enumerate(records)
                 if isinstance(r, dict) and r.get("netid") != netid]
        self.expect(f"GET /api/academic/petitions/?netid={netid}", "GET", "/api/academic/petitions/", reply, 200, wrong)
        key = reply.header("X-Request-ID")
        if key:
            page = self.http.call("GET", "/api/academic/petitions", headers=self.auth,
                                  params={"continuation_key": key, "pagesize": "1", "page": "1"})
            differs = "page 1 of the found set differs from the first call's first record"
            same = [] if page.data == records[:1] else [differs]
            self.expect("GET the first call's found set by continuation_key", "GET", "/api/academic/petitions",
                        page, 200, same)
        if not records:
            # Any record serves the single-record read: a --write run names a student who may have none yet.
            every = self.http.call("GET", "/api/academic/petitions", params={"pagesize": "1"}, headers=self.auth)
            self.expect(f"GET one page of all petitions (netid {netid} has none)", "GET", "/api/academic/petitions",
                        every, 200)
            records = every.data if isinstance(every.data, list) else []
        if not records:
            self.skip("GET one petition", "the deployment serves no petition at all")
            return None
        return records[0] if isinstance(records[0], dict) else None

    def check_record(self, record: dict[str, Any] | None) -> None:
        base = "/api/academic/petitions/"
        if record is not None and isinstance(record.get("id"), str):
            reply = self.http.call("GET", base + record["id"], headers=self.auth)
            masked = {k: v for k, v in record.items() if k != "cache_date"}
            got = {k: v for k, v in reply.data.items() if k != "cache_date"} if isinstance(reply.data, dict) else None
            differ = [] if got == masked else ["the record differs from the collection's (cache_date masked)"]
            self.expect("GET one petition by the collection's id", "GET", base + record["id"], reply, 200, differ)
        missing = self.http.call("GET", base + NO_SUCH_ID, headers=self.auth)
        self.expect("GET a petition that does not exist", "GET", base + NO_SUCH_ID, missing, 404)

    def check_lookups(self) -> None:
        path = f"/api/students/{self.options.netid}/petitions"
        self.expect("GET a student's petitions", "GET", path, self.http.call("GET", path, headers=self.auth), 200)
        types = self.http.call("GET", "/api/petition_types", headers=self.auth)
        listed = types.data if isinstance(types.data, list) else []
        codes = [t.get("petition_code") for t in listed if isinstance(t, dict)]
        other = [f"petition type {c} does not start with Q or R" for c in codes if not str(c).startswith(("Q", "R"))]
        self.expect("GET /api/petition_types", "GET", "/api/petition_types", types, 200, other)
        task = "/api/tasks/" + "0" * 24
        self.expect("GET a task that does not exist", "GET", task, self.http.call("GET", task, headers=self.auth), 404)

    def check_write(self) -> None:
        path = "/api/academic/petitions"
        body = self.options.payload or {"petition": {
            "netid": self.options.netid, "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
            "decision": "2023-2024", "grade_term": "24W", "user_netid": self.options.netid}}
        if self.no_scope_auth:
            refused = self.http.call("POST", path, headers=self.no_scope_auth, json_body=body)
            self.expect("POST a petition with a token lacking the write scope", "POST", path, refused, 403)
        posted = self.http.call("POST", path, headers=self.auth, json_body=body)
        if self.expect("POST a petition", "POST", path, posted, 202) and posted.header("Location"):
            self.poll(str(posted.header("Location")))

    def poll(self, location: str) -> None:
        deadline = time.monotonic() + self.options.timeout
        polls = 0
        while True:
            reply = self.http.call("GET", location, headers=self.auth)
            polls += 1
            status = reply.data.get("status") if isinstance(reply.data, dict) else None
            if reply.status != 200 or status != "accepted" or time.monotonic() >= deadline:
                late = [f"still accepted after {self.options.timeout:g} s"] if status == "accepted" else []
                self.expect(f"poll the task to completion ({polls} polls)", "GET", location, reply, 200, late)
                self.note_failed_write(reply)
                return
            time.sleep(self.options.poll_seconds)


    def note_failed_write(self, reply: Reply) -> None:
        """A failed task has the contract's shape too: say plainly that nothing was written."""
        message = reply.data.get("message") if isinstance(reply.data, dict) else None
        if isinstance(message, str) and message.startswith("Petition did not update"):
            self.outcomes[-1].notes.append(
                "the task failed: no petition was written (a duplicate, or a payload this deployment refuses; "
                "try another --payload); its shape still matches the contract")


def report(options: Options, outcomes: Sequence[Outcome], secrets: Sequence[str]) -> str:
    """The readable report; any key or token that slipped into a line is replaced by ***."""
    mode = "read and write" if options.write else "read-only"
    lines = [f"mock_api verify: {options.base_url} ({mode}), against openapi.yaml"]
    if options.base_url.rstrip("/").endswith("/api"):
        lines.append(f"hint: --base-url ends in /api, and every checked path starts with /api/ (POST /api/jwt goes "
                     f"to {options.base_url.rstrip('/')}/api/jwt): give it without /api, e.g. https://api.dartmouth.edu")
    for outcome in outcomes:
        lines.append(f"{outcome.verdict:<5} {outcome.title}")
        lines += [f"      - {note}" for note in outcome.notes]
    counts = {v: sum(o.verdict == v for o in outcomes) for v in ("PASS", "DRIFT", "SKIP", "REFUSED")}
    verdict = "DRIFT: the deployment differs from the contract" if counts["DRIFT"] else "OK: no drift"
    if counts["REFUSED"]:
        verdict = f"REFUSED: {KEY_REFUSED}"
    lines.append(f"{len(outcomes)} checks: {counts['PASS']} passed, {counts['DRIFT']} drifted, "
                 f"{counts['SKIP']} skipped. {verdict}")
    text = "\n".join(lines)
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=f"{PROG} verify",
        description="Check a deployment (mock_api or the real API) against openapi.yaml: statuses, headers, "
                    "shapes. Read-only unless --write. Exits 1 on drift, 2 if the key is refused or the deployment "
                    "cannot be reached. Never prints the key or a token.")
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8000 or https://api.dartmouth.edu")
    parser.add_argument("--api-key", help=f"the raw API key (default: the {KEY_ENV} environment variable)")
    parser.add_argument("--netid", help="a student with petitions (default for reads: the seed's f0027k4; "
                                         "required with --write unless --payload is given)")
    parser.add_argument("--write", action="store_true", help="also POST a petition and poll its task (writes!)")
    parser.add_argument("--payload", type=Path, help="JSON file of the POST body (default: the seed's sample)")
    parser.add_argument("--poll-seconds", type=float, default=1.0, help="seconds between task polls (default 1)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a task (default 30)")
    return parser


def options_from_args(parser: argparse.ArgumentParser, argv: Sequence[str]) -> Options:
    args = parser.parse_args(argv)
    key = args.api_key or os.environ.get(KEY_ENV, "")
    if not key:
        parser.error(f"--api-key or the {KEY_ENV} environment variable is required")
    if not args.base_url.startswith(("http://", "https://")):
        parser.error("--base-url must start with http:// or https://")
    if not args.poll_seconds > 0 or not args.timeout > 0:
        parser.error("--poll-seconds and --timeout must be > 0")
    if args.write and args.netid is None and args.payload is None:
        parser.error("--write posts a real petition: name its student with --netid (or give --payload)")
    payload = None
    if args.payload is not None:
        try:
            payload = json.loads(args.payload.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            parser.error(f"--payload: cannot read JSON from {args.payload}: {exc}")
    return Options(args.base_url, key, args.netid or "f0027k4", args.write, payload, args.poll_seconds, args.timeout)


def main(argv: Sequence[str]) -> int:
    options = options_from_args(build_parser(), argv)
    suite = Suite(options)
    try:
        outcomes = suite.run()
    except ConnectionProblem as exc:
        return fail(f"verify: {exc}")
    print(report(options, outcomes, suite.secrets), flush=True)
    if any(o.verdict == "REFUSED" for o in outcomes):
        return EXIT_USAGE
    return EXIT_DRIFT if any(o.verdict == "DRIFT" for o in outcomes) else EXIT_OK
