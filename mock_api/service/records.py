"""The petition and petition-type record shapes: field order, id format, which events are petitions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PETITION_FIELDS = ("id", "netid", "petition_code", "petition_name", "origin_code", "origin_name",
                   "school", "decision", "grade_term", "effective_date", "cache_date")
PETITION_TYPE_FIELDS = ("id", "petition_code", "petition_name")
WRITE_FIELDS = ("netid", "petition_code", "origin_code", "school", "decision", "grade_term", "user_netid")


def is_petition(event_code: str) -> bool:
    """Portal business logic: an event counts as a petition if its code starts with Q or R."""
    return event_code[:1] in ("Q", "R")


def petition_id(pidm: str, code: str, grade_term: str | None, decision: str) -> str:
    """`{pidm}-{code}-{grade_term}-{decision}`: a null term is empty, spaces leave the decision."""
    return f"{pidm}-{code}-{grade_term or ''}-{decision.replace(' ', '')}"


@dataclass(frozen=True, slots=True)  # slots: 100,000 of them are held at once
class StoredPetition:
    """A petition as the read side holds it: the record without cache_date, plus store metadata."""

    record: dict[str, Any]
    mongo_id: str
    visible_from: float  # clock time from which reads may return it
    promised_from: float = 0.0  # clock time from which the real API promises it (the next cache refresh)

    def get(self, field: str) -> Any:
        return self.record.get(field)


def build_record(pidm: str, row: Any, event_codes: dict[str, str], origin_codes: dict[str, str]) -> dict[str, Any]:
    """The record of one event row, in the seed's field order, cache_date left to the reader."""
    return {
        "id": petition_id(pidm, row.petition_code, row.grade_term, row.decision),
        "netid": row.netid,
        "petition_code": row.petition_code,
        "petition_name": event_codes.get(row.petition_code),
        "origin_code": row.origin_code,
        "origin_name": origin_codes.get(row.origin_code),
        "school": row.school,
        "decision": row.decision,
        "grade_term": row.grade_term,
        "effective_date": row.effective_date,
    }


def petition_type_records(event_codes: dict[str, str]) -> list[dict[str, Any]]:
    return [{"id": code, "petition_code": code, "petition_name": name}
            for code, name in sorted(event_codes.items()) if is_petition(code)]
