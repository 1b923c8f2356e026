"""A real HTTP server in this process (werkzeug, as the pytest plugin serves) over a state a test steers."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests

from mock_api.http.app import create_app
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from mock_api.testing.harness import ServerThread

TIMEOUT = 10


@dataclass
class Live:
    """The server's URL and its state: reset, move the clock, then call it as a client would."""

    url: str
    state: MockState

    def token(self, key: str = "dev-readwrite", scopes: Sequence[str] = (READ, WRITE)) -> dict[str, str]:
        got = requests.post(f"{self.url}/api/jwt", params={"scope": " ".join(scopes)},
                            headers={"Authorization": key}, timeout=TIMEOUT)
        assert got.status_code == 200, got.text
        return {"Authorization": f"Bearer {got.json()['jwt']}"}

    def get(self, path: str, headers: dict[str, str], params: Any = None) -> requests.Response:
        return requests.get(f"{self.url}{path}", params=params, headers=headers, timeout=TIMEOUT)


@contextmanager
def live_server(state: MockState) -> Iterator[Live]:
    server = ServerThread(create_app(state=state))
    server.start()
    try:
        yield Live(server.url, state)
    finally:
        server.stop()
