"""Checks parsed YAML against a shipped JSON Schema; the first problem as (dotted key, what was expected)."""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mock_api.data.cachedir import cache_dir

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

# Keywords whose subschema applies to a child of the instance: the key after it in a schema path
# names that child (properties, prefixItems) or the subschema applies to every child (items, ...).
NAMED_CHILD = frozenset({"properties", "patternProperties", "prefixItems"})
ANY_CHILD = frozenset({"items", "additionalProperties"})
# The schemas' own keywords, read only here (Draft 2020-12 treats unknown keywords as annotations):
MESSAGES = "x-messages"  # {keyword: message} for a failure of that keyword here; {value!r} is the value
SHORTHAND = "x-shorthand-for"  # a scalar given for this mapping stands for this one property of it
# Importing jsonschema is a large part of a start-up: a YAML text a schema accepted once is known
# valid by its hash, in one small file of the cache directory (the last VERDICTS_KEPT texts).
VERDICTS_FILE = "valid-yaml.json"
VERDICTS_KEPT = 256
VERDICTS_FORMAT = 1


def check(schema: Path, text: str, data: Any) -> tuple[str, str] | None:
    """first_problem of `data` (parsed from `text`); without jsonschema for a text this schema accepted before."""
    key = hashlib.sha256(b"%d\0%b\0%b" % (VERDICTS_FORMAT, schema.read_bytes(), text.encode())).hexdigest()[:32]
    verdicts = _verdicts()
    if key in verdicts:
        return None
    problem = first_problem(load_validator(schema), data)
    if problem is None:
        _remember([*verdicts, key][-VERDICTS_KEPT:])
    return problem


def _verdicts() -> list[str]:
    directory = cache_dir()
    try:
        kept = json.loads((directory / VERDICTS_FILE).read_text(encoding="utf-8")) if directory else []
        return [str(key) for key in kept] if isinstance(kept, list) else []
    except (OSError, ValueError):
        return []  # none yet, unreadable or partial: validate again


def _remember(keys: list[str]) -> None:
    directory = cache_dir()
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f"{VERDICTS_FILE}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(keys), encoding="utf-8")
        os.replace(temporary, directory / VERDICTS_FILE)  # atomic: a concurrent start reads old or new
    except OSError:
        pass  # a read-only home only costs the next start the validation


@cache
def load_validator(path: Path) -> Draft202012Validator:
    """The validator of a schema file, built once per file (tests/test_yaml_schemas.py checks the schemas)."""
    from jsonschema import Draft202012Validator  # here, not at import: see VERDICTS_FILE

    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def first_problem(validator: Draft202012Validator, data: Any) -> tuple[str, str] | None:
    """The first failure in schema order: its dotted key (`rules[0].match.method`) and its expectation."""
    error = next(iter(validator.iter_errors(data)), None)
    if error is None:
        return None
    return _Translation(cast(dict[str, Any], validator.schema), data, error).key_and_problem()


def dotted(path: Sequence[Any]) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    return text or "(top level)"


class _Translation:
    """One jsonschema error read back through the schema: the nearest node that says what it expects."""

    def __init__(self, root: dict[str, Any], data: Any, error: ValidationError) -> None:
        self.root, self.data, self.error = root, data, error
        self.path = list(error.absolute_path)

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:  # local references only: "#/$defs/name"
            target: Any = self.root
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def chain(self) -> list[tuple[dict[str, Any], int]]:
        """Every schema node from the root to the failing keyword's, with the instance depth it applies to."""
        node: Any = self.root
        depth, nodes = 0, [(self.root, 0)]
        keys = list(self.error.absolute_schema_path)[:-1]
        index = 0
        while index < len(keys):
            key = keys[index]
            if key not in node:  # jsonschema leaves "$ref" out of the path: follow it here
                node = self.resolve(node)
                nodes.append((node, depth))
            node = node[key]
            if key in NAMED_CHILD:
                index += 1
                node, depth = node[keys[index]], depth + 1
            elif key in ANY_CHILD:
                depth += 1
            if isinstance(node, dict):
                nodes.append((node, depth))
                resolved = self.resolve(node)
                if resolved is not node:
                    nodes.append((resolved, depth))
            index += 1
        return nodes

    def instance_at(self, depth: int) -> Any:
        value = self.data
        for part in self.path[:depth]:
            value = value[part]
        return value

    def key_and_problem(self) -> tuple[str, str]:
        error, leaf = self.error, self.error.schema
        assert isinstance(leaf, dict)
        keyword, messages = error.validator, leaf.get(MESSAGES, {})
        if keyword == "additionalProperties" and leaf[keyword] is False:
            allowed = list(leaf.get("properties", {}))
            instance: Any = error.instance  # a mapping: additionalProperties failed on it
            extra = next(k for k in instance if k not in allowed)
            unknown = messages.get(keyword, "unknown key")
            return dotted([*self.path, str(extra)]), f"{unknown} (expected one of: {', '.join(allowed)})"
        if keyword in ("required", "dependentRequired"):
            missing = self.missing_property(leaf, keyword)
            described = self.resolve(leaf.get("properties", {}).get(missing, {}))
            return dotted([*self.path, missing]), messages.get(keyword) or described.get("description", "missing")
        if keyword in messages:
            return dotted(self.path), str(messages[keyword]).format(value=error.instance)
        chain = self.chain()
        for index in reversed(range(len(chain))):
            node, depth = chain[index]
            short = self.shorthand(node, depth)
            if short is not None:
                return dotted([*self.path[:depth], short]), self.resolve(node["properties"][short])["description"]
            if "description" in node:
                # A scalar standing for a mapping's one property is reported as that property.
                outer = next((s for n, d in chain[:index] if d == depth and (s := self.shorthand(n, d))), None)
                return dotted([*self.path[:depth], *([outer] if outer else [])]), node["description"]
        return dotted(self.path), error.message

    def shorthand(self, node: dict[str, Any], depth: int) -> str | None:
        if SHORTHAND in node and not isinstance(self.instance_at(depth), dict):
            return str(node[SHORTHAND])
        return None

    def missing_property(self, leaf: dict[str, Any], keyword: str) -> str:
        present: Any = self.error.instance
        if keyword == "required":
            return str(next(name for name in leaf["required"] if name not in present))
        return str(next(name for key, names in leaf[keyword].items() if key in present
                        for name in names if name not in present))
