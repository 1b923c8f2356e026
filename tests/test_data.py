"""Fixtures and generated data: determinism by seed, realistic shapes, errors that name file and key."""
from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest

from mock_api.config import MockConfig
from mock_api.data.fixtures import FixtureError, load_fixtures
from mock_api.service.dataset import Dataset, build_dataset

FIXTURES = MockConfig().fixtures_dir


def dump(dataset: Dataset) -> str:
    return json.dumps({"students": [dataclasses.asdict(s) for s in dataset.students.values()],
                       "petitions": [[e.record, e.mongo_id] for e in dataset.petitions.entries]})


def test_same_seed_gives_byte_identical_data() -> None:
    fixtures = load_fixtures(FIXTURES)
    assert dump(build_dataset(fixtures, 7, 50)) == dump(build_dataset(fixtures, 7, 50))
    assert dump(build_dataset(fixtures, 7, 50)) != dump(build_dataset(fixtures, 8, 50))


def test_default_data_set_is_realistic(dataset: Dataset) -> None:
    students = list(dataset.students.values())
    assert len(students) == 3 + 250
    assert len({s.netid for s in students}) == len(students) and len({s.pidm for s in students}) == len(students)
    assert all(re.fullmatch(r"f00[0-9a-z]{4}", s.netid) and re.fullmatch(r"\d{7}", s.pidm) for s in students)
    records = [e.record for e in dataset.petitions.entries]
    assert len(records) > 200 and len({r["id"] for r in records}) == len(records)
    assert records[0]["id"] == "2907841-Q25-24W=L-APPV" and records[1]["id"] == "2907841-Q24--FIVEYEAR"
    assert {r["school"] for r in records} == {"UG", "GR"}
    assert all(r["petition_name"] and r["origin_name"] for r in records)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT05:00:00Z", r["effective_date"]) for r in records[4:])


def test_generate_yaml_sets_seed_and_count() -> None:
    dataset = build_dataset(load_fixtures(FIXTURES), None, 10)
    assert dataset.seed == 20241120 and len(dataset.students) == 13


def broken_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    folder = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, folder)
    path = folder / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return folder


@pytest.mark.parametrize(("file", "old", "new", "key", "problem"), [
    ("api_keys.yaml", "scopes: []", "scopes: read", "service_accounts[2].scopes", "expected a list of scope strings"),
    ("api_keys.yaml", "key: dev-readonly", "key: dev-readwrite", "service_accounts[1].key", "duplicate key"),
    ("api_keys.yaml", "service_accounts:", "accounts:", "service_accounts", "missing"),
    ("codes.yaml", "origin_codes:", "origins:", "origin_codes", "missing"),
    ("students.yaml", "pidm: 2907841", "pidm: 29078410", "students[0].pidm", "at most 7 digits"),
    ("students.yaml", "netid: f006s0b", "netid: f0027k4", "students[1].netid", "duplicate netid"),
    ("petitions.yaml", "netid: f006kdf", "netid: nobody", "petitions[3].netid", "no student 'nobody'"),
    ("petitions.yaml", "petition_code: Q41", "petition_code: Z99", "petitions[3].petition_code", "unknown code"),
    ("petitions.yaml", '"2024-03-28T04:00:00Z"', "last spring", "petitions[3].effective_date", "expected a date"),
    ("petitions.yaml", "decision: APPV", "decision: ''", "petitions[0].decision", "non-empty string"),
    ("generate.yaml", "students: 250", "students: many", "students", "expected a whole number >= 0"),
    ("generate.yaml", "seed: 20241120", "seed: [1", "line 6, column 9",
     "YAML syntax: did not find expected ',' or ']' (while parsing a flow sequence)"),
])
def test_fixture_errors_name_file_and_key(tmp_path: Path, file: str, old: str, new: str, key: str,
                                          problem: str) -> None:
    folder = broken_copy(tmp_path, file, old, new)
    with pytest.raises(FixtureError) as caught:
        build_dataset(load_fixtures(folder))
    assert caught.value.file.endswith(file)
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{caught.value.file}: {key}: ")


def test_duplicate_petition_in_fixtures_is_named(tmp_path: Path) -> None:
    # The third row (A05, not a petition) becomes a copy of the second (the seed's Q24 FIVE YEAR).
    folder = broken_copy(tmp_path, "petitions.yaml", "petition_code: A05\n    origin_code: UREG\n    school: UG\n"
                         "    decision: DONE\n    grade_term: 21S", "petition_code: Q24\n    origin_code: UREG\n"
                         "    school: UG\n    decision: FIVE YEAR\n    grade_term: null")
    with pytest.raises(FixtureError) as caught:
        build_dataset(load_fixtures(folder))
    assert str(caught.value) == (f"{folder / 'petitions.yaml'}: petitions[2]: "
                                 "duplicate petition id '2907841-Q24--FIVEYEAR'")


def test_missing_fixture_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, folder)
    (folder / "codes.yaml").unlink()
    with pytest.raises(FixtureError, match=r"codes\.yaml: \(file\): not found"):
        load_fixtures(folder)
