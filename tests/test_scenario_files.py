"""Scenario files: validation errors naming file and key, path globs, the catalogue, the state's scenario."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mock_api.config import MockConfig, default_scenarios_dir
from mock_api.scenarios.catalog import ScenarioCatalog, ScenarioError, load_scenario_file
from mock_api.scenarios.effects import REGISTRY
from mock_api.scenarios.match import path_glob
from mock_api.service.dataset import Dataset
from mock_api.state import MockState

BUILTINS = ["broken_connections", "default", "expired_tokens", "failing_tasks", "first_poll_not_found", "flaky",
            "forbidden_write", "instant_tasks", "latency", "one_student_fails", "pessimistic", "read_forbidden",
            "retry_then_succeed", "slow_tasks", "stale_cache", "throttled", "unavailable"]
GOOD_RULE = {"match": {"method": "GET", "path": "/api/**"}, "effects": [{"respond": {"status": 503}}]}


def write(tmp_path: Path, data: object, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def scenario(**changes: object) -> dict[str, object]:
    return {"name": "mine", "description": "one line", "rules": [GOOD_RULE], **changes}


def rule_with(effect: object = None, **match: object) -> dict[str, object]:
    return scenario(rules=[{"match": match or {"path": "/api/**"}, "effects": [effect or "token_expired"]}])


def test_every_builtin_loads_and_is_named_after_its_file() -> None:
    catalog = ScenarioCatalog(default_scenarios_dir())
    assert [s.name for s in catalog.builtins()] == BUILTINS
    assert all(s.source == "built-in" and s.description for s in catalog.builtins())


def test_builtins_come_from_the_source_tree_in_a_checkout() -> None:
    assert default_scenarios_dir() == Path(__file__).resolve().parent.parent / "scenarios"
    assert MockConfig().scenario == "default"


@pytest.mark.parametrize(("data", "key", "problem"), [
    ("name: [unclosed", "line 2, column 1", "YAML syntax: did not find expected ',' or ']' (while parsing a flow"),
    ("- a list", "(top level)", "expected a mapping with name, description and rules"),
    (scenario(name=None), "name", "expected a non-empty string"),
    (scenario(name="has space"), "name", "expected letters, digits, _ or - only"),
    (scenario(description="two\nlines"), "description", "expected one line"),
    (scenario(extra=1), "extra", "unknown key (expected one of: name, description, rules)"),
    (scenario(rules={"a": 1}), "rules", "expected a list (empty for no rules)"),
    (scenario(rules=["x"]), "rules[0]", "expected a mapping with match and effects"),
    (scenario(rules=[{"match": {}, "effects": []}]), "rules[0].effects", "expected a non-empty list of effects"),
    (scenario(rules=[{"effects": ["token_expired"], "when": 1}]), "rules[0].when", "unknown key"),
    (rule_with(method="FETCH"), "rules[0].match.method", "unknown method 'FETCH'"),
    (rule_with(path="api/**"), "rules[0].match.path", "expected a path glob starting with /"),
    (rule_with(probability=1.5), "rules[0].match.probability", "expected a number between 0 and 1"),
    (rule_with(probability=True), "rules[0].match.probability", "expected a number between 0 and 1"),
    (rule_with(path="/x", weight=2), "rules[0].match.weight",
     "unknown key (expected one of: method, path, query, headers, body, token, probability)"),
    (rule_with("explode"), "rules[0].effects[0]", "unknown effect 'explode' (expected one of: delay, fault, forbid"),
    (rule_with({"a": 1, "b": 2}), "rules[0].effects[0]", "expected an effect name or a one-key mapping"),
    (rule_with({"respond": {"status": 700}}), "rules[0].effects[0].respond.status", "expected an HTTP status 100-599"),
    (rule_with({"respond": {"status": [200, "x"]}}), "rules[0].effects[0].respond.status", "expected an HTTP status"),
    (rule_with({"respond": {"status": 503, "headers": ["x"]}}), "rules[0].effects[0].respond.headers",
     "expected a mapping of header names (letters, digits, -) to one-line Latin-1 strings"),
    (rule_with({"respond": {"status": 503, "headers": {"X-A": "1\r\nSet-Cookie: x"}}}),
     "rules[0].effects[0].respond.headers", "expected a mapping of header names (letters, digits, -) to one-line"),
    # HTTP/1.1 carries header values as Latin-1: a value beyond it could not be sent (it was a dead socket).
    (rule_with({"respond": {"status": 503, "headers": {"X-Euro": "\u20ac"}}}),
     "rules[0].effects[0].respond.headers", "expected a mapping of header names (letters, digits, -) to one-line"),
    (rule_with({"respond": {"status": 503, "headers": {"X Space": "1"}}}),
     "rules[0].effects[0].respond.headers", "expected a mapping of header names (letters, digits, -)"),
    (rule_with({"respond": {"status": 503, "code": 1}}), "rules[0].effects[0].respond.code", "unknown parameter"),
    (rule_with({"delay": {"min": 0.2, "max": 0.1}}), "rules[0].effects[0].delay.max", "expected max >= min"),
    (rule_with({"delay": 61}), "rules[0].effects[0].delay.seconds", "expected a number between 0 and 60"),
    (rule_with({"delay": {"seconds": 1, "max": 2}}), "rules[0].effects[0].delay", "give either seconds or min and max"),
    (rule_with({"task": {}}), "rules[0].effects[0].task",
     "expected at least one of: seconds, min and max, fail, stale_cache"),
    (rule_with({"task": {"seconds": 1, "min": 1}}), "rules[0].effects[0].task", "give either seconds or min and max"),
    (rule_with({"task": {"min": 1}}), "rules[0].effects[0].task.max", "expected a number between 0"),
    (rule_with({"task": {"min": 5, "max": 1}}), "rules[0].effects[0].task.max", "expected max >= min"),
    (rule_with({"reads": {}}), "rules[0].effects[0].reads", "expected at least one of: by_mongo_id, count_header"),
    (rule_with({"reads": {"count_header": "no"}}), "rules[0].effects[0].reads.count_header", "expected true or false"),
    (rule_with({"reads": {"x_count": False}}), "rules[0].effects[0].reads.x_count", "unknown parameter"),
    (rule_with({"task": {"fail": "yes"}}), "rules[0].effects[0].task.fail", "expected true or false"),
    (rule_with({"task": {"seconds": -1}}), "rules[0].effects[0].task.seconds", "expected a number between 0"),
    (rule_with({"token_expired": {"x": 1}}), "rules[0].effects[0].token_expired", "takes no parameters"),
    (rule_with({"forbid": {"scope": ""}}), "rules[0].effects[0].forbid.scope", "expected a scope name"),
    (rule_with({"task_not_found_for": "soon"}), "rules[0].effects[0].task_not_found_for.seconds", "expected a number"),
    (rule_with({"fault": "timeout"}), "rules[0].effects[0].fault", "expected one of: reset, empty, truncated"),
    (rule_with({"fault": {"kind": "x"}}), "rules[0].effects[0].fault.kind", "expected one of: reset, empty, truncated"),
])
def test_invalid_file_error_names_the_file_and_the_key(tmp_path: Path, data: object, key: str, problem: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(ScenarioError) as caught:
        load_scenario_file(path)
    assert str(caught.value).startswith(f"{path}: {key}: {problem}")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope\.yaml: \(file\): not found$"):
        load_scenario_file(tmp_path / "nope.yaml")


def test_every_registered_effect_has_a_docstring() -> None:
    assert sorted(REGISTRY) == ["delay", "fault", "forbid", "reads", "respond", "task", "task_not_found_for",
                              "token_expired"]
    assert all(builder.__doc__ for builder in REGISTRY.values())


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("/api/**", "/api/academic/petitions/1-Q2-3", True),
    ("/api/**", "/_mock/health", False),
    ("/api/tasks/*", "/api/tasks/673e4c82185254cacb8d2967", True),
    ("/api/tasks/*", "/api/tasks/a/b", False),
    ("/api/academic/petitions", "/api/academic/petitions/", True),  # strict_slashes is off
    ("/api/students/*/petitions", "/api/students/f0027k4/petitions", True),
    ("/api/a.b", "/api/aXb", False),  # dots are literal
    ("**", "/anything/at/all", True),
])
def test_path_globs(pattern: str, path: str, matches: bool) -> None:
    assert bool(path_glob(pattern).fullmatch(path.rstrip("/") or "/")) is matches


def test_rule_methods_match_head_as_get(tmp_path: Path) -> None:
    rule = load_scenario_file(write(tmp_path, scenario())).rules[0]
    assert rule.matches("GET", "/api/x") and rule.matches("HEAD", "/api/x") and not rule.matches("POST", "/api/x")


def test_catalog_refuses_unknown_names_and_builtin_names_in_user_files(tmp_path: Path) -> None:
    catalog = ScenarioCatalog(default_scenarios_dir())
    with pytest.raises(ScenarioError, match=r"^unknown scenario 'nope' \(known: broken_connections, default, "):
        catalog.get("nope")
    with pytest.raises(ScenarioError, match="'flaky' is a built-in scenario; choose another name"):
        catalog.get(str(write(tmp_path, scenario(name="flaky"))))
    mine = catalog.get(str(write(tmp_path, scenario())))
    assert catalog.get("mine") is mine and "mine" in catalog.names()
    catalog.forget_files(keep=catalog.get("default"))
    assert "mine" not in catalog.names()


def test_state_switches_and_reset_restores_the_startup_scenario(dataset: Dataset) -> None:
    state = MockState(MockConfig(scenario="slow_tasks"), dataset=dataset)
    assert state.scenario_name == "slow_tasks"
    state.set_scenario("flaky")
    assert state.scenario_name == "flaky"
    with pytest.raises(ScenarioError):
        state.set_scenario("nope")
    assert state.scenario_name == "flaky"
    state.reset()
    assert state.scenario_name == "slow_tasks"


def test_dice_is_reseeded_by_reset(dataset: Dataset) -> None:
    state = MockState(MockConfig(), dataset=dataset)
    first = [state.dice.random() for _ in range(5)]
    state.reset()
    assert [state.dice.random() for _ in range(5)] == first


def test_wrong_startup_scenario_fails_before_building_anything() -> None:
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'"):
        MockState(MockConfig(scenario="nope", fixtures_dir=Path("/no/such/fixtures")))


def test_task_behaviour_takes_the_scenario_overrides(dataset: Dataset) -> None:
    state = MockState(MockConfig(task_seconds=2.5), dataset=dataset)
    assert state.task_behaviour().seconds == 2.5
    behaviour = state.task_behaviour(seconds=30.0, fail=True)
    assert (behaviour.seconds, behaviour.fail, behaviour.stale_cache) == (30.0, True, False)
