"""Loads the YAML fixtures into an immutable FixtureSet: shapes by data/schemas/, cross-references here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from mock_api.data.yaml_schema import check
from mock_api.data.yamltext import load_yaml, yaml_problem


class FixtureError(Exception):
    """A fixture file is missing or wrong; the message names the file and the key."""

    def __init__(self, file: Path | str, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key}: {problem}")
        self.file, self.key, self.problem = str(file), key, problem


@dataclass(frozen=True)
class ServiceAccount:
    key: str
    sub: str
    name: str
    email: str
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)  # slots: ~100,000 of them at once
class Student:
    netid: str
    pidm: str
    first_name: str
    last_name: str


@dataclass(frozen=True, slots=True)  # slots: ~100,000 of them at once
class EventRow:
    """One SHREVNT row: an event of a student; only Q and R codes are petitions."""

    netid: str
    petition_code: str
    origin_code: str
    school: str
    decision: str
    grade_term: str | None
    effective_date: str


@dataclass(frozen=True)
class GenerateSpec:
    seed: int
    students: int
    max_petitions_per_student: int


@dataclass(frozen=True)
class FixtureSet:
    accounts: dict[str, ServiceAccount]
    event_codes: dict[str, str]
    origin_codes: dict[str, str]
    schools: dict[str, str]
    students: tuple[Student, ...]
    events: tuple[EventRow, ...]
    generate: GenerateSpec
    source: Path  # the directory read, so later errors can name the file


SCHEMAS = Path(__file__).resolve().parent / "schemas"


class _Reader:
    """One parsed fixture file, checked against its schema; errors carry the file and the dotted key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise FixtureError(path, "(file)", "not found")
        try:
            text = path.read_text(encoding="utf-8")
            self.data = load_yaml(text)
        except ValueError as exc:  # YamlError, a bad encoding, or a timestamp like 2021-02-30
            raise FixtureError(path, *yaml_problem(exc)) from None
        _dates_as_text(self.data)
        problem = check(SCHEMAS / f"{path.stem}.schema.json", text, self.data)
        if problem is not None:
            raise self.fail(*problem)

    def fail(self, key: str, problem: str) -> FixtureError:
        return FixtureError(self.path, key, problem)

    def rows(self, key: str) -> list[dict[str, Any]]:
        return list(self.data[key])


def _text(value: Any) -> str:
    """The schema lets a number stand for a string (an unquoted pidm, a numeric decision)."""
    return value if isinstance(value, str) else str(value)


def _dates_as_text(data: Any) -> None:
    """YAML turns unquoted timestamps into datetimes; both forms become ...Z without fraction."""
    rows = data.get("petitions") if isinstance(data, dict) else None
    for row in rows if isinstance(rows, list) else ():
        value = row.get("effective_date") if isinstance(row, dict) else None
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
            row["effective_date"] = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        elif isinstance(value, date):
            row["effective_date"] = value.strftime("%Y-%m-%dT00:00:00Z")


def _accounts(reader: _Reader) -> dict[str, ServiceAccount]:
    accounts: dict[str, ServiceAccount] = {}
    for i, item in enumerate(reader.rows("service_accounts")):
        key = _text(item["key"])
        if key in accounts:
            raise reader.fail(f"service_accounts[{i}].key", f"duplicate key {key!r}")
        accounts[key] = ServiceAccount(key, _text(item["sub"]), _text(item["name"]), _text(item["email"]),
                                       tuple(item["scopes"]))
    return accounts


def _students(reader: _Reader) -> tuple[Student, ...]:
    students: list[Student] = []
    seen: set[str] = set()
    for i, item in enumerate(reader.rows("students")):
        netid = _text(item["netid"])
        if netid in seen:
            raise reader.fail(f"students[{i}].netid", f"duplicate netid {netid!r}")
        seen.add(netid)
        students.append(Student(netid, _text(item["pidm"]).zfill(7), _text(item["first_name"]),
                                _text(item["last_name"])))
    return tuple(students)


def _events(reader: _Reader, netids: set[str], codes: dict[str, str], origins: dict[str, str]) -> tuple[EventRow, ...]:
    rows: list[EventRow] = []
    for i, item in enumerate(reader.rows("petitions")):
        where = f"petitions[{i}]"
        fields = {k: _text(item[k]) for k in ("netid", "petition_code", "origin_code", "school", "decision")}
        if fields["netid"] not in netids:
            raise reader.fail(f"{where}.netid", f"no student {fields['netid']!r} in students.yaml")
        if fields["petition_code"] not in codes:
            raise reader.fail(f"{where}.petition_code",
                              f"unknown code {fields['petition_code']!r} (codes.yaml event_codes)")
        if fields["origin_code"] not in origins:
            raise reader.fail(f"{where}.origin_code",
                              f"unknown code {fields['origin_code']!r} (codes.yaml origin_codes)")
        try:  # the schema checked the shape (its pattern fixes every digit); this the calendar (no 2021-02-30).
            # fromisoformat gives strptime's verdict on every such text, without strptime's first call (it
            # imports _strptime and builds its locale's regular expressions at start-up).
            datetime.fromisoformat(item["effective_date"])
        except ValueError:
            raise reader.fail(f"{where}.effective_date", "expected a date like 2021-03-02T05:00:00Z") from None
        grade_term = None if item.get("grade_term") is None else _text(item["grade_term"])
        rows.append(EventRow(grade_term=grade_term, effective_date=item["effective_date"], **fields))
    return tuple(rows)


def load_fixtures(directory: Path | str) -> FixtureSet:
    """Read every fixture file of a directory; raises FixtureError on the first problem."""
    folder = Path(directory)
    if not folder.is_dir():
        raise FixtureError(folder, "(directory)", "not found")
    keys, codes = _Reader(folder / "api_keys.yaml"), _Reader(folder / "codes.yaml").data
    students = _students(_Reader(folder / "students.yaml"))
    events = _events(_Reader(folder / "petitions.yaml"), {s.netid for s in students}, codes["event_codes"],
                     codes["origin_codes"])
    generate = _Reader(folder / "generate.yaml").data
    spec = GenerateSpec(generate["seed"], generate["students"], generate["max_petitions_per_student"])
    return FixtureSet(_accounts(keys), dict(codes["event_codes"]), dict(codes["origin_codes"]), dict(codes["schools"]),
                      students, events, spec, folder)
