"""POST /api/jwt and token verification: shapes, scopes, and every way a token is refused."""
from __future__ import annotations

import base64
import json

import jwt
import pytest
import requests
from flask.testing import FlaskClient

from live_server import live_server
from mock_api.config import DEV_SIGNING_KEY
from mock_api.service.scopes import READ, WRITE
from mock_api.service.tokens import TokenError, verify
from mock_api.state import MockState
from support import bearer, token_for

UNAUTHORIZED = {"message": "Unauthorized"}
SEED_SCOPES = [READ, "urn:dartmouth:students:read.sensitive", "urn:dartmouth:people:private", WRITE]


def test_jwt_reply_shape_and_claims(client: FlaskClient) -> None:
    response = client.post("/api/jwt", query_string={"scope": f"{READ} {WRITE}"},
                           headers={"Authorization": "dev-readwrite"})
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.get_json()
    assert list(body) == ["jwt", "payload", "accepted_scopes"]
    assert body["accepted_scopes"] == [READ, WRITE]
    payload = body["payload"]
    assert list(payload) == ["sub", "name", "email", "scope", "exp", "iat"]
    assert payload == {"sub": "f0057pn", "name": "DPLAN API", "email": "DPLAN.API@dartmouth.edu",
                       "scope": f"{READ},{WRITE}", "exp": 1732141853, "iat": 1732131053}
    assert payload["exp"] - payload["iat"] == 10800
    decoded = jwt.decode(body["jwt"], DEV_SIGNING_KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert decoded == payload
    assert jwt.get_unverified_header(body["jwt"])["alg"] == "HS256"


def test_tokens_with_string_times_are_still_accepted(client: FlaskClient, state: MockState) -> None:
    """A tolerant reader: tokens issued before times were numbers, or made by hand from the seed's requester."""
    claims = {**_claims(client), "exp": "1732141853", "iat": "1732131053"}
    token = jwt.encode(claims, DEV_SIGNING_KEY, algorithm="HS256")
    assert client.get("/api/petition_types", headers=bearer(token)).status_code == 200
    state.clock.advance(10800)
    response = client.get("/api/petition_types", headers=bearer(token))
    assert (response.status_code, response.get_json()) == (401, UNAUTHORIZED)


def test_only_requested_and_granted_scopes_come_back(client: FlaskClient) -> None:
    response = client.post("/api/jwt", query_string={"scope": f"{WRITE} {READ} {READ} api:other:scope"},
                           headers={"Authorization": "dev-readonly"})
    assert response.get_json()["accepted_scopes"] == [READ]
    assert response.get_json()["payload"]["scope"] == READ


def test_the_seed_requesters_scopes_can_all_be_granted(client: FlaskClient) -> None:
    response = client.post("/api/jwt", query_string={"scope": " ".join(SEED_SCOPES)},
                           headers={"Authorization": "dev-readwrite"})
    assert response.get_json()["accepted_scopes"] == SEED_SCOPES


def test_no_scope_parameter_means_no_scopes(client: FlaskClient) -> None:
    response = client.post("/api/jwt", headers={"Authorization": "dev-readwrite"})
    assert response.status_code == 200
    assert response.get_json()["accepted_scopes"] == []
    assert response.get_json()["payload"]["scope"] == ""


@pytest.mark.parametrize("headers", [{}, {"Authorization": "no-such-key"}, {"Authorization": "Bearer dev-readwrite"},
                                     {"Authorization": ""}])
def test_missing_or_unknown_key_is_401(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.post("/api/jwt", query_string={"scope": READ}, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == UNAUTHORIZED


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_on_jwt_are_405(client: FlaskClient, method: str) -> None:
    response = client.open("/api/jwt", method=method, headers={"Authorization": "dev-readwrite"})
    assert response.status_code == 405
    assert response.get_json() == {"detail": "Method Not Allowed"}
    assert "POST" in response.headers["Allow"]


def _forge(claims: dict[str, str], header: dict[str, str]) -> str:
    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part(header)}.{part(claims)}."


def _claims(client: FlaskClient) -> dict[str, str]:
    response = client.post("/api/jwt", query_string={"scope": READ}, headers={"Authorization": "dev-readwrite"})
    return dict(response.get_json()["payload"])


def refused_tokens(client: FlaskClient) -> dict[str, str]:
    claims = _claims(client)
    good = token_for(client, "dev-readwrite", (READ,))
    header, _, signature = good.split(".")
    return {
        "alg none": _forge(claims, {"alg": "none", "typ": "JWT"}),
        "other key": jwt.encode(claims, "not-the-emulator-key-at-all-0123456789", algorithm="HS256"),
        "other alg": jwt.encode(claims, DEV_SIGNING_KEY, algorithm="HS512"),
        "tampered payload": f"{header}.{_forge({**claims, 'scope': f'{READ},{WRITE}'}, {}).split('.')[1]}.{signature}",
        "no exp": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, DEV_SIGNING_KEY, algorithm="HS256"),
        "garbage": "not.a.jwt",
        "empty": "",
    }


@pytest.mark.filterwarnings("ignore:The HMAC key")  # the "other alg" token uses a short key on purpose
def test_refused_tokens_are_401_everywhere(client: FlaskClient) -> None:
    for name, token in refused_tokens(client).items():
        for path in ("/api/academic/petitions", "/api/petition_types", "/api/tasks/673e4c82185254cacb8d2967"):
            response = client.get(path, headers=bearer(token))
            assert (response.status_code, response.get_json()) == (401, UNAUTHORIZED), (name, path)


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer", "bearer  ", "Token abc"])
def test_missing_or_wrong_scheme_is_401(client: FlaskClient, header: str | None) -> None:
    response = client.get("/api/academic/petitions", headers={"Authorization": header} if header else {})
    assert (response.status_code, response.get_json()) == (401, UNAUTHORIZED)


def test_token_expires_after_three_hours_of_clock_time(client: FlaskClient, state: MockState) -> None:
    headers = bearer(token_for(client, "dev-readwrite", (READ,)))
    state.clock.advance(10799)
    assert client.get("/api/petition_types", headers=headers).status_code == 200
    state.clock.advance(1)
    response = client.get("/api/petition_types", headers=headers)
    assert (response.status_code, response.get_json()) == (401, UNAUTHORIZED)


def test_missing_scope_is_403_naming_it(client: FlaskClient, ro: dict[str, str]) -> None:
    response = client.post("/api/academic/petitions", json={"petition": {}}, headers=ro)
    assert response.status_code == 403
    assert response.get_json() == {"message": f"Forbidden: missing scope {WRITE}", "missing_scopes": [WRITE]}


def test_token_without_scopes_cannot_read(client: FlaskClient) -> None:
    headers = bearer(token_for(client, "dev-noscopes", (READ,)))
    for path in ("/api/academic/petitions", "/api/academic/petitions/2907841-Q25-24W=L-APPV",
                 "/api/students/f0027k4/petitions", "/api/petition_types", "/api/petition_types/Q25"):
        response = client.get(path, headers=headers)
        assert response.status_code == 403, path
        assert response.get_json()["missing_scopes"] == [READ]


@pytest.mark.parametrize(("exp", "iat", "now", "reason"), [
    (2000, "soon", 1000, "claim iat is not epoch seconds"),
    (2000, "soon", 2000, "expired"),  # expiry is judged first: strict mode names an expired token as such
    ("later", 1000, 1000, "claim exp is not epoch seconds"),
])
def test_a_memoised_token_gives_the_same_reason_at_each_clock(exp: object, iat: object, now: float,
                                                              reason: str) -> None:
    token = jwt.encode({"sub": "f0057pn", "scope": READ, "exp": exp, "iat": iat}, DEV_SIGNING_KEY, algorithm="HS256")
    for _ in range(2):  # the second call is answered from the memo
        with pytest.raises(TokenError) as refused:
            verify(token, DEV_SIGNING_KEY, now)
        assert str(refused.value) == reason


def test_a_memoised_tokens_claims_are_a_fresh_copy_each_call() -> None:
    token = jwt.encode({"sub": "f0057pn", "scope": READ, "exp": 2000, "iat": 1000, "extra": 1}, DEV_SIGNING_KEY,
                       algorithm="HS256")
    first = verify(token, DEV_SIGNING_KEY, 1500)
    assert first == {"sub": "f0057pn", "scope": READ, "exp": 2000, "iat": 1000}
    first["sub"] = "someone else"
    assert verify(token, DEV_SIGNING_KEY, 1500)["sub"] == "f0057pn"


def test_a_token_is_refused_before_its_nbf_by_the_emulator_clock(client: FlaskClient, state: MockState) -> None:
    claims = _claims(client)
    now = int(state.clock.now())
    token = jwt.encode({**claims, "nbf": now + 60}, DEV_SIGNING_KEY, algorithm="HS256")
    response = client.get("/api/petition_types", headers=bearer(token))
    assert (response.status_code, response.get_json()) == (401, UNAUTHORIZED)
    state.clock.advance(59)
    assert client.get("/api/petition_types", headers=bearer(token)).status_code == 401
    state.clock.advance(1)  # the clock reaches nbf: valid from that second on
    assert client.get("/api/petition_types", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("nbf", ["soon", -1, True, 1.5, "9" * 19])
def test_a_malformed_nbf_is_401(client: FlaskClient, nbf: object) -> None:
    token = jwt.encode({**_claims(client), "nbf": nbf}, DEV_SIGNING_KEY, algorithm="HS256")
    response = client.get("/api/petition_types", headers=bearer(token))
    assert (response.status_code, response.get_json()) == (401, UNAUTHORIZED)


@pytest.mark.parametrize(("iss", "status"), [
    ("https://evil.example", 401), ("", 401), (None, 401), (["mock_api"], 401), ("MOCK_API", 401),
    ("mock_api", 200),
])
def test_a_token_naming_another_issuer_is_401(client: FlaskClient, iss: object, status: int) -> None:
    # Signed as raw JSON: PyJWT's encode refuses an `iss` that is not text, and a hostile client would not.
    claims = json.dumps({**_claims(client), "iss": iss}).encode()
    token = jwt.api_jws.encode(claims, DEV_SIGNING_KEY, algorithm="HS256")
    response = client.get("/api/petition_types", headers=bearer(token))
    assert response.status_code == status
    if status == 401:
        assert response.get_json() == UNAUTHORIZED


def test_the_emulators_own_tokens_carry_no_iss_or_nbf_and_are_accepted(client: FlaskClient) -> None:
    token = token_for(client, "dev-readwrite", (READ,))
    decoded = jwt.decode(token, DEV_SIGNING_KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert "iss" not in decoded and "nbf" not in decoded
    assert client.get("/api/petition_types", headers=bearer(token)).status_code == 200


def test_nbf_is_judged_after_expiry_and_each_call_at_its_own_clock() -> None:
    token = jwt.encode({"sub": "f0057pn", "scope": READ, "exp": 2000, "iat": 1000, "nbf": 1500}, DEV_SIGNING_KEY,
                       algorithm="HS256")
    for now, reason in ((1499, "not valid yet (nbf)"), (2000, "expired"), (1499, "not valid yet (nbf)")):
        with pytest.raises(TokenError) as refused:
            verify(token, DEV_SIGNING_KEY, now)
        assert str(refused.value) == reason
    assert verify(token, DEV_SIGNING_KEY, 1500)["sub"] == "f0057pn"


def test_over_http_nbf_waits_for_the_emulator_clock_and_a_foreign_iss_is_refused(state: MockState) -> None:
    """As a client sees it: a real server, its clock moved by POST /_mock/clock/advance, not by the test."""
    with live_server(state) as live:
        claims = requests.post(f"{live.url}/api/jwt", params={"scope": READ},
                               headers={"Authorization": "dev-readwrite"}, timeout=10).json()["payload"]
        now = int(requests.get(f"{live.url}/_mock/clock", timeout=10).json()["epoch"])
        early = jwt.encode({**claims, "nbf": now + 30}, DEV_SIGNING_KEY, algorithm="HS256")
        foreign = jwt.encode({**claims, "iss": "https://login.example"}, DEV_SIGNING_KEY, algorithm="HS256")
        own = jwt.encode({**claims, "iss": "mock_api"}, DEV_SIGNING_KEY, algorithm="HS256")
        for token, status in ((early, 401), (foreign, 401), (own, 200)):
            response = live.get("/api/petition_types", bearer(token))
            assert response.status_code == status, token
            if status == 401:
                assert (response.headers["Content-Type"], response.content) == (
                    "application/json", b'{"message":"Unauthorized"}')
        assert requests.post(f"{live.url}/_mock/clock/advance", json={"seconds": 30}, timeout=10).status_code == 200
        assert live.get("/api/petition_types", bearer(early)).status_code == 200
