"""The control levers behind the control token, and names bounded: found in review of issues 13 and 9."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.scenarios.catalog import ScenarioError, load_scenario_file
from mock_api.service.dataset import Dataset
from mock_api.state import MockState

SECRET = "secret-of-this-test"
TOKEN = {"X-Mock-Control-Token": SECRET}
REFUSED = {"detail": "X-Mock-Control-Token is missing or wrong"}


def client(dataset: Dataset, **config: object) -> FlaskClient:
    settings = MockConfig(**config)  # type: ignore[arg-type]
    return create_app(settings, MockState(settings, dataset=dataset)).test_client()


def bearer(api: FlaskClient, headers: dict[str, str] | None = None, prefix: str = "") -> dict[str, str]:
    got = api.post(f"{prefix}/api/jwt?scope=api:academic:petitions:read", headers={"Authorization": "dev-readwrite",
                                                                                    **(headers or {})})
    assert got.status_code == 200, got.get_json()
    return {"Authorization": f"Bearer {got.get_json()['jwt']}"}


def test_with_a_control_token_only_its_holder_creates_a_session(dataset: Dataset) -> None:
    api = client(dataset, control_token=SECRET, max_sessions=2)
    auth = bearer(api)
    for _ in range(3):  # anonymous callers cannot fill the registry
        refused = api.get("/s/anon/api/petition_types/Q25", headers=auth)
        assert (refused.status_code, refused.get_json()) == (401, REFUSED)
        by_header = api.get("/api/petition_types/Q25", headers={**auth, "X-Mock-Session": "anon2"})
        assert (by_header.status_code, by_header.get_json()) == (401, REFUSED)
    listed = api.get("/_mock/sessions", headers=TOKEN).get_json()
    assert [s["name"] for s in listed] == ["default"]
    assert api.get("/s/alice/api/petition_types/Q25", headers={**auth, **TOKEN}).status_code == 200
    # Once created, the session serves API clients that do not hold the control token.
    assert api.get("/s/alice/api/petition_types/Q25", headers=auth).status_code == 200
    assert [s["name"] for s in api.get("/_mock/sessions", headers=TOKEN).get_json()] == ["default", "alice"]


def test_without_a_control_token_any_loopback_client_creates_sessions(dataset: Dataset) -> None:
    api = client(dataset)
    assert api.get("/s/bob/api/petition_types/Q25", headers=bearer(api)).status_code == 200


def test_with_a_control_token_x_mock_scenario_needs_it_too(dataset: Dataset) -> None:
    api = client(dataset, control_token=SECRET)
    auth = bearer(api)
    refused = api.get("/api/petition_types/Q25", headers={**auth, "X-Mock-Scenario": "unavailable"})
    assert (refused.status_code, refused.get_json()) == (401, REFUSED)
    allowed = api.get("/api/petition_types/Q25", headers={**auth, **TOKEN, "X-Mock-Scenario": "unavailable"})
    assert (allowed.status_code, allowed.get_json()) == (503, {"detail": "Service Unavailable"})
    assert api.get("/api/petition_types/Q25", headers=auth).status_code == 200


def test_the_journal_masks_the_control_token(dataset: Dataset) -> None:
    api = client(dataset, control_token=SECRET)
    api.get("/api/petition_types/Q25", headers={**bearer(api), **TOKEN})
    entries = api.get("/_mock/requests", headers=TOKEN).get_json()
    sent = [e["headers"] for e in entries if e["path"] == "/api/petition_types/Q25"]
    assert sent and sent[0]["X-Mock-Control-Token"] == "***"
    assert SECRET not in str(entries)


@pytest.mark.parametrize("name", ["a" * 65, "a" * 300, "b" * 5000])
def test_a_scenario_name_too_long_is_a_400_never_a_500(dataset: Dataset, name: str) -> None:
    api = client(dataset)
    put = api.put("/_mock/scenario", json={"name": name})
    assert put.status_code == 400 and put.get_json()["detail"].startswith(f"unknown scenario {name!r}")
    header = api.get("/api/petition_types/Q25", headers={**bearer(api), "X-Mock-Scenario": name})
    assert header.status_code == 400 and header.get_json()["detail"].startswith("X-Mock-Scenario: unknown scenario")


def test_a_scenario_file_whose_name_is_over_64_characters_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(f"name: {'x' * 65}\ndescription: too long a name\nrules: []\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"long\.yaml: name: expected at most 64 characters"):
        load_scenario_file(path)


def test_a_scenario_path_too_long_for_the_file_system_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r": \(file\): cannot read: File name too long"):
        load_scenario_file(tmp_path / ("y" * 300 + ".yaml"))
