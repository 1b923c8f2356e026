"""The layer rule of docs/design.md, checked on the source: no import from a higher layer, no cycle."""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mock_api"
# Lowest first. A module may import its own layer's package and any layer below it, never one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("mock_api.config", "mock_api.limits", "mock_api.cliargs"),
    ("mock_api.data",),
    ("mock_api.service",),
    ("mock_api.scenarios", "mock_api.contract"),
    ("mock_api.state",),
    ("mock_api.verification", "mock_api.checkpoint"),
    ("mock_api.sessions",),
    ("mock_api.http",),
    ("mock_api.testing",),
    ("mock_api.cluster",),
    # Entry points and the 0.1 import paths kept as shims.
    ("mock_api.cli", "mock_api.__main__", "mock_api.app", "mock_api.coverage", "mock_api"),
)
# Groups whose members may import each other: settings, and the entry points over everything.
OPEN_LAYERS = (0, len(LAYERS) - 1)
WEB_LIBRARIES = ("flask", "werkzeug", "httptools", "waitress", "granian", "gunicorn")
WEB_LAYERS = ("mock_api.http", "mock_api.testing")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit(module: str) -> tuple[int, str]:
    """The layer and the package (or top-level module) a module belongs to."""
    for level, units in enumerate(LAYERS):
        for name in units:
            if module == name or (name != "mock_api" and module.startswith(name + ".")):
                return level, name
    raise AssertionError(f"{module} is in no layer of tests/test_layers.py: give it one")


def imports(path: Path) -> Iterator[tuple[str, int]]:
    """Every module a file imports, function-level and TYPE_CHECKING imports included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
            for alias in node.names:  # `from mock_api.service import errors` imports a module too
                yield f"{node.module}.{alias.name}", node.lineno


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def graph() -> dict[str, set[str]]:
    known = {module_name(p) for p in sources()}
    edges: dict[str, set[str]] = {}
    for path in sources():
        targets = {name for name, _ in imports(path) if name in known}
        edges[module_name(path)] = targets - {module_name(path)}
    return edges


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_no_import_from_a_higher_layer(path: Path) -> None:
    source = module_name(path)
    level, own = unit(source)
    for target, line in imports(path):
        if not target.startswith("mock_api.") or target not in graph_nodes():
            continue
        target_level, target_unit = unit(target)
        assert target_level < level or target_unit == own or (target_level == level and level in OPEN_LAYERS), \
            f"{path.name}:{line}: {source} (layer {own}) imports {target} (layer {target_unit})"


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_web_libraries_only_in_the_http_and_testing_layers(path: Path) -> None:
    source = module_name(path)
    if source.startswith(WEB_LAYERS) or source in ("mock_api.cli",):
        return
    for target, line in imports(path):
        assert target.split(".")[0] not in WEB_LIBRARIES, f"{path.name}:{line}: {source} imports {target}"


def graph_nodes() -> set[str]:
    return {module_name(p) for p in sources()}


def test_no_import_cycle() -> None:
    edges = graph()
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(node):], node]))
        if node in done:
            return
        for target in sorted(edges.get(node, ())):
            visit(target, [*stack, node])
        done.add(node)

    for node in sorted(edges):
        visit(node, [])


def test_the_rule_itself_catches_a_violation(tmp_path: Path) -> None:
    # The checks above must be able to fail: a service module importing the http layer is caught.
    assert unit("mock_api.service.backend")[0] < unit("mock_api.http.app")[0]
    bad = tmp_path / "bad.py"
    bad.write_text("from flask import Flask\nfrom mock_api.http.app import create_app\n", encoding="utf-8")
    assert [name for name, _ in imports(bad)][:2] == ["flask", "flask.Flask"]


# Libraries the package must not carry: another server's code (ours serves, in the CLI and the plugin alike),
# and a driver for one ObjectId timestamp.
UNCARRIED = ("waitress", "gunicorn", "granian", "bson", "pymongo", "werkzeug.serving")


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_no_other_server_nor_mongo_driver_in_the_package(path: Path) -> None:
    for target, line in imports(path):
        assert not target.startswith(UNCARRIED), f"{path.name}:{line}: imports {target}"


def private_names(path: Path) -> list[str]:
    """Names starting with _ imported from Flask or werkzeug, or read off one of their modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("flask", "werkzeug"):
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
            found += [node.module or ""] if any(part.startswith("_") for part in (node.module or "").split(".")) else []
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__") \
                and isinstance(node.value, ast.Name) and node.value.id in ("flask", "werkzeug", "request", "Rule"):
            found.append(f"{node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_no_private_name_of_flask_or_werkzeug(path: Path) -> None:
    """Flask and werkzeug have no upper bound in pyproject.toml: the package may rely on their public API only."""
    assert private_names(path) == []


def test_the_private_name_rule_catches_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from flask.json.provider import _default\nrequest._get_current_object()\n", encoding="utf-8")
    assert private_names(bad) == ["flask.json.provider._default", "request._get_current_object"]
