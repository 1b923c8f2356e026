"""Coverage of the contract by a consumer's requests: operations, statuses, filters, scopes, scenarios."""
from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mock_api.contract.observation import Observation
from mock_api.contract.spec import METHODS, documented_statuses, load_spec, operation, required_scopes, resolve
from mock_api.service.query import PAGING_PARAMETERS, parse_term

API_PREFIX = "/api/"
FILTER_REF = "#/components/parameters/filter-"
# An undocumented request is reported by method, path and status; a longer path is cut to this.
UNDOCUMENTED_PATH_CHARS = 200


def api_operations() -> list[tuple[str, str]]:
    """(METHOD, template) of every documented operation of the emulated API, in document order."""
    return [(method.upper(), template) for template, item in load_spec()["paths"].items()
            if template.startswith(API_PREFIX) for method in item if method in METHODS]


@functools.lru_cache(maxsize=64)
def filter_names(template: str, method: str) -> tuple[str, ...]:
    """The record attributes a collection documents as filters (its filter-* parameters)."""
    op = operation(template, method) or {}
    return tuple(resolve(p)["name"] for p in op.get("parameters", [])
                 if str(p.get("$ref", "")).startswith(FILTER_REF))


@functools.lru_cache(maxsize=1)
def documented_scopes() -> frozenset[str]:
    """Every scope an operation of the document requires: a requested scope outside them is not recorded."""
    return frozenset(scope for method, template in api_operations() for scope in _scopes_of(template, method))


@functools.lru_cache(maxsize=64)
def _scopes_of(template: str, method: str) -> tuple[str, ...]:
    return tuple(required_scopes(operation(template, method) or {}))


def _add_bounded(values: set[str], new: Iterable[str], limit: int) -> None:
    for value in new:
        if len(values) >= limit:
            return
        values.add(value)


