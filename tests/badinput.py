"""Test helpers for bad-input tests: every kind of token, and a fresh app with a small body limit."""
from __future__ import annotations

import base64
import json

from flask import Flask

from mock_api.config import DEV_SIGNING_KEY, MockConfig
from mock_api.http.app import create_app
from mock_api.service.dataset import Dataset
from mock_api.service.tokens import issue
from mock_api.state import MockState
from support import FROZEN_AT

LIMIT = 2048  # a small body limit, so that over-limit bodies stay cheap to generate
PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
            "decision": "APPV", "grade_term": "24W", "user_netid": "f006s0b"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tokens(dataset: Dataset) -> dict[str, str]:
    """Valid tokens of each account, and every kind of broken one."""
    accounts = dataset.accounts
    scopes = ["api:academic:petitions:read", "api:academic:petitions:write"]
    rw = issue(accounts["dev-readwrite"], scopes, FROZEN_AT, 10800, DEV_SIGNING_KEY)[0]
    header, payload, signature = rw.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = b64(json.dumps({**claims, "sub": "f00evil"}).encode())
    none_header = b64(b'{"alg":"none","typ":"JWT"}')
    return {
        "rw": rw,
        "ro": issue(accounts["dev-readonly"], scopes[:1], FROZEN_AT, 10800, DEV_SIGNING_KEY)[0],
        "none": issue(accounts["dev-noscopes"], [], FROZEN_AT, 10800, DEV_SIGNING_KEY)[0],
        "expired": issue(accounts["dev-readwrite"], scopes, FROZEN_AT - 20000, 10800, DEV_SIGNING_KEY)[0],
        "other-key": issue(accounts["dev-readwrite"], scopes, FROZEN_AT, 10800, "another-key-" + "x" * 32)[0],
        "tampered": f"{header}.{forged}.{signature}",
        "alg-none": f"{none_header}.{payload}.",
        "alg-none-signed": f"{none_header}.{payload}.{signature}",
        "bad-signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "truncated": rw[: len(rw) // 2],
        "two-parts": f"{header}.{payload}",
    }


def fresh(dataset: Dataset) -> tuple[Flask, MockState]:
    state = MockState(MockConfig(frozen_clock_at=FROZEN_AT, max_body_bytes=LIMIT), dataset=dataset)
    return create_app(state=state), state
