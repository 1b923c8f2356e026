"""docs/fidelity.md names sources a reader can find and has a row for every scenario the server lists."""
from __future__ import annotations

import re

import pytest
import requests

from support import ROOT, running_server

DOC = (ROOT / "docs" / "fidelity.md").read_text(encoding="utf-8")


def _section(name: str) -> str:
    return DOC.split(f"<!-- section: {name} -->", 1)[1].split(f"<!-- /section: {name} -->", 1)[0]


def test_sources_are_portal_page_titles_and_public_clients_not_seed_file_numbers() -> None:
    assert re.findall(r"seed 00\d", DOC) == []  # a file name of ours, not something a reader can look up
    assert '"Academic Attendance API - POST"' in DOC and '"Academic Petitions API"' in DOC
    assert "dali-lab/dali-os `dali-api/app/lib/dartmouth-jwt.ts`" in DOC
    assert "dartmouth-auth 0.0.4" in DOC


@pytest.mark.slow
def test_every_scenario_the_server_lists_has_a_row() -> None:
    with running_server() as server:
        listed = requests.get(f"{server.url}/_mock/scenarios", timeout=10).json()
    names = [s["name"] for s in listed]
    assert "pessimistic" in names
    rows = _section("scenarios")
    assert [n for n in names if f"\n| `{n}`" not in rows] == []


def test_strict_and_verify_behaviours_have_rows() -> None:
    contract = _section("contract")
    for row in ("| Strict: read before the refresh |", "| Strict: read by Mongo id |",
                "| `verify` with a refused key |", "| `verify` base URL ending in `/api` |",
                "| `verify` single-record read |"):
        assert row in contract
    assert "`read_before_refresh`" in contract and "`read_by_mongo_id`" in contract
