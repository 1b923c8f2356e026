"""The petition and petition-type record shapes: field order, id format, which events are petitions."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
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


RECORD_FIELDS = PETITION_FIELDS[:-1]  # what a petition holds: cache_date is the reader's
_POSITION = {field: position for position, field in enumerate(RECORD_FIELDS)}
_MONGO_ID, _VISIBLE_FROM, _PROMISED_FROM = range(len(RECORD_FIELDS), len(RECORD_FIELDS) + 3)


class StoredPetition:
    """A petition as the read side holds it: the record without cache_date, plus store metadata.

    All of it is one plain tuple, `row`: the record's values in field order, then the Mongo id, visible_from
    and promised_from. The cyclic GC stops tracking such a tuple after its first pass, so each entry is one
    tracked object with one reference, where 13 slots made each written petition lengthen every full
    collection. No dict either (a 10-key dict costs more memory): `record` builds one when asked
    (rendering, which the render cache does once per refresh). Never changed after construction.
    """

    __slots__ = ("row",)
    # None where the record given lacks a field (a record of a test); build_record gives every field.
    row: tuple[Any, ...]

    def __init__(self, record: dict[str, Any], mongo_id: str, visible_from: float, promised_from: float = 0.0) -> None:
        # visible_from: clock time from which reads may return it; promised_from: from which the real API
        # promises it (the next cache refresh).
        # In RECORD_FIELDS order, one call a field.
        value = record.get
        self.row = (value("id"), value("netid"), value("petition_code"), value("petition_name"), value("origin_code"),
                    value("origin_name"), value("school"), value("decision"), value("grade_term"),
                    value("effective_date"), mongo_id, visible_from, promised_from)

    @property
    def mongo_id(self) -> str:
        return self.row[_MONGO_ID]  # type: ignore[no-any-return]

    @property
    def visible_from(self) -> float:
        return self.row[_VISIBLE_FROM]  # type: ignore[no-any-return]

    @property
    def promised_from(self) -> float:
        return self.row[_PROMISED_FROM]  # type: ignore[no-any-return]

    @property
    def record(self) -> dict[str, Any]:
        """The record in the seed's field order (a new dict: changing it changes nothing held)."""
        return dict(zip(RECORD_FIELDS, self.row, strict=False))  # the row's metadata after the record

    def get(self, field: str) -> Any:
        """A record field's value; None for any other name, as a record dict without that key gave."""
        position = _POSITION.get(field)
        return None if position is None else self.row[position]


def values_of(fields: Sequence[str]) -> Callable[[StoredPetition], tuple[Any, ...]]:
    """A function giving an entry's values of these record fields (two or more), in this order."""
    values = itemgetter(*(_POSITION[field] for field in fields))
    return lambda entry: values(entry.row)


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
