"""The Banner tables as rows: fixture rows first (the seed's sample keeps its place), then generated ones."""
from __future__ import annotations

from dataclasses import dataclass

from mock_api.data.fixtures import EventRow, FixtureSet, Student
from mock_api.data.gencache import generate_cached


@dataclass(frozen=True)
class Snapshot:
    """Students by netid and every SHREVNT row, fixtures first; never mutated after construction."""

    fixtures: FixtureSet
    students: dict[str, Student]
    events: tuple[EventRow, ...]
    seed: int


def build_snapshot(fixtures: FixtureSet, seed: int | None = None, student_count: int | None = None) -> Snapshot:
    """The fixtures plus `student_count` seeded generated students (the counts of generate.yaml by default)."""
    seed = fixtures.generate.seed if seed is None else seed
    count = fixtures.generate.students if student_count is None else student_count
    generated_students, generated_rows = generate_cached(fixtures, seed, count)
    students = {s.netid: s for s in (*fixtures.students, *generated_students)}
    return Snapshot(fixtures, students, (*fixtures.events, *generated_rows), seed)