class Coverage:
    """Accumulates what requests touched; survives reset, so one report spans a whole test session.

    Every set holds at most `limit` distinct values (later new ones are not recorded), so that no
    client, however hostile, can grow the report without bound.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._requests = 0
            self._statuses: Counter[tuple[str, str, int]] = Counter()
            self._filters: dict[str, set[str]] = {}
            self._operators: dict[str, set[str]] = {}
            self._paging: dict[str, set[str]] = {}
            self._scopes: dict[str, set[str]] = {k: set() for k in ("requested", "granted", "allowed", "refused")}
            self._scenarios: set[str] = set()
            self._undocumented: Counter[str] = Counter()

    def merge(self, other: Coverage) -> None:
        """Add what `other` recorded (an ended session's coverage, kept for the test session's summary)."""
        if other is self:
            return
        with other._lock:
            parts = (other._requests, Counter(other._statuses), {k: set(v) for k, v in other._filters.items()},
                     {k: set(v) for k, v in other._operators.items()}, {k: set(v) for k, v in other._paging.items()},
                     {k: set(v) for k, v in other._scopes.items()}, set(other._scenarios), Counter(other._undocumented))
        requests, statuses, filters, operators, paging, scopes, scenarios, undocumented = parts
        with self._lock:
            self._requests += requests
            self._statuses.update(statuses)  # keys are (method, template, status) of the document: bounded
            for mine, theirs in ((self._filters, filters), (self._operators, operators), (self._paging, paging),
                                 (self._scopes, scopes)):
                for key, values in theirs.items():
                    _add_bounded(mine.setdefault(key, set()), sorted(values), self.limit)
            _add_bounded(self._scenarios, sorted(scenarios), self.limit)
            for key, count in undocumented.items():
                if key in self._undocumented or len(self._undocumented) < self.limit:
                    self._undocumented[key] += count

    def record(self, method: str, path: str, template: str | None, status: int, args: Mapping[str, str],
               reply: Any, scenario: str) -> None:
        """One API request (not /_mock) and its status; `reply` is the response body as JSON, or None."""
        with self._lock:
            self._requests += 1
            _add_bounded(self._scenarios, (scenario,), self.limit)
            op = operation(template, method) if template else None
            if op is None or template is None:
                key = f"{method} {path[:UNDOCUMENTED_PATH_CHARS]} {status}"
                if key in self._undocumented or len(self._undocumented) < self.limit:
                    self._undocumented[key] += 1
                return
            self._statuses[(method, template, status)] += 1
            self._record_query(method, template, args)
            self._record_scopes(method, template, status, args, reply)

    def note_granted(self, scopes: Iterable[str]) -> None:
        """Scopes of a token issued without POST /api/jwt (the pytest handle's token()): granted all the same."""
        with self._lock:
            _add_bounded(self._scopes["granted"], (str(s) for s in scopes), self.limit)

    def observe(self, ex: Observation) -> None:
        """The observed request: the scenario it ran under, else the one in force."""
        self.record(ex.request.method, ex.request.path, ex.template, ex.status, ex.request.query, ex.reply,
                    ex.scenario or ex.active_scenario)

    def _record_query(self, method: str, template: str, args: Mapping[str, str]) -> None:
        names = filter_names(template, method)
        if not names:
            return
        key = f"{method} {template}"
        for name in args:
            if name in names:
                self._filters.setdefault(key, set()).add(name)
                self._operators.setdefault(key, set()).add(parse_term(name, args.get(name, "")).op)
            elif name in PAGING_PARAMETERS:
                self._paging.setdefault(key, set()).add(name)

    def _record_scopes(self, method: str, template: str, status: int, args: Mapping[str, str],
                       reply: Any) -> None:
        scopes, limit = self._scopes, self.limit
        if template == "/api/jwt":
            # Only an authenticated request records a scope, and only a documented or granted one:
            # an unknown key or a junk scope must not grow the report.
            if status != 200 or not isinstance(reply, dict):
                return
            granted = [str(s) for s in reply.get("accepted_scopes", [])]
            _add_bounded(scopes["requested"], (s for s in args.get("scope", "").split()
                                               if s in documented_scopes() or s in granted), limit)
            _add_bounded(scopes["granted"], granted, limit)
        elif status == 403 and isinstance(reply, dict):
            _add_bounded(scopes["refused"], (str(s) for s in reply.get("missing_scopes", [])), limit)
        elif status != 401:
            _add_bounded(scopes["allowed"], _scopes_of(template, method), limit)

    def report(self) -> dict[str, Any]:
        """What was exercised, and the documented responses (error paths above all) that never were."""
        with self._lock:
            operations = [self._operation_report(method, template) for method, template in api_operations()]
            missing_errors = [f"{o['method']} {o['path']} {code}" for o in operations
                              for code in o["not_exercised"] if int(code) >= 400]
            return {
                "requests": self._requests,
                "operations": operations,
                "not_exercised": missing_errors,
                "filters": self._filter_report(),
                "scopes": {k: sorted(v) for k, v in self._scopes.items()},
                "scenarios": sorted(self._scenarios),
                "undocumented": sorted(self._undocumented),
            }

    def _operation_report(self, method: str, template: str) -> dict[str, Any]:
        seen = {status: n for (m, t, status), n in sorted(self._statuses.items()) if (m, t) == (method, template)}
        documented = documented_statuses(operation(template, method) or {})
        return {"method": method, "path": template, "calls": sum(seen.values()),
                "statuses": {str(k): v for k, v in seen.items()},
                "not_exercised": [str(code) for code in documented if code not in seen]}

    def _filter_report(self) -> dict[str, dict[str, list[str]]]:
        report = {}
        for method, template in api_operations():
            names = filter_names(template, method)
            if names:
                key = f"{method} {template}"
                used = self._filters.get(key, set())
                report[key] = {"used": [n for n in names if n in used], "not_used": [n for n in names if n not in used],
                               "operators": sorted(self._operators.get(key, set())),
                               "paging": sorted(self._paging.get(key, set()))}
        return report


def _names(items: Iterable[str]) -> str:
    return ", ".join(items) or "none"


def _statuses(statuses: Mapping[str, int]) -> str:
    return ", ".join(f"{status} x{count}" for status, count in statuses.items())


def format_coverage_summary(report: Mapping[str, Any], full: bool = False) -> str:
    """A few readable lines for the end of a test session (the pytest plugin prints them); `full` lists all."""
    operations: Sequence[Mapping[str, Any]] = report["operations"]
    called = [o for o in operations if o["calls"]]
    # Counted from the document, not from what was seen: an undocumented status (a fault's 500, a scenario's
    # 503) must not change the total from one run to the next.
    listed = [documented_statuses(operation(o["path"], o["method"]) or {}) for o in operations]
    documented = sum(len(codes) for codes in listed)
    seen = sum(len([c for c in codes if str(c) in o["statuses"]]) for o, codes in zip(operations, listed, strict=True))
    lines = [f"mock_api coverage: {len(called)} of {len(operations)} operations called, "
             f"{seen} of {documented} documented responses seen, {report['requests']} requests"]
    lines += [f"  {o['method']} {o['path']}: {_statuses(o['statuses'])}" for o in called]
    if full:
        for key, used in report["filters"].items():
            if used["used"] or used["paging"]:
                lines.append(f"  filters on {key}: {_names(used['used'])}; operators: {_names(used['operators'])}; "
                             f"paging: {_names(used['paging'])}")
    scopes = report["scopes"]
    lines.append(f"  scopes granted: {_names(scopes['granted'])}; refused (403 seen): {_names(scopes['refused'])}")
    lines.append(f"  scenarios: {_names(report['scenarios'])}")
    missed = report["not_exercised"]
    if missed and full:
        lines.append(f"  error paths never exercised ({len(missed)}):")
        lines += [f"    {item}" for item in missed]
    elif missed:
        lines.append(f"  {len(missed)} error paths never exercised — `--mock-api-coverage=full` lists them")
    if report["undocumented"]:
        lines.append("  undocumented requests: " + _names(report["undocumented"]))
    return "\n".join(lines)
