"""Scenarios as data: YAML files of rules (match + effects), checked by scenario.schema.json, catalogued, applied."""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mock_api.data.yaml_schema import check
from mock_api.data.yamltext import load_yaml, yaml_problem
from mock_api.scenarios.effects import REGISTRY, WAITING_EFFECTS, Context, Effect, ParamError, Reply
from mock_api.scenarios.match import RequestMatch, parse_match
from mock_api.scenarios.rules import Counting, counting_key
from mock_api.service.names import NAME_PATTERN


class ScenarioError(Exception):
    """An unknown scenario or a wrong scenario file; the message names the file and the key."""

    @classmethod
    def in_file(cls, file: Path | str, key: str, problem: str) -> ScenarioError:
        return cls(f"{file}: {key}: {problem}")


@dataclass(frozen=True)
class Rule:
    """Requests it applies to (the match keys, probability, counting) and its effects, in order."""

    match: RequestMatch
    probability: float | None
    effects: tuple[Effect, ...]
    counting: Counting = field(default_factory=Counting)
    waits: bool = False  # one of its effects sleeps (WAITING_EFFECTS): not for the server's event loop

    @property
    def methods(self) -> frozenset[str] | None:
        return self.match.methods

    def matches(self, method: str, path: str) -> bool:
        """Method and path only (the request is not read yet)."""
        return self.match.line_matches(method, path)


@dataclass(frozen=True)
class Decision:
    """What a scenario decided for one request: its answer (None: the API answers), a task's behaviour,
    a read's lenient choices, a fault below HTTP. Read only, never changed."""

    reply: Reply | None = None
    task: Mapping[str, Any] = field(default_factory=dict)
    reads: Mapping[str, bool] = field(default_factory=dict)
    fault: str | None = None
    task_id: str | None = None  # the id a POST's task gets: reserved when a `per: task` rule counted it


# A scenario without rules decides nothing: one shared decision (its mappings cannot be changed).
NO_DECISION = Decision(task=MappingProxyType({}), reads=MappingProxyType({}))


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    rules: tuple[Rule, ...]
    source: str  # "built-in" or the file it was loaded from

    def may_wait(self, method: str, path: str) -> bool:
        """Whether this request may sleep in it (a rule with a sleeping effect matches its method and path):
        the server's inline lane then leaves it to a worker thread."""
        return any(rule.waits and rule.matches(method, path) for rule in self.rules)

    def apply(self, ctx: Context) -> Decision:
        """Every matching rule in file order; the first effect that answers ends the request."""
        if not self.rules:
            return NO_DECISION
        task: dict[str, Any] = {}
        reads: dict[str, bool] = {}
        fault = None
        created: list[str] = []  # the POST's task id, reserved once for every `per: task` rule

        def created_task() -> str:
            if not created:
                created.append(ctx.new_task_id())
            return created[0]

        for index, rule in enumerate(self.rules):
            if not self._selects(index, rule, ctx, created_task):
                continue
            for effect in rule.effects:
                outcome = effect(ctx)
                if isinstance(outcome, Reply):
                    return Decision(outcome, task, reads, outcome.fault or fault, next(iter(created), None))
                if outcome is not None:
                    task.update(outcome.task)
                    reads.update(outcome.reads)
                    fault = outcome.fault or fault
        return Decision(None, task, reads, fault, next(iter(created), None))

    def _selects(self, index: int, rule: Rule, ctx: Context, created_task: Callable[[], str]) -> bool:
        """Match keys first, then the seeded draw, then the count: a request counts only if it matched."""
        if not rule.match.matches(ctx.request):
            return False
        key = counting_key(rule.counting.per, ctx.request, created_task) if rule.counting.counts else ""
        if key is None:
            return False
        if rule.probability is not None and ctx.dice.random() >= rule.probability:
            return False
        return not rule.counting.counts or rule.counting.applies(ctx.counters.count((self.name, index, key)))


SCHEMA = Path(__file__).resolve().parent / "scenario.schema.json"


def _read(path: Path) -> dict[str, Any]:
    """The parsed file, checked against scenario.schema.json; ScenarioError names the file and the key."""
    try:
        if not path.is_file():
            raise ScenarioError.in_file(path, "(file)", "not found")
        text = path.read_text(encoding="utf-8")
        data = load_yaml(text)
    except ValueError as exc:  # YamlError, a bad encoding, or a date like 2021-02-30
        raise ScenarioError.in_file(path, *yaml_problem(exc)) from None
    except OSError as exc:
        raise ScenarioError.in_file(path, "(file)", f"cannot read: {exc.strerror or exc}") from None
    problem = check(SCHEMA, text, data)
    if problem is not None:
        raise ScenarioError.in_file(path, *problem)
    return dict(data)


