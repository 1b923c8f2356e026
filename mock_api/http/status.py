"""Status lines with the standard reason phrases ("202 Accepted"), as the real API's servers send them."""
from __future__ import annotations

from http import HTTPStatus

STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def status_line(code: int) -> str:
    """'202 Accepted'; a code with no standard phrase (a scenario's 499) gets 'UNKNOWN'."""
    return STATUS_LINES.get(code) or f"{code} UNKNOWN"


def status_code(line: str) -> int:
    """The code of a WSGI status line ('200 OK' -> 200); 500 for one that has none."""
    head = line[:3]
    return int(head) if head.isascii() and head.isdigit() else 500
