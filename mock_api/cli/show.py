"""`mock-api show FILE`: a snapshot or failure bundle in a few lines of state and its journal as a table."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mock_api.checkpoint import SnapshotError, read_file
from mock_api.cliargs import PROG, OneLineParser, fail

COLUMNS = ("seq", "method", "path", "status", "scenario", "fault")
PATH_WIDTH = 60  # a longer path is cut with "..." so that the table stays one line a request


def state_lines(document: dict[str, Any]) -> list[str]:
    backend = document.get("backend") or {}
    tasks = backend.get("tasks") or []
    accepted = sum(1 for task in tasks if "payload" in task)
    clock = document.get("clock") or {}
    scenario = document.get("scenario") or {}
    data = document.get("data") or {}
    lines = [f"test        {document['test']}"] if "test" in document else []
    lines += [f"format      {document.get('format')} (mock_api {document.get('mock_api')}); "
              f"seed {document.get('seed')}, {data.get('students')} students, {data.get('petitions')} petitions",
              f"clock       {clock.get('now')}{' (frozen)' if clock.get('frozen') else ''}",
              f"scenario    {scenario.get('name')} ({scenario.get('source')}); "
              f"{len((document.get('counters') or {}).get('counts') or [])} rule counts",
              f"written     {len(backend.get('petitions') or [])} petitions, {len(tasks)} tasks ({accepted} accepted, "
              f"{len(tasks) - accepted} complete), {len(backend.get('found_sets') or [])} found sets"]
    if "violations" in document:
        lines.append(f"violations  {len(document['violations'])}")
        lines += [f"  #{v.get('first_seq')} {v.get('method')} {v.get('path')}: {v.get('message')}"
                  for v in document["violations"]]
    journal = document.get("journal")
    lines.append("journal     left out (journal=false)" if journal is None else f"journal     {len(journal)} entries")
    return lines


def journal_table(journal: list[dict[str, Any]]) -> list[str]:
    rows = [COLUMNS, *(tuple(_cell(record, column) for column in COLUMNS) for record in journal
                       if "entry" not in record)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return ["  ".join(cell.rjust(width) if i in (0, 3) else cell.ljust(width)
                      for i, (cell, width) in enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]


def _cell(record: dict[str, Any], column: str) -> str:
    value = record.get(column)
    text = "-" if value is None else str(value)
    return text if len(text) <= PATH_WIDTH else text[:PATH_WIDTH - 3] + "..."


def main(argv: Sequence[str]) -> int:
    parser = OneLineParser(prog=f"{PROG} show", description="print a snapshot or failure bundle: its state in a few "
                                                               "lines, its journal as a table")
    parser.add_argument("file", type=Path, metavar="FILE", help="a GET /_mock/snapshot document or a bundle")
    args = parser.parse_args(argv)
    try:
        document = read_file(args.file)
    except SnapshotError as exc:
        return fail(f"{args.file}: {exc}")
    if not isinstance(document, dict) or not str(document.get("format", "")).startswith("mock_api.snapshot/"):
        return fail(f"{args.file}: not a mock_api snapshot or bundle (no \"format\": \"mock_api.snapshot/N\")")
    lines = state_lines(document)
    if document.get("journal"):
        lines += ["", *journal_table(document["journal"])]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
