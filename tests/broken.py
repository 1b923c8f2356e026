"""Breaks one stage of a request's path on purpose, in this process or in a CLI server: `python tests/broken.py
STAGE [serve options]` serves with that stage raising (the failure policy's tests)."""
from __future__ import annotations

import importlib
import sys
from typing import Any

# Each stage: where its code lives and the name to replace with one that raises.
STAGES = {
    "routing": ("mock_api.http.dispatch", "match"),
    "scenario": ("mock_api.http.pipeline", "decide"),
    "handler": ("mock_api.service.backend:Backend", "find_petitions"),
    "journal": ("mock_api.contract.journal:Journal", "record"),
    "coverage": ("mock_api.contract.coverage:Coverage", "observe"),
    "strict": ("mock_api.http.pipeline", "record_violations"),
    "request log": ("mock_api.contract.requestlog:RequestLog", "write"),
}
OBSERVING = ("journal", "coverage", "strict", "request log")  # an error there never changes the answer


class StageBroken(RuntimeError):
    """Raised by a stage broken on purpose."""


def _owner(where: str) -> Any:
    module, _, attribute = where.partition(":")
    found = importlib.import_module(module)
    return getattr(found, attribute) if attribute else found


def break_stage(stage: str) -> tuple[Any, str, Any]:
    """Replace the stage's function with one that raises; returns what to put back (owner, name, original)."""
    where, name = STAGES[stage]
    owner = _owner(where)
    original = getattr(owner, name)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise StageBroken(f"{stage} broken on purpose")
    setattr(owner, name, broken)
    return owner, name, original


if __name__ == "__main__":
    break_stage(sys.argv[1])
    from mock_api.cli import main

    sys.exit(main(sys.argv[2:]))
