"""What the task worker checks before it writes a petition (the POST itself checks nothing)."""
from __future__ import annotations

from typing import Any, Protocol

from mock_api.data.fixtures import EventRow, Student
from mock_api.service.records import WRITE_FIELDS, build_record, is_petition
from mock_api.service.texts import cut_text

MAX_DECISION_LENGTH = 30  # Banner's SHREVNT decision column is short; our bound, see docs/fidelity.md
MAX_GRADE_TERM_LENGTH = 6
# A value a failure reason names is cut to this many characters: the reason must not repeat a 1 MB netid.
REASON_VALUE_CHARS = 64


class PetitionStore(Protocol):
    dataset: Any

    def student(self, netid: str) -> Student | None: ...

    def contains_petition_id(self, petition_id: str) -> bool: ...


def row_from_payload(payload: dict[str, Any], effective_date: str) -> EventRow:
    """The SHREVNT row a valid payload becomes."""
    return EventRow(payload["netid"], payload["petition_code"], payload["origin_code"], payload["school"],
                    payload["decision"], payload["grade_term"], effective_date)


def _field_problem(payload: dict[str, Any]) -> str | None:
    missing = [f for f in WRITE_FIELDS if f not in payload]
    if missing:
        return f"missing fields: {', '.join(missing)}"
    for name in WRITE_FIELDS:
        value = payload[name]
        if name == "grade_term" and value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            return f"{name} must be a non-empty string"
    if len(payload["decision"]) > MAX_DECISION_LENGTH:
        return f"decision longer than {MAX_DECISION_LENGTH} characters"
    if payload["grade_term"] is not None and len(payload["grade_term"]) > MAX_GRADE_TERM_LENGTH:
        return f"grade_term longer than {MAX_GRADE_TERM_LENGTH} characters"
    return None


def _named(value: str) -> str:
    """A posted value as a failure reason quotes it, cut when long."""
    return cut_text(repr(value), REASON_VALUE_CHARS)


def task_failure_reason(payload: Any, store: PetitionStore) -> str | None:
    """None when the petition can be written; otherwise why the task fails."""
    if not isinstance(payload, dict):
        return "payload is not an object"
    problem = _field_problem(payload)
    if problem:
        return problem
    dataset = store.dataset
    student = store.student(payload["netid"])
    if student is None:
        return f"no student {_named(payload['netid'])}"
    if payload["petition_code"] not in dataset.event_codes or not is_petition(payload["petition_code"]):
        return f"unknown petition code {_named(payload['petition_code'])}"
    if payload["origin_code"] not in dataset.origin_codes:
        return f"unknown origin code {_named(payload['origin_code'])}"
    if payload["school"] not in dataset.schools:
        return f"unknown school {_named(payload['school'])}"
    record = build_record(student.pidm, row_from_payload(payload, ""), dataset.event_codes, dataset.origin_codes)
    if store.contains_petition_id(record["id"]):
        return f"petition {record['id']} exists already"
    return None

