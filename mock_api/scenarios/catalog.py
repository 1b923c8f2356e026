"""Scenarios as data: YAML files of rules (match + effects), validated, catalogued and applied."""
from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from flask import Response

from mock_api.scenarios.effects import REGISTRY, Context, Effect, ParamError
from mock_api.data.fixtures import load_yaml

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SCENARIO_KEYS = ("name", "description", "rules")
RULE_KEYS = ("match", "effects")
MATCH_KEYS = ("method", "path", "probability")


class ScenarioError(Exception):
    """An unknown scenario or a wrong scenario file; the message names the file and the key."""

    @classmethod
    def in_file(cls, file: Path | str, key: str, problem: str) -> ScenarioError:
        return cls(f"{file}: {key}: {problem}")


def _glob(pattern: str) -> re.Pattern[str]:
    """`**` spans segments, `*` stays within one; a trailing slash never matters (strict_slashes off)."""
    parts = re.split(r"(\*\*|\*)", _strip_slash(pattern))
    mapping = {"**": ".*", "*": "[^/]*"}
    return re.compile("".join(mapping.get(part, re.escape(part)) for part in parts))


def _strip_slash(path: str) -> str:
    return path.rstrip("/") or "/"


@dataclass(frozen=True)
class Rule:
    """Requests it applies to (method, path globs, probability) and its effects, in order."""

    methods: frozenset[str] | None  # None: any method
    paths: tuple[re.Pattern[str], ...]
    probability: float | None
    effects: tuple[Effect, ...]

    def matches(self, method: str, path: str) -> bool:
        if self.methods is not None and method not in self.methods \
                and not (method == "HEAD" and "GET" in self.methods):
            return False
        path = _strip_slash(path)
        return any(pattern.fullmatch(path) for pattern in self.paths)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    rules: tuple[Rule, ...]
    source: str  # "built-in" or the file it was loaded from

    def apply(self, ctx: Context, method: str, path: str) -> Response | None:
        """Every matching rule in file order; the first effect that answers ends the request."""
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            if rule.probability is not None and ctx.state.dice.random() >= rule.probability:
                continue
            for effect in rule.effects:
                response = effect(ctx)
                if response is not None:
                    return response
        return None


class _Reader:
    """Validates one scenario file; every failure names the file and the dotted key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError.in_file(self.path, key, problem)

    def load(self) -> dict[str, Any]:
        if not self.path.is_file():
            raise self.fail("(file)", "not found")
        try:
            data = load_yaml(self.path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise self.fail("(syntax)", " ".join(str(exc).split())) from None
        except OSError as exc:
            raise self.fail("(file)", f"cannot read: {exc.strerror or exc}") from None
        if not isinstance(data, dict):
            raise self.fail("(top level)", "expected a mapping with name, description and rules")
        self.no_unknown_keys(data, "", SCENARIO_KEYS)
        return data

    def no_unknown_keys(self, data: dict[Any, Any], where: str, allowed: Sequence[str]) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(f"{where}{key}", f"unknown key (expected one of: {', '.join(allowed)})")

    def text(self, data: dict[str, Any], key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "expected a non-empty string")
        return value.strip()

    def methods(self, value: Any, where: str) -> frozenset[str] | None:
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(m, str) for m in items):
            raise self.fail(where, "expected a method, a list of methods or \"*\"")
        upper = {m.upper() for m in items}
        if "*" in upper:
            return None
        unknown = sorted(upper - METHODS)
        if unknown:
            raise self.fail(where, f"unknown method {unknown[0]!r} (expected one of: {', '.join(sorted(METHODS))})")
        return frozenset(upper)

    def paths(self, value: Any, where: str) -> tuple[re.Pattern[str], ...]:
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(p, str) and (p.startswith("/") or p == "**") for p in items):
            raise self.fail(where, "expected a path glob starting with / (or a list of them), e.g. /api/**")
        return tuple(_glob(p) for p in items)

    def probability(self, value: Any, where: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise self.fail(where, "expected a number between 0 and 1")
        return float(value)

    def effect(self, item: Any, where: str) -> Effect:
        if isinstance(item, str):
            name, params = item, None
        elif isinstance(item, dict) and len(item) == 1:
            name, params = next(iter(item.items()))
        else:
            raise self.fail(where, "expected an effect name or a one-key mapping {effect: parameters}")
        builder = REGISTRY.get(name) if isinstance(name, str) else None
        if builder is None:
            raise self.fail(where, f"unknown effect {name!r} (expected one of: {', '.join(sorted(REGISTRY))})")
        try:
            return builder(params)
        except ParamError as exc:
            raise self.fail(f"{where}.{name}{exc.key}", exc.problem) from None

    def rule(self, item: Any, where: str) -> Rule:
        if not isinstance(item, dict):
            raise self.fail(where, "expected a mapping with match and effects")
        self.no_unknown_keys(item, f"{where}.", RULE_KEYS)
        match = item.get("match") or {}
        if not isinstance(match, dict):
            raise self.fail(f"{where}.match", "expected a mapping with method, path and probability")
        self.no_unknown_keys(match, f"{where}.match.", MATCH_KEYS)
        effects = item.get("effects")
        if not isinstance(effects, list) or not effects:
            raise self.fail(f"{where}.effects", "expected a non-empty list of effects")
        return Rule(self.methods(match.get("method", "*"), f"{where}.match.method"),
                    self.paths(match.get("path", "**"), f"{where}.match.path"),
                    self.probability(match.get("probability"), f"{where}.match.probability"),
                    tuple(self.effect(e, f"{where}.effects[{i}]") for i, e in enumerate(effects)))


def load_scenario_file(path: Path | str, source: str | None = None) -> Scenario:
    """Read and validate one scenario file; raises ScenarioError naming the file and the key."""
    reader = _Reader(Path(path))
    data = reader.load()
    name = reader.text(data, "name")
    if not NAME_PATTERN.fullmatch(name):
        raise reader.fail("name", "expected letters, digits, _ or - only")
    description = reader.text(data, "description")
    if "\n" in description:
        raise reader.fail("description", "expected one line")
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        raise reader.fail("rules", "expected a list (empty for no rules)")
    return Scenario(name, description, tuple(reader.rule(r, f"rules[{i}]") for i, r in enumerate(rules)),
                    source or str(path))


def looks_like_path(name_or_path: str) -> bool:
    return "/" in name_or_path or "\\" in name_or_path or name_or_path.endswith((".yaml", ".yml"))


class ScenarioCatalog:
    """The built-in scenarios (loaded on first use) plus the user files loaded since reset, by name."""

    def __init__(self, builtin_dir: Path) -> None:
        self.builtin_dir = builtin_dir
        self._lock = threading.Lock()
        self._builtins: dict[str, Scenario] = {}
        self._files: dict[str, Scenario] = {}

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
