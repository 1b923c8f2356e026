"""Bad input the fuzzers found or must always hold: each a fixed case, with its exact answer."""
from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from badinput import LIMIT, PETITION, fresh
from mock_api.contract.spec import check_response
from mock_api.service.dataset import Dataset
from support import FROZEN_AT


@pytest.mark.parametrize("name", ["expired", "other-key", "tampered", "alg-none", "alg-none-signed",
                                  "bad-signature", "truncated", "two-parts"])
def test_every_broken_token_is_a_plain_401(client: FlaskClient, token_set: dict[str, str], name: str) -> None:
    auth = {"Authorization": f"Bearer {token_set[name]}"}
    for path in ("/api/academic/petitions", "/api/tasks/000000000000000000000000", "/api/petition_types"):
        response = client.get(path, headers=auth)
        assert (response.status_code, response.get_json()) == (401, {"message": "Unauthorized"}), path
    posted = client.post("/api/academic/petitions", json={"petition": PETITION}, headers=auth)
    assert posted.status_code == 401


@pytest.mark.parametrize("size, status", [(LIMIT, 202), (LIMIT + 1, 413)])
def test_the_body_limit_is_exact(dataset: Dataset, token_set: dict[str, str], size: int, status: int) -> None:
    app, state = fresh(dataset)
    body = json.dumps({"petition": PETITION, "pad": ""}).encode()
    body = body[:-2] + b"x" * (size - len(body)) + b'"}'
    assert len(body) == size
    response = app.test_client().post("/api/academic/petitions", data=body, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token_set['rw']}"})
    assert response.status_code == status
    assert len(state.backend.tasks(FROZEN_AT)) == (1 if status == 202 else 0)


@pytest.mark.parametrize("query", ["pagesize=%C2%B2", "page=%C2%B2", "page=" + "9" * 5000, "pagesize=" + "9" * 5000])
def test_unusable_paging_numbers_fall_back_or_saturate(client: FlaskClient, rw: dict[str, str], query: str) -> None:
    response = client.get(f"/api/academic/petitions?netid=f0027k4&{query}", headers=rw)
    expected = [] if query.startswith("page=9") else ["2907841-Q25-24W=L-APPV", "2907841-Q24--FIVEYEAR"]
    assert response.status_code == 200 and [r["id"] for r in response.get_json()] == expected


@pytest.mark.parametrize("seconds", [10 ** 400, 1e300, 2.3e11])
def test_a_clock_advance_too_far_is_400_and_changes_nothing(client: FlaskClient, seconds: float) -> None:
    before = client.get("/_mock/clock").get_json()
    response = client.post("/_mock/clock/advance", data=json.dumps({"seconds": seconds}),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert client.get("/_mock/clock").get_json() == before


@pytest.mark.parametrize("body, detail", [
    (b'{"petition": NaN}', "Request body is not valid JSON"),
    (b'{"petition": {"x": Infinity}}', "Request body is not valid JSON"),
    # Valid JSON, but past a float's range json.loads gives inf, which a poll would echo as Infinity.
    (b'{"petition": {"x": 1e400}}', "Request body is not valid JSON"),
    (b'{"petition": {"x": [-1.5E+309]}}', "Request body is not valid JSON"),
    (b'{"petition": ' + b"[" * 65 + b"]" * 65 + b"}", "Request body is nested deeper than 64 levels"),
])
def test_bodies_that_cannot_be_stored_and_echoed_are_400(client: FlaskClient, rw: dict[str, str], body: bytes,
                                                         detail: str) -> None:
    response = client.post("/api/academic/petitions", data=body, headers={**rw, "Content-Type": "application/json"})
    assert (response.status_code, response.get_json()) == (400, {"detail": detail})


def test_a_valid_petition_with_a_deep_extra_field_within_the_limit_completes(client: FlaskClient, rw: dict[str, str]
                                                                             ) -> None:
    body = {"petition": {**PETITION, "extra": json.loads("[" * 62 + "]" * 62)}}
    posted = client.post("/api/academic/petitions", json=body, headers=rw)
    assert posted.status_code == 202
    client.post("/_mock/clock/advance", json={"seconds": 5})
    task = client.get(posted.headers["Location"], headers=rw).get_json()
    assert task["status"] == "complete" and task["message"].startswith("Petition created successfully.")


@pytest.mark.parametrize("method, path", [("GET", "/api/academic/petitions"), ("POST", "/api/jwt"),
                                          ("GET", "/api/tasks/000000000000000000000000"),
                                          ("GET", "/api/petition_types/Q41"), ("POST", "/api/academic/petitions")])
def test_an_oversized_body_is_a_documented_413_on_any_endpoint(dataset: Dataset, token_set: dict[str, str],
                                                               method: str, path: str) -> None:
    """The 413 on every endpoint is in openapi.yaml too, so that strict mode and verify accept it."""
    client = fresh(dataset)[0].test_client()
    auth = "dev-readwrite" if path == "/api/jwt" else f"Bearer {token_set['rw']}"
    response = client.open(path, method=method, data=b"{}" + b" " * LIMIT,
                           headers={"Content-Type": "application/json", "Authorization": auth})
    assert (response.status_code, response.get_json()) == (413, {
        "detail": f"Request body is larger than {LIMIT} bytes"})
    assert check_response(method, path, 413, dict(response.headers), response.get_data()) == []
