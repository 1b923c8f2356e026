"""The docs name only what exists: options, MOCK_API_* variables, endpoints, ini names, links and anchors."""
from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mock_api.cli import build_top_parser
from mock_api.cli.env import settable, variable
from mock_api.cli.serve import build_parser
from mock_api.contract.spec import load_spec
from support import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OPTION = re.compile(r"(?<![\w/.-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
VARIABLE = re.compile(r"\bMOCK_API_[A-Z0-9_]*[A-Z0-9]\b")
ENDPOINT = re.compile(r"\b(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) (/[^\s`)\"',;|]*)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
INI = re.compile(r"\bini (?:option )?`?(mock_api_[a-z_]+)")
HEADER = re.compile(r"\bX-[A-Z][A-Za-z0-9-]*[A-Za-z0-9]\b")
# Headers a doc shows as the client's own (a scenario rule matching on them), not headers of mock_api.
CLIENTS_OWN = {"X-Client"}
# Options of other tools the docs show in their commands (pip, pytest, curl, make, git, wrk, chromium...).
FOREIGN = {
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run",
    "--quiet", "--upgrade", "--no-build-isolation", "--junitxml", "--strict-markers", "--no-print-directory",
    "--version", "--help", "--write-out", "--data", "--header", "--fail", "--output", "--silent", "--show-error",
    "--include", "--request", "--location", "--user", "--recursive", "--depth", "--tb", "--durations", "--no-deps",
    "--python", "--no-compile", "--disable-pip-version-check", "--config-settings", "--editable", "--latency",
    "--threads", "--connections", "--duration", "--timeout", "--script", "--numprocesses", "--dist", "--maxfail",
    "--hypothesis-profile", "--hypothesis-show-statistics", "--exitfirst", "--lf", "--cov", "--with-deps", "--rm",
    "--network"}


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _where(path: Path, text: str, index: int) -> str:
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, index) + 1}"


@functools.cache
def _pytest_help() -> str:
    """`pytest --help` as a user reads it, with the plugin's options and ini names."""
    return subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True).stdout


def _plugin_options() -> set[str]:
    return set(re.findall(r"--mock-api-[a-z-]+", _pytest_help()))


def _ini_names() -> set[str]:
    return set(re.findall(r"^  (mock_api_[a-z_]+) \(", _pytest_help(), flags=re.M))


def _known_options() -> set[str]:
    from mock_api.contract.strict import build_parser as violations_parser
    from mock_api.contract.verify import build_parser as verify_parser

    parsers = [build_parser(), build_top_parser(), verify_parser(), violations_parser()]
    benchmarks = "\n".join(_text(p) for p in ROOT.joinpath("benchmarks").glob("*.py"))  # scripts, not importable
    return ({name for p in parsers for a in getattr(p, "options", []) for name in a.option_strings}
            | _plugin_options() | set(re.findall(r'add_argument\("(--[a-z-]+)"', benchmarks)))


@pytest.mark.slow  # `pytest --help` in a subprocess, for the plugin's options
def test_every_option_the_docs_name_exists() -> None:
    known = _known_options() | FOREIGN
    unknown = [(_where(path, text, m.start()), m.group()) for path in DOCS for text in [_text(path)]
               for m in OPTION.finditer(text) if m.group() not in known]
    assert unknown == [], "\n".join(map(str, unknown))


def test_every_variable_the_docs_name_is_read_somewhere() -> None:
    serve = {variable(a) for a in settable(build_parser())}
    sources = "\n".join(_text(p) for p in [*ROOT.joinpath("mock_api").rglob("*.py"), ROOT / "docs/ci/run-with-mock.sh"])
    read = serve | set(VARIABLE.findall(sources))
    unknown = [(_where(path, text, m.start()), m.group()) for path in DOCS for text in [_text(path)]
               for m in VARIABLE.finditer(text) if m.group() not in read]
    assert unknown == [], "\n".join(map(str, unknown))


def test_every_header_the_docs_name_is_sent_or_read_by_mock_api() -> None:
    sources = "\n".join(_text(p) for p in ROOT.joinpath("mock_api").rglob("*") if p.suffix in (".py", ".js", ".yaml"))
    known = {name.lower() for name in HEADER.findall(sources)} | {name.lower() for name in CLIENTS_OWN}
    unknown = [(_where(path, text, m.start()), m.group()) for path in DOCS for text in [_text(path)]
               for m in HEADER.finditer(text) if m.group().lower() not in known]
    assert unknown == [], "\n".join(map(str, unknown))


