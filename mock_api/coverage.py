"""Coverage of the contract by a consumer's requests: operations, statuses, filters, scopes, scenarios."""
from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from werkzeug.datastructures import MultiDict

from mock_api.query import PAGING_PARAMETERS, parse_term
from mock_api.spec import METHODS, documented_statuses, load_spec, operation, required_scopes, resolve

API_PREFIX = "/api/"
FILTER_REF = "#/components/parameters/filter-"
UNDOCUMENTED_LIMIT = 100  # distinct undocumented requests kept, so a fuzzer cannot grow the report unbounded


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


@functools.lru_cache(maxsize=64)
def _scopes_of(template: str, method: str) -> tuple[str, ...]:
    return tuple(required_scopes(operation(template, method) or {}))


class Coverage:
    """Accumulates what requests touched; survives reset, so one report spans a whole test session."""

    def __init__(self) -> None:
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

    def record(self, method: str, path: str, template: str | None, status: int, args: MultiDict[str, str],
               reply: Any, scenario: str) -> None:
        """One API request (not /_mock) and its status; `reply` is the response body as JSON, or None."""
        with self._lock:
            self._requests += 1
            self._scenarios.add(scenario)
            op = operation(template, method) if template else None
            if op is None or template is None:
                key = f"{method} {path} {status}"
                if key in self._undocumented or len(self._undocumented) < UNDOCUMENTED_LIMIT:
                    self._undocumented[key] += 1
                return
            self._statuses[(method, template, status)] += 1
            self._record_query(method, template, args)
            self._record_scopes(method, template, status, args, reply)

    def _record_query(self, method: str, template: str, args: MultiDict[str, str]) -> None:
        names = filter_names(template, method)
        if not names:
            return
        key = f"{method} {template}"
        for name in args.keys():
            if name in names:
                self._filters.setdefault(key, set()).add(name)
                self._operators.setdefault(key, set()).add(parse_term(name, args.get(name, "")).op)
            elif name in PAGING_PARAMETERS:
                self._paging.setdefault(key, set()).add(name)

    def _record_scopes(self, method: str, template: str, status: int, args: MultiDict[str, str],
                       reply: Any) -> None:
        if template == "/api/jwt":
            self._scopes["requested"].update(args.get("scope", "").split())
            if status == 200 and isinstance(reply, dict):
                self._scopes["granted"].update(str(s) for s in reply.get("accepted_scopes", []))
        elif status == 403 and isinstance(reply, dict):
            self._scopes["refused"].update(str(s) for s in reply.get("missing_scopes", []))
        elif status != 401:
            self._scopes["allowed"].update(_scopes_of(template, method))

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


def format_coverage_summary(report: Mapping[str, Any]) -> str:
    """A few readable lines for the end of a test session (the pytest plugin prints them)."""
    operations: Sequence[Mapping[str, Any]] = report["operations"]
    called = [o for o in operations if o["calls"]]
    documented = sum(len(o["statuses"]) + len(o["not_exercised"]) for o in operations)
    seen = sum(len(o["statuses"]) for o in operations)
    lines = [f"mock_api coverage: {len(called)} of {len(operations)} operations called, "
             f"{seen} of {documented} documented responses seen, {report['requests']} requests"]
    for key, used in report["filters"].items():
        if used["used"] or used["paging"]:
            lines.append(f"  filters on {key}: {_names(used['used'])}; operators: {_names(used['operators'])}; "
                         f"paging: {_names(used['paging'])}")
    scopes = report["scopes"]
    lines.append(f"  scopes granted: {_names(scopes['granted'])}; refused (403 seen): {_names(scopes['refused'])}")
    lines.append(f"  scenarios: {_names(report['scenarios'])}")
    if report["not_exercised"]:
        lines.append(f"  error paths never exercised ({len(report['not_exercised'])}):")
        lines += [f"    {item}" for item in report["not_exercised"]]
    if report["undocumented"]:
        lines.append("  undocumented requests: " + _names(report["undocumented"]))
    return "\n".join(lines)
