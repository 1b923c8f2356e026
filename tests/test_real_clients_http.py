"""Public clients of the real API, unchanged, pointed at the mock over real HTTP: dartmouth-auth (PyPI)."""
from __future__ import annotations

import re
from collections.abc import Iterator

import dartmouth_auth
import jwt
import pytest
import requests

from mock_api.service.scopes import READ, WRITE
from scenario_http import NEW_PETITION
from support import RunningServer, running_server

pytestmark = pytest.mark.slow  # a real server in a subprocess

TIMEOUT = 10


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server() as running:
        yield running


def _claims(token: str) -> dict[str, object]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_get_jwt_with_the_scope_query_gets_a_token_the_api_accepts(server: RunningServer) -> None:
    # dartmouth-auth 0.0.4 has no scope argument: a scope goes in jwt_url's query, as the portal documents.
    token = dartmouth_auth.get_jwt("dev-readwrite", jwt_url=f"{server.url}/api/jwt?scope={READ} {WRITE}")
    assert isinstance(token, str)
    claims = _claims(token)
    assert (claims["sub"], claims["scope"]) == ("f0057pn", f"{READ},{WRITE}")
    auth = {"Authorization": f"Bearer {token}"}
    got = requests.get(f"{server.url}/api/academic/petitions/", params={"netid": "f0027k4"}, headers=auth,
                       timeout=TIMEOUT)
    assert got.status_code == 200 and {r["netid"] for r in got.json()} == {"f0027k4"}
    posted = requests.post(f"{server.url}/api/academic/petitions", json={"petition": NEW_PETITION}, headers=auth,
                           timeout=TIMEOUT)
    assert (posted.status_code, posted.json()) == (202, {"status": "accepted"})


def test_get_jwt_without_the_scope_query_gets_a_token_with_no_scope(server: RunningServer,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The key from the environment variable the package reads; no scope asked, none granted (documented).
    monkeypatch.setenv("DARTMOUTH_API_KEY", "dev-readonly")
    token = dartmouth_auth.get_jwt(jwt_url=f"{server.url}/api/jwt")
    assert isinstance(token, str) and _claims(token)["scope"] == ""
    got = requests.get(f"{server.url}/api/academic/petitions", headers={"Authorization": f"Bearer {token}"},
                       timeout=TIMEOUT)
    assert got.status_code == 403
    assert got.json() == {"message": f"Forbidden: missing scope {READ}", "missing_scopes": [READ]}


def test_get_jwt_with_a_refused_key_raises_the_packages_error(server: RunningServer) -> None:
    # The mock's 401 {"message": "Unauthorized"} has no "jwt": the package turns that into its KeyError.
    with pytest.raises(KeyError, match=re.escape("Could not authenticate. Is your Dartmouth API key valid?")):
        dartmouth_auth.get_jwt("not-a-key", jwt_url=f"{server.url}/api/jwt?scope={READ}")
