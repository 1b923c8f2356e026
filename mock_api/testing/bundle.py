"""Failure bundles: a failed test's snapshot (journal included), test id and violations, one JSON file a test."""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from mock_api.checkpoint import take

if TYPE_CHECKING:
    from mock_api.testing.harness import MockApiHandle

NAME_CHARS = 120  # a longer test id is cut and told apart by a hash of the whole id


def file_name(test_id: str) -> str:
    """The test id as a safe file name: letters, digits, . _ - kept, anything else `_`; `.json` added."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", test_id).strip(".") or "test"
    if len(safe) > NAME_CHARS:
        safe = safe[:NAME_CHARS] + "-" + hashlib.sha256(test_id.encode()).hexdigest()[:12]
    return safe + ".json"


def write_bundle(directory: Path, test_id: str, handle: MockApiHandle) -> Path:
    """DIR/<test id>.json: the snapshot of the test's state now, plus `test` and `violations`. Written whole
    (a temporary file renamed), so a reader never sees half of one."""
    document = take(handle.state, journal=True)
    document.update(test=test_id, violations=handle.violations, violations_dropped=handle.violations_dropped)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(test_id)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
    os.replace(temporary, path)
    return path
