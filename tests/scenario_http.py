"""Helpers for scenario tests over real HTTP: one client object per running server."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from mock_api.service.scopes import READ, WRITE

TIMEOUT = 10
NEW_PETITION = {"netid": "f006s0b", "petition_code": "Q41", "origin_code": "UREG", "school": "UG",
                "decision": "2023-2024", "grade_term": "24W", "user_netid": "f006s0b"}
NEW_ID = "2911310-Q41-24W-2023-2024"  # the record id NEW_PETITION becomes


@dataclass
class Api:
    """A running emulator: control calls, tokens, and plain API calls (new connection each)."""

    base: str

    def control(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{self.base}/_mock{path}", json=body, timeout=TIMEOUT)

    def fresh(self, scenario: str | None = None) -> None:
        """Back to start-up state, the clock frozen, optionally another scenario."""
        assert self.control("POST", "/reset").status_code == 200
        assert self.control("POST", "/clock/freeze").status_code == 200
        if scenario is not None:
            answer = self.control("PUT", "/scenario", {"name": scenario})
            assert answer.status_code == 200, answer.text

    def advance(self, seconds: float) -> None:
        assert self.control("POST", "/clock/advance", {"seconds": seconds}).status_code == 200

    def token(self, key: str = "dev-readwrite", scopes: tuple[str, ...] = (READ, WRITE)) -> dict[str, str]:
        got = requests.post(f"{self.base}/api/jwt", params={"scope": " ".join(scopes)},
                            headers={"Authorization": key}, timeout=TIMEOUT)
        assert got.status_code == 200, got.text
        return {"Authorization": f"Bearer {got.json()['jwt']}"}

    def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        return requests.get(f"{self.base}{path}", headers=headers, timeout=TIMEOUT, **kwargs)

    def post_petition(self, headers: dict[str, str], body: Any = None) -> requests.Response:
        return requests.post(f"{self.base}/api/academic/petitions", json=body or {"petition": NEW_PETITION},
                             headers=headers, timeout=TIMEOUT)

    def submit(self, headers: dict[str, str]) -> str:
        """POST the sample petition; the task's path from Location."""
        return self.submit_body(headers, {"petition": NEW_PETITION})

    def submit_body(self, headers: dict[str, str], body: Any, extra: dict[str, str] | None = None) -> str:
        """POST a body (with extra headers); the task's path from Location."""
        posted = self.post_petition({**headers, **(extra or {})}, body)
        assert posted.status_code == 202, posted.text
        assert posted.json() == {"status": "accepted"}
        return str(posted.headers["Location"])