def _templates() -> dict[str, set[str]]:
    return {path: {m.upper() for m in item if m in ("get", "post", "put", "delete", "patch", "head", "options")}
            for path, item in load_spec()["paths"].items()}


def _matches(template: str, path: str) -> bool:
    pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template))
    return re.fullmatch(pattern, path) is not None


# The docs show this wrong method on purpose: the real API answers it 405 (docs/fidelity.md).
WRONG_ON_PURPOSE = {"GET /api/jwt"}


def _targets(written: str) -> list[str]:
    """The paths a doc's `/x[/{id}]` names (an optional part in brackets), without a session prefix,
    query, fragment or one trailing slash (every route takes one: tests/test_routes_http.py)."""
    target = written.split("?")[0].split("#")[0].rstrip(".:")
    target = re.sub(r"^/s/(\{name\}|[A-Za-z0-9_-]+)(?=/)", "", target)
    optional = re.fullmatch(r"(.*)\[(.*)\]", target)
    found = [optional.group(1), optional.group(1) + optional.group(2)] if optional else [target]
    return [t.rstrip("/") if t != "/" and t.rstrip("/") else t for t in found]


def test_every_endpoint_the_docs_name_is_in_the_openapi_document() -> None:
    templates = _templates()
    unknown = []
    for path in DOCS:
        text = _text(path)
        for m in ENDPOINT.finditer(text):
            method = m.group(1)
            for target in _targets(m.group(2)):
                if f"{method} {target}" in WRONG_ON_PURPOSE:
                    continue
                if method in ("HEAD", "OPTIONS") and any(_matches(t, target) for t in templates):
                    continue  # every route answers them (docs/reference.md, Endpoints)
                if not any(_matches(t, target) and method in methods for t, methods in templates.items()):
                    unknown.append((_where(path, text, m.start()), f"{method} {target}"))
    assert unknown == [], "\n".join(map(str, unknown))


@pytest.mark.slow  # `pytest --help` in a subprocess, for the plugin's ini names
def test_every_ini_name_the_docs_name_is_the_plugins() -> None:
    known = _ini_names()
    assert {"mock_api_url", "mock_api_isolation", "mock_api_journal_limit"} <= known
    unknown = [(_where(path, text, m.start()), m.group(1)) for path in DOCS for text in [_text(path)]
               for m in INI.finditer(text) if m.group(1) not in known]
    assert unknown == [], "\n".join(map(str, unknown))


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped (not - or _), spaces as -."""
    found = set()
    for line in _text(path).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_relative_link_and_anchor_resolves(doc: Path) -> None:
    text = _text(doc)
    broken = []
    for m in LINK.finditer(text):
        target = m.group(1)
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        if not linked.exists():
            broken.append((_where(doc, text, m.start()), target, "no such file"))
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append((_where(doc, text, m.start()), target, "no such heading"))
    assert broken == [], "\n".join(map(str, broken))


def test_a_section_named_in_words_is_a_heading_of_that_page() -> None:
    # "(README, Limits)": a pointer in words, which no link checker sees when the section moves.
    headings = {"README": {h.lstrip("#").strip() for h in _text(ROOT / "README.md").splitlines() if h.startswith("#")}}
    stale = [(_where(path, text, m.start()), m.group()) for path in DOCS for text in [_text(path)]
             for m in re.finditer(r'\(README, "?([^")]+)"?\)', text) if m.group(1) not in headings["README"]]
    assert stale == [], "\n".join(map(str, stale))


def test_the_banner_line_dashboard_md_quotes_is_the_one_the_server_prints() -> None:
    from mock_api.cli.serve import welcome

    line = next(line for line in welcome("http://127.0.0.1:8000", True, ["dev-readwrite"]).splitlines()
                if "dashboard" in line)
    assert f"(`{line}`)" in _text(ROOT / "docs" / "dashboard.md")


def test_each_control_call_has_one_row_in_the_reference_table() -> None:
    text = _text(ROOT / "docs" / "reference.md")
    section = text[text.index("## The control API"):text.index("\n## ", text.index("## The control API") + 1)]
    rows = re.findall(r"^\| `((?:GET|POST|PUT|DELETE) [^`]+)`", section, flags=re.M)
    assert len(rows) > 12 and sorted({r for r in rows if rows.count(r) > 1}) == []
