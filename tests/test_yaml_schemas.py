"""The JSON Schemas of the YAML files: valid Draft 2020-12, shipped, true to every shipped file and to the code."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from mock_api.config import default_fixtures_dir, default_scenarios_dir
from mock_api.data.cachedir import CACHE_ENV
from mock_api.data.fixtures import SCHEMAS, FixtureError, load_fixtures
from mock_api.data.yaml_schema import VERDICTS_FILE, VERDICTS_KEPT, dotted, first_problem, load_validator
from mock_api.data.yamltext import load_yaml
from mock_api.scenarios.catalog import SCHEMA, ScenarioError, load_scenario_file
from mock_api.scenarios.effects import FAULT_KINDS as KINDS
from mock_api.scenarios.effects import REGISTRY
from support import ROOT

FIXTURE_FILES = sorted(default_fixtures_dir().glob("*.yaml"))
SCENARIO_FILES = sorted(default_scenarios_dir().glob("*.yaml"))
SCHEMA_FILES = [*sorted(SCHEMAS.glob("*.schema.json")), SCHEMA]


def test_one_schema_per_fixture_file() -> None:
    assert [p.stem for p in FIXTURE_FILES] == ["api_keys", "codes", "generate", "petitions", "students"]
    assert sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")) == [
        p.stem for p in FIXTURE_FILES]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_each_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)  # raises SchemaError naming the bad keyword


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_every_shipped_fixture_file_is_valid(path: Path) -> None:
    validator = load_validator(SCHEMAS / f"{path.stem}.schema.json")
    assert list(validator.iter_errors(load_yaml(path.read_text(encoding="utf-8")))) == []


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_shipped_scenario_file_is_valid(path: Path) -> None:
    assert list(load_validator(SCHEMA).iter_errors(load_yaml(path.read_text(encoding="utf-8")))) == []


def test_every_shipped_yaml_file_names_its_schema_for_editors() -> None:
    for path in FIXTURE_FILES:
        assert path.read_text(encoding="utf-8").startswith(
            f"# yaml-language-server: $schema=../mock_api/data/schemas/{path.stem}.schema.json\n"), path
    for path in SCENARIO_FILES:
        assert path.read_text(encoding="utf-8").startswith(
            "# yaml-language-server: $schema=../mock_api/scenarios/scenario.schema.json\n"), path


def test_the_scenario_schema_knows_every_effect_and_no_other() -> None:
    defs = json.loads(SCHEMA.read_text(encoding="utf-8"))["$defs"]
    assert defs["effectName"]["enum"] == sorted(REGISTRY)
    assert sorted(defs["effect"]["properties"]) == sorted(REGISTRY)
    assert all(name in defs for name in REGISTRY)  # each effect's parameters have a shape
    assert defs["faultKind"]["enum"] == list(KINDS)


def test_the_schemas_ship_in_the_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '\n"mock_api.data.schemas" = ["*.schema.json"]\n' in pyproject
    assert '\n"mock_api.scenarios" = ["scenario.schema.json"]\n' in pyproject
    assert SCHEMAS == ROOT / "mock_api" / "data" / "schemas" and SCHEMA.parent == ROOT / "mock_api" / "scenarios"


@pytest.mark.parametrize(("path", "key"), [
    ([], "(top level)"), (["rules", 0, "match", "method"], "rules[0].match.method"), (["a", 1, 2, "b"], "a[1][2].b")])
def test_dotted_keys(path: list[object], key: str) -> None:
    assert dotted(path) == key


def test_first_problem_is_none_for_valid_data_and_the_first_in_schema_order() -> None:
    validator = load_validator(SCHEMAS / "generate.schema.json")
    assert first_problem(validator, {"seed": 1, "students": 2, "max_petitions_per_student": 3}) is None
    assert first_problem(validator, {"seed": "x", "students": -1}) == ("max_petitions_per_student", "missing")
    assert first_problem(validator, {"seed": "x", "students": -1, "max_petitions_per_student": 0}) == (
        "seed", "expected a whole number >= 0")


def _scenario(effect: object = "token_expired", **match: object) -> dict[str, object]:
    rule = {"match": match or {"path": "/api/**"}, "effects": [effect]}
    return {"name": "mine", "description": "one line", "rules": [rule]}


@pytest.mark.parametrize(("data", "key", "problem"), [
    (_scenario("respond"), "rules[0].effects[0]",
     "effect 'respond' needs parameters: write it as a one-key mapping {respond: ...}"),
    (_scenario({"respond": None}), "rules[0].effects[0].respond.status",
     "expected an HTTP status 100-599 or a list of them"),
    (_scenario({"respond": [200, 99]}), "rules[0].effects[0].respond.status",
     "expected an HTTP status 100-599 or a list of them"),
    (_scenario({"respond": {}}), "rules[0].effects[0].respond.status",
     "expected an HTTP status 100-599 or a list of them"),
    (_scenario({"respond": {"status": 200, "headers": {"X-A": True}}}), "rules[0].effects[0].respond.headers",
     "expected a mapping of header names (letters, digits, -) to one-line Latin-1 strings"),
    (_scenario(method=["GET", 5]), "rules[0].match.method", 'expected a method, a list of methods or "*"'),
    (_scenario(method=["GET", "fetch"]), "rules[0].match.method[1]",
     "unknown method 'fetch' (expected one of: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT)"),
    (_scenario(path=["/a", "b"]), "rules[0].match.path",
     "expected a path glob starting with / (or a list of them), e.g. /api/**"),
    (_scenario({"delay": {}}), "rules[0].effects[0].delay", "expected seconds, or min and max"),
    (_scenario({"delay": {"max": 1}}), "rules[0].effects[0].delay.min", "expected a number between 0 and 60"),
    (_scenario({"forbid": ["a", " "]}), "rules[0].effects[0].forbid.scope", "expected a scope name or a list of them"),
    (_scenario({"fault": {}}), "rules[0].effects[0].fault.kind", "expected one of: reset, empty, truncated"),
    (_scenario({"task": None}), "rules[0].effects[0].task",
     "expected a mapping with at least one of: seconds, min and max, fail, stale_cache"),
    (_scenario({"task_not_found_for": {}}), "rules[0].effects[0].task_not_found_for.seconds",
     "expected a number between 0 and 86400"),
    (_scenario({}), "rules[0].effects[0]", "expected an effect name or a one-key mapping {effect: parameters}"),
    ({"description": "one line"}, "name", "expected a non-empty string"),
    ({"name": "x", "description": "y", 7: 1}, "7", "unknown key (expected one of: name, description, rules)"),
    ("name: x\ndescription: y\nrules: []\nwhen: 2021-02-30\n", "(syntax)", "day is out of range for month"),
])
def test_more_bad_scenario_files_name_file_key_and_expectation(tmp_path: Path, data: object, key: str,
                                                                problem: str) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario_file(path)
    assert str(caught.value) == f"{path}: {key}: {problem}"


def test_a_scalar_shorthand_and_lower_case_methods_still_load(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("name: ' mine '\ndescription: one line\nrules:\n  - match: {method: [get, Post], path: /api/**}\n"
                    "    effects: [{respond: [500, 502]}, {delay: 0.5}, {forbid: x}, token_expired]\n",
                    encoding="utf-8")
    scenario = load_scenario_file(path)
    assert scenario.name == "mine" and scenario.rules[0].methods == frozenset({"GET", "POST"})
    assert len(scenario.rules[0].effects) == 4


@pytest.mark.parametrize(("file", "old", "new", "key", "problem"), [
    ("codes.yaml", "Q24: Five+ Year Enrollment Pattern", "Q24: [x]", "event_codes.Q24", "expected code: name strings"),
    ("codes.yaml", "Q24: Five", "1234: Five", "event_codes", "expected code: name strings"),
    ("students.yaml", "pidm: 2907841", "pidm: '12a'", "students[0].pidm", "expected a Banner pidm of at most 7 digits"),
    ("students.yaml", "    first_name: Avery\n", "", "students[0].first_name", "expected a non-empty string"),
    ("petitions.yaml", '"2021-03-02T05:00:00Z"', '"2021-02-30T05:00:00Z"', "petitions[0].effective_date",
     "expected a date like 2021-03-02T05:00:00Z"),
    ("petitions.yaml", '"2021-03-02T05:00:00Z"', "2021-02-30", "(syntax)", "day is out of range for month"),
    ("petitions.yaml", "grade_term: 24W=L", "grade_term: ''", "petitions[0].grade_term",
     "expected a non-empty string or null"),
    ("generate.yaml", "seed: 20241120", "seed: true", "seed", "expected a whole number >= 0"),
    ("api_keys.yaml", "service_accounts:", "- x\nservice_accounts:", "line 6, column 1",
     "YAML syntax: did not find expected '-' indicator (while parsing a block collection)"),
])
def test_more_bad_fixture_files_name_file_key_and_expectation(tmp_path: Path, file: str, old: str, new: str, key: str,
                                                              problem: str) -> None:
    folder = tmp_path / "fixtures"
    shutil.copytree(default_fixtures_dir(), folder)
    text = (folder / file).read_text(encoding="utf-8")
    assert old in text
    (folder / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(FixtureError) as caught:
        load_fixtures(folder)
    assert (caught.value.file, caught.value.key) == (str(folder / file), key)
    assert caught.value.problem.startswith(problem)


def test_unquoted_timestamps_still_load_as_utc(tmp_path: Path) -> None:
    folder = tmp_path / "fixtures"
    shutil.copytree(default_fixtures_dir(), folder)
    text = (folder / "petitions.yaml").read_text(encoding="utf-8")
    text = text.replace('"2021-03-02T05:00:00Z"', "2021-03-02 00:00:00-05:00", 1)
    (folder / "petitions.yaml").write_text(text.replace('"2021-04-01T04:00:00Z"', "2021-04-01", 1), encoding="utf-8")
    events = load_fixtures(folder).events
    assert [e.effective_date for e in events[:3]] == ["2021-03-02T05:00:00Z", "2021-03-02T05:00:00Z",
                                                       "2021-04-01T00:00:00Z"]


def test_the_reference_says_where_the_schemas_are_and_how_an_editor_uses_them() -> None:
    readme = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    for path in ("mock_api/scenarios/scenario.schema.json", "mock_api/data/schemas/<file>.schema.json"):
        assert path in readme
        assert (ROOT / path.replace("<file>", "students")).is_file()
    assert "# yaml-language-server: $schema=../mock_api/scenarios/scenario.schema.json\n" in readme


START_CODE = ("import sys; from mock_api.config import MockConfig, default_scenarios_dir; "
              "from mock_api.data.fixtures import load_fixtures; "
              "from mock_api.scenarios.catalog import ScenarioCatalog; "
              "load_fixtures(MockConfig().fixtures_dir); ScenarioCatalog(default_scenarios_dir()).get('flaky'); "
              "print('jsonschema' in sys.modules)")


def _start(cache: str) -> str:
    env = {**os.environ, CACHE_ENV: cache}
    return subprocess.run([sys.executable, "-c", START_CODE], env=env, capture_output=True, text=True, timeout=60,
                          check=True).stdout


def test_a_text_validated_once_starts_without_jsonschema(tmp_path: Path) -> None:
    assert _start(str(tmp_path)) == "True\n"  # first start: validated, verdicts remembered
    assert len(json.loads((tmp_path / VERDICTS_FILE).read_text(encoding="utf-8"))) == 6  # 5 fixture files, 1 scenario
    assert _start(str(tmp_path)) == "False\n"  # same texts: known valid, jsonschema not imported
    assert _start("off") == "True\n"


def test_a_changed_or_bad_text_is_validated_again_and_never_remembered(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(_scenario()), encoding="utf-8")
    load_scenario_file(path)
    load_scenario_file(path)
    assert len(json.loads((tmp_path / "cache" / VERDICTS_FILE).read_text(encoding="utf-8"))) == 1
    path.write_text(yaml.safe_dump(_scenario({"delay": 61})), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ScenarioError, match=r"delay\.seconds: expected a number between 0 and 60$"):
            load_scenario_file(path)
    assert len(json.loads((tmp_path / "cache" / VERDICTS_FILE).read_text(encoding="utf-8"))) == 1


def test_the_verdicts_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    (tmp_path / VERDICTS_FILE).write_text(json.dumps([f"{n:032x}" for n in range(VERDICTS_KEPT)]), encoding="utf-8")
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(_scenario()), encoding="utf-8")
    load_scenario_file(path)
    kept = json.loads((tmp_path / VERDICTS_FILE).read_text(encoding="utf-8"))
    assert len(kept) == VERDICTS_KEPT and kept[0] == f"{1:032x}"  # the oldest is dropped first
