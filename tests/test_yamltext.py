"""Parsed YAML kept in the cache directory: same values as parsing, no PyYAML at start, bounded, safe when broken."""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mock_api.data import yamltext
from mock_api.data.cachedir import CACHE_ENV
from mock_api.data.yamltext import PARSED_KEPT, PARSED_PREFIX, YamlError, load_yaml, yaml_problem

TEXT = "name: mine\ncount: 3\nratio: 0.5\nflags: [true, null, '7']\nnested: {b: 1, a: [x, y]}\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    return tmp_path


def parsed_files(cache: Path) -> list[Path]:
    return sorted(cache.glob(f"{PARSED_PREFIX}*.json"))


def test_a_kept_parse_gives_the_same_value_in_the_same_order(cache: Path) -> None:
    fresh = yaml.safe_load(TEXT)
    first = load_yaml(TEXT)  # parsed, then kept
    assert len(parsed_files(cache)) == 1
    again = load_yaml(TEXT)  # read back
    assert first == again == fresh
    assert list(again) == ["name", "count", "ratio", "flags", "nested"] and list(again["nested"]) == ["b", "a"]
    assert again is not first and again["flags"] is not first["flags"]  # a fresh object: callers may mutate it


def test_a_hit_does_not_parse(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = load_yaml(TEXT)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed although kept")
    monkeypatch.setattr(yaml, "load", refuse)
    assert load_yaml(TEXT) == expected


@pytest.mark.parametrize("text", [
    "when: 2024-01-08\n",  # a date: JSON would give it back as text
    "1: one\n",  # a non-text key: JSON would give "1"
    "value: .nan\n",  # NaN is not equal to itself: not known to round-trip
    "tags: !!set {a: null}\n",
])
def test_what_json_cannot_give_back_is_parsed_every_time(cache: Path, text: str) -> None:
    load_yaml(text)
    load_yaml(text)
    assert parsed_files(cache) == []


def test_a_date_stays_a_date(cache: Path) -> None:
    for _ in range(2):
        assert load_yaml("when: 2024-01-08\n") == {"when": datetime.date(2024, 1, 8)}


def test_bad_syntax_names_line_and_column_and_is_not_kept(cache: Path) -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml("a: [1, 2\nb: 3\n")
    where, what = yaml_problem(caught.value)
    assert where == "line 2, column 2" and what.startswith("YAML syntax: ") and "<unicode string>" not in what
    assert isinstance(caught.value, ValueError)  # the loaders catch ValueError: bad encodings and dates too
    assert yaml_problem(ValueError("day is out of\n range")) == ("(syntax)", "day is out of range")
    assert parsed_files(cache) == []


def test_a_broken_kept_copy_is_parsed_again(cache: Path) -> None:
    load_yaml(TEXT)
    [kept] = parsed_files(cache)
    kept.write_text('{"name": ', encoding="utf-8")
    assert load_yaml(TEXT) == yaml.safe_load(TEXT)
    assert load_yaml(TEXT) == yaml.safe_load(TEXT)  # rewritten whole by the second load


def test_off_or_unwritable_cache_still_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "off")
    assert load_yaml(TEXT) == yaml.safe_load(TEXT)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
    assert load_yaml(TEXT) == yaml.safe_load(TEXT)


def test_the_kept_copies_are_bounded_oldest_dropped_first(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamltext, "PARSED_KEPT", 3)
    for n in range(5):
        before = set(parsed_files(cache))
        load_yaml(f"n: {n}\n")
        [new] = set(parsed_files(cache)) - before
        os.utime(new, ns=(n, n))  # written in this order, whatever the clock's resolution
    kept = parsed_files(cache)
    assert sorted(json.loads(path.read_text(encoding="utf-8"))["n"] for path in kept) == [2, 3, 4]
    assert PARSED_KEPT == 256


START_CODE = ("import sys; from mock_api.config import MockConfig, default_scenarios_dir; "
              "from mock_api.data.fixtures import load_fixtures; "
              "from mock_api.scenarios.catalog import ScenarioCatalog; "
              "load_fixtures(MockConfig().fixtures_dir); ScenarioCatalog(default_scenarios_dir()).get('default'); "
              "print('yaml' in sys.modules)")


def test_a_start_with_kept_texts_does_not_import_pyyaml(tmp_path: Path) -> None:
    def start(cache: str) -> str:
        return subprocess.run([sys.executable, "-c", START_CODE], env={**os.environ, CACHE_ENV: cache},
                              capture_output=True, text=True, timeout=60, check=True).stdout
    assert start(str(tmp_path)) == "True\n"  # first start: parsed, kept
    assert len(parsed_files(tmp_path)) == 6  # 5 fixture files, 1 scenario
    assert start(str(tmp_path)) == "False\n"
    assert start("off") == "True\n"
