"""The disk cache of generated data: same rows as generating, keyed by every input, safe when broken."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from mock_api.config import MockConfig
from mock_api.data import cachedir, gencache
from mock_api.data.fixtures import FixtureSet, load_fixtures
from mock_api.data.generate import generate


@pytest.fixture(scope="module")
def fixtures() -> FixtureSet:
    return load_fixtures(MockConfig().fixtures_dir)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(gencache.CACHE_ENV, str(tmp_path))
    return tmp_path


def test_a_cached_generation_equals_a_fresh_one(fixtures: FixtureSet, cache: Path) -> None:
    fresh = generate(fixtures, 5, 300)
    assert gencache.generate_cached(fixtures, 5, 300) == fresh  # miss: generated and written
    [written] = cache.glob("generated-*.csv")
    assert gencache.generate_cached(fixtures, 5, 300) == fresh  # hit: read back
    assert any(e.grade_term is None for e in fresh[1])  # nulls survive the round trip
    assert list(cache.glob("generated-*.csv")) == [written]


def test_a_hit_does_not_generate(fixtures: FixtureSet, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = gencache.generate_cached(fixtures, 6, 50)
    import mock_api.data.generate

    def refuse(*args: object) -> None:
        raise AssertionError("generated although cached")
    monkeypatch.setattr(mock_api.data.generate, "generate", refuse)
    assert gencache.generate_cached(fixtures, 6, 50) == expected


def test_every_input_is_in_the_key(fixtures: FixtureSet) -> None:
    keys = {gencache.cache_key(fixtures, 1, 10), gencache.cache_key(fixtures, 2, 10),
            gencache.cache_key(fixtures, 1, 11)}
    fewer_codes = dataclasses.replace(fixtures, event_codes={"Q41": "x"})
    keys.add(gencache.cache_key(fewer_codes, 1, 10))
    assert len(keys) == 4


def test_a_broken_cache_file_is_regenerated(fixtures: FixtureSet, cache: Path) -> None:
    expected = gencache.generate_cached(fixtures, 7, 20)
    [written] = cache.glob("generated-*.csv")
    written.write_text('{"students": [["only-one-field"]]')
    assert gencache.generate_cached(fixtures, 7, 20) == expected
    assert gencache.generate_cached(fixtures, 7, 20) == expected  # and rewritten whole


def test_a_file_cut_short_is_not_taken_for_a_whole_one(fixtures: FixtureSet, cache: Path) -> None:
    expected = gencache.generate_cached(fixtures, 7, 20)
    [written] = cache.glob("generated-*.csv")
    lines = written.read_bytes().splitlines(keepends=True)
    assert lines[-1] == f"end,20,{len(expected[1])}\r\n".encode()  # the end row counts both tables
    written.write_bytes(b"".join(lines[:-2]))  # a whole event row lost, and the end row
    assert gencache._read(written) is None
    assert gencache.generate_cached(fixtures, 7, 20) == expected
    assert written.read_bytes().splitlines(keepends=True) == lines  # rewritten whole


def test_the_cache_can_be_turned_off(fixtures: FixtureSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(gencache.CACHE_ENV, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cachedir.cache_dir() is None
    assert gencache.generate_cached(fixtures, 8, 20) == generate(fixtures, 8, 20)
    assert list(tmp_path.rglob("generated-*")) == []


def test_an_unwritable_cache_still_generates(fixtures: FixtureSet, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(gencache.CACHE_ENV, str(blocker / "cache"))
    assert gencache.generate_cached(fixtures, 9, 20) == generate(fixtures, 9, 20)


def test_the_cache_keeps_the_newest_data_files_only(fixtures: FixtureSet, cache: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gencache, "GENERATED_KEPT", 3)
    old_format = cache / "generated-0123.json"  # a file of the cache's former format
    old_format.write_text("{}")
    os.utime(old_format, ns=(1, 1))
    unrelated = cache / "yaml-abc.json"
    unrelated.write_text("{}")
    for count in (10, 11, 12, 13):
        gencache.generate_cached(fixtures, 5, count)
        # Written in the same clock tick, files may share an mtime: each one's is set apart, in order.
        written = cache / f"generated-{gencache.cache_key(fixtures, 5, count)}.csv"
        os.utime(written, ns=(count * 10**9, count * 10**9))
    kept = sorted(path.name for path in cache.glob("generated-*"))
    assert len(kept) == 3 and not old_format.exists() and unrelated.exists()
    first = cache / f"generated-{gencache.cache_key(fixtures, 5, 10)}.csv"
    assert not first.exists()  # the oldest written went first
