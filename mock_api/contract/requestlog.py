"""The request log: one line per observed API request (text, coloured text or JSON), for the server's stderr."""
from __future__ import annotations

import json
import math
import re
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TextIO
from urllib.parse import urlencode

from mock_api.contract.observation import Observation

FORMATS = ("off", "text", "color", "json")
DEFAULT_SCENARIO = "default"
_RESET, _DIM, _BOLD = "\033[0m", "\033[2m", "\033[1m"
_STATUS_COLOURS = {2: "\033[32m", 3: "\033[36m", 4: "\033[33m", 5: "\033[31m"}
_VIOLATION = "\033[35m"


# Characters urlencode(safe=":/,") leaves as they are: a query made only of them needs no quoting pass.
_PLAIN = re.compile(r"[A-Za-z0-9_.~:/,-]*")
_second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its HH:MM:SS


def target(seen: Observation) -> str:
    """The path with its query, every value of a repeated parameter kept."""
    lists = seen.query_lists
    if not lists:
        return seen.request.path
    if all(_PLAIN.fullmatch(name) and all(_PLAIN.fullmatch(v) for v in values) for name, values in lists.items()):
        query = "&".join(f"{name}={value}" for name, values in lists.items() for value in values)
    else:
        query = urlencode(lists, doseq=True, safe=":/,")
    return f"{seen.request.path}?{query}" if query else seen.request.path


def clock_text(epoch: float) -> str:
    """HH:MM:SS.mmm in UTC, as datetime.fromtimestamp(epoch, utc) gives it (microseconds rounded, then cut
    to milliseconds); the HH:MM:SS part formatted once a second, as a line per request needs it."""
    global _second
    fraction, whole = math.modf(epoch)
    micros = round(fraction * 1_000_000)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    if _second[0] != whole:
        _second = (int(whole), time.strftime("%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{micros // 1000:03d}"


def _status(seen: Observation) -> str:
    return str(seen.status) if seen.answered else f"{seen.status} (dropped: {seen.fault})"


def text_line(seen: Observation, violations: Sequence[tuple[str, str]], colour: bool = False) -> str:
    """`HH:MM:SS.mmm METHOD /path?query STATUS 12.3ms [scenario]`, then `  ! [kind] message` per violation."""
    clock = clock_text(seen.time)
    status, millis = _status(seen), f"{seen.duration_seconds * 1000:.1f}ms"
    scenario = seen.scenario or seen.active_scenario
    extra = f" [scenario {scenario}]" if scenario != DEFAULT_SCENARIO else ""
    if colour:
        shade = _STATUS_COLOURS.get(seen.status // 100, "")
        head = (f"{_DIM}{clock}{_RESET} {_BOLD}{seen.request.method}{_RESET} {target(seen)} "
                f"{shade}{status}{_RESET} {_DIM}{millis}{extra}{_RESET}")
        notes = [f"  {_VIOLATION}! [{kind}] {message}{_RESET}" for kind, message in violations]
    else:
        head = f"{clock} {seen.request.method} {target(seen)} {status} {millis}{extra}"
        notes = [f"  ! [{kind}] {message}" for kind, message in violations]
    return "\n".join([head, *notes])


def json_line(seen: Observation, violations: Sequence[tuple[str, str]]) -> str:
    """One JSON object: the same facts as the text line, for CI logs that parse them."""
    return json.dumps({
        "time": datetime.fromtimestamp(seen.time, timezone.utc).isoformat(timespec="milliseconds"),
        "seq": seen.seq, "method": seen.request.method, "path": seen.request.path, "target": target(seen),
        "status": seen.status, "answered": seen.answered, "fault": seen.fault,
        "duration_ms": round(seen.duration_seconds * 1000, 3),
        "scenario": seen.scenario or seen.active_scenario,
        "violations": [{"kind": kind, "message": message} for kind, message in violations],
    })


class RequestLog:
    """Writes one entry per request to a stream (stderr); whole entries, never interleaved between threads."""

    def __init__(self, form: str, stream: TextIO | None = None) -> None:
        if form not in FORMATS:
            raise ValueError(f"request log format must be one of {', '.join(FORMATS)}, got {form!r}")
        self.form = form
        self.stream = stream
        self.lock = threading.Lock()

    def write(self, seen: Observation, violations: Sequence[tuple[str, str]]) -> None:
        if self.form == "off":
            return
        entry = json_line(seen, violations) if self.form == "json" else text_line(seen, violations,
                                                                                  self.form == "color")
        stream = self.stream or sys.stderr
        with self.lock:
            stream.write(entry + "\n")
            stream.flush()
