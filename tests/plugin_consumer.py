"""Test helpers for the plugin's tests: a consumer's small test suite, written and run by pytester."""
from __future__ import annotations

import pytest

# Imported here so that it stays loaded: pytester's in-process runs drop modules first imported during a
# run, and a re-imported requests fails its own isinstance checks against the classes kept from before.
import requests  # noqa: F401

CONSUMER_HEADER = '''
import requests
import pytest

READ = "api:academic:petitions:read"
WRITE = "api:academic:petitions:write"
NEW = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
       "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}

def auth(mock_api, scopes=(READ, WRITE)):
    return {"Authorization": f"Bearer {mock_api.token(scopes=list(scopes))}"}
'''


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An in-process run; hypothesis's plugin is left out only because it costs ~0.8 s per run here."""
    return pytester.runpytest("-p", "no:hypothesispytest", *args)


def consumer(pytester: pytest.Pytester, body: str, name: str = "test_consumer") -> None:
    pytester.makepyfile(**{name: CONSUMER_HEADER + body})
    assert not (pytester.path / "conftest.py").exists()
