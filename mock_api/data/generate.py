"""Generates a realistic, seeded set of students and petition events with faker (same seed, same bytes)."""
from __future__ import annotations

import logging
import random
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from itertools import accumulate

from faker import Faker

from mock_api.data import PROGRESS_LOGGER
from mock_api.data.fixtures import EventRow, FixtureSet, Student

NETID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
DECISIONS = ("APPV", "APPV", "APPV", "DENY", "PEND", "WDRN")
TERM_SEASONS = ("W", "S", "X", "F")
# Fixed bounds: generated data must not depend on the day it is generated.
FIRST_DATE, LAST_DATE = date(2019, 1, 1), date(2025, 6, 30)
PROGRESS_FROM = 20_000  # students: smaller sets take well under a second, no progress to show
PROGRESS_STEP = 1_000  # students between two progress records
_progress = logging.getLogger(PROGRESS_LOGGER)


def _report(done: int, total: int) -> None:
    if total >= PROGRESS_FROM and (done % PROGRESS_STEP == 0 or done == total):
        _progress.info("generating students", extra={"done": done, "total": total})


def _netid(rng: random.Random, taken: set[str]) -> str:
    while True:
        netid = "f00" + "".join(rng.choice(NETID_ALPHABET) for _ in range(4))
        if netid not in taken:
            taken.add(netid)
            return netid


def _pidm(rng: random.Random, taken: set[str]) -> str:
    while True:
        pidm = str(rng.randint(1_000_000, 9_999_999))
        if pidm not in taken:
            taken.add(pidm)
            return pidm


def _event(fake: Faker, rng: random.Random, netid: str, codes: list[str], origins: list[str],
           schools: list[str], texts: dict[str, str]) -> EventRow:
    """One event; `texts` shares each distinct date and term (~2,400 and ~30 over 100,000 rows)."""
    code = rng.choice(codes)
    when = fake.date_between_dates(FIRST_DATE, LAST_DATE)
    five_year = code == "Q24"
    grade_term = None if five_year or rng.random() < 0.1 else f"{when.year % 100:02d}{rng.choice(TERM_SEASONS)}"
    effective_date = when.strftime("%Y-%m-%dT05:00:00Z")
    return EventRow(
        netid=netid, petition_code=code, origin_code=rng.choice(origins), school=rng.choice(schools),
        decision="FIVE YEAR" if five_year else rng.choice(DECISIONS),
        grade_term=None if grade_term is None else texts.setdefault(grade_term, grade_term),
        effective_date=texts.setdefault(effective_date, effective_date))


def _fast_pick(method: Callable[[], str], name: str) -> Callable[[], str]:
    """`fake.first_name` / `last_name` with the weights summed once instead of on every call.

    Faker draws a weighted name with `random.choices(names, weights=w, k=1)`, which sums ~1,000 weights
    each time (70% of generation time); `choices(names, cum_weights=...)` with the same sums draws the
    same name from the same random state. Falls back to Faker's method if its provider is not so shaped.
    """
    provider = getattr(method, "__self__", None)
    names = getattr(provider, name, None)
    if not isinstance(names, OrderedDict) or not getattr(provider, "__use_weighting__", False):
        return method
    population, cum_weights = tuple(names), list(accumulate(names.values()))
    rng = provider.generator.random  # type: ignore[union-attr]
    return lambda: rng.choices(population, cum_weights=cum_weights, k=1)[0]


def generate(fixtures: FixtureSet, seed: int, count: int) -> tuple[tuple[Student, ...], tuple[EventRow, ...]]:
    """`count` new students, each with 0..max events; ids never clash with the fixture students."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    netids = {s.netid for s in fixtures.students}
    pidms = {s.pidm for s in fixtures.students}
    codes = sorted(fixtures.event_codes)  # non-petition codes too: the read side must skip them
    origins, schools = sorted(fixtures.origin_codes), sorted(fixtures.schools)
    students: list[Student] = []
    events: list[EventRow] = []
    first_name, last_name = _fast_pick(fake.first_name, "first_names"), _fast_pick(fake.last_name, "last_names")
    texts: dict[str, str] = {}
    for done in range(1, count + 1):
        student = Student(_netid(rng, netids), _pidm(rng, pidms), first_name(), last_name())
        students.append(student)
        for _ in range(rng.randint(0, fixtures.generate.max_petitions_per_student)):
            events.append(_event(fake, rng, student.netid, codes, origins, schools, texts))
        _report(done, count)
    return tuple(students), tuple(events)