def _effect(path: Path, item: Any, where: str) -> Effect:
    name, params = _effect_name(item), (None if isinstance(item, str) else next(iter(item.values())))
    try:
        return REGISTRY[name](params)
    except ParamError as exc:  # what the schema cannot say (min <= max)
        raise ScenarioError.in_file(path, f"{where}.{name}{exc.key}", exc.problem) from None


def _rule(path: Path, item: dict[str, Any], where: str) -> Rule:
    match = item.get("match") or {}
    probability = match.get("probability")
    try:
        request_match = parse_match(match)
    except ParamError as exc:  # a bad glob: the schema cannot say it
        raise ScenarioError.in_file(path, f"{where}.match{exc.key}", exc.problem) from None
    times = item.get("times")
    counting = Counting(item.get("per", "all"), int(item.get("after", 0)), None if times is None else int(times))
    return Rule(request_match, None if probability is None else float(probability),
                tuple(_effect(path, e, f"{where}.effects[{i}]") for i, e in enumerate(item["effects"])),
                counting, any(_effect_name(e) in WAITING_EFFECTS for e in item["effects"]))


def _effect_name(item: Any) -> str:
    return item if isinstance(item, str) else str(next(iter(item)))


def load_scenario_file(path: Path | str, source: str | None = None) -> Scenario:
    """Read and validate one scenario file; raises ScenarioError naming the file and the key."""
    path = Path(path)
    data = _read(path)
    rules = tuple(_rule(path, rule, f"rules[{i}]") for i, rule in enumerate(data.get("rules", [])))
    return Scenario(data["name"].strip(), data["description"].strip(), rules, source or str(path))


def looks_like_path(name_or_path: str) -> bool:
    return "/" in name_or_path or "\\" in name_or_path or name_or_path.endswith((".yaml", ".yml"))


class ScenarioCatalog:
    """The built-in scenarios (loaded on first use) plus the user files loaded since reset, by name."""

    def __init__(self, builtin_dir: Path) -> None:
        self.builtin_dir = builtin_dir
        self._lock = threading.Lock()
        self._builtins: dict[str, Scenario] = {}
        self._files: dict[str, Scenario] = {}

    def for_session(self, keep: Scenario) -> ScenarioCatalog:
        """A catalog sharing this one's built-ins (parsed once a process); of the user files only `keep`'s."""
        catalog = ScenarioCatalog(self.builtin_dir)
        catalog._lock, catalog._builtins = self._lock, self._builtins
        with self._lock:
            catalog._files = {keep.name: keep} if self._files.get(keep.name) is keep else {}
        return catalog

    def builtin_names(self) -> list[str]:
        return sorted(p.stem for p in self.builtin_dir.glob("*.yaml"))

    def names(self) -> list[str]:
        with self._lock:
            return sorted({*self.builtin_names(), *self._files})

    def builtins(self) -> list[Scenario]:
        return [self.named(name) for name in self.builtin_names()]

    def get(self, name_or_path: str) -> Scenario:
        """A built-in or already loaded scenario by name, or a user file by path."""
        if looks_like_path(name_or_path):
            return self.load_file(Path(name_or_path))
        return self.named(name_or_path, paths_accepted=True)

    def named(self, name: str, paths_accepted: bool = False) -> Scenario:
        with self._lock:
            known = self._files.get(name) or self._builtins.get(name)
        if known is not None:
            return known
        path = self.builtin_dir / f"{name}.yaml"
        if not NAME_PATTERN.fullmatch(name) or not path.is_file():
            hint = "; or give the path of a scenario .yaml file" if paths_accepted else ""
            raise ScenarioError(f"unknown scenario {name!r} (known: {', '.join(self.names())}{hint})")
        scenario = load_scenario_file(path, source="built-in")
        if scenario.name != name:
            raise ScenarioError.in_file(path, "name", f"expected {name!r}, the file's name")
        with self._lock:
            return self._builtins.setdefault(name, scenario)

    def load_file(self, path: Path) -> Scenario:
        scenario = load_scenario_file(path)
        if scenario.name in self.builtin_names():
            raise ScenarioError.in_file(path, "name", f"{scenario.name!r} is a built-in scenario; choose another name")
        with self._lock:
            self._files[scenario.name] = scenario  # a reloaded file replaces its earlier version
        return scenario

    def forget_files(self, keep: Scenario) -> None:
        """Reset: only the start-up scenario's file stays known by name."""
        with self._lock:
            self._files = {keep.name: keep} if keep.name in self._files else {}
