"""--sessions-file: a restarted process's previous sessions answer 410 until DELETEd, never a fresh session."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.service.dataset import Dataset
from mock_api.sessions import NameFile, SessionError, Sessions, left_names
from mock_api.state import MockState


def lost(name: str) -> dict[str, str]:
    return {"detail": f"session '{name}' lost its state when its process restarted; DELETE it to start again"}


def process(dataset: Dataset, path: Path, **config: object) -> FlaskClient:
    """One run of a process with this sessions file (a new app: what a restart builds)."""
    settings = MockConfig(sessions_file=path, **config)  # type: ignore[arg-type]
    return create_app(settings, MockState(settings, dataset=dataset)).test_client()


def test_a_restart_makes_the_previous_runs_sessions_answer_410_until_deleted(dataset: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "worker.sessions"
    first = process(dataset, path)
    assert first.post("/s/s3/_mock/clock/advance", json={"seconds": 60}).status_code == 200
    assert first.get("/api/petition_types", headers={"X-Mock-Session": "s4"}).status_code == 401
    assert first.get("/s/gone/_mock/clock").status_code == 200
    assert first.delete("/_mock/sessions/gone").status_code == 200
    second = process(dataset, path)  # the process restarted: s3 and s4 had state, gone had ended
    for name, got in (("s3", second.get("/s/s3/_mock/clock")), ("s3", second.post("/s/s3/api/jwt")),
                      ("s3", second.post("/s/s3/_mock/reset")),
                      ("s4", second.get("/api/petition_types", headers={"X-Mock-Session": "s4"}))):
        assert (got.status_code, got.get_json()) == (410, lost(name))
        assert got.headers["Content-Type"] == "application/json"
    assert second.get("/s/gone/_mock/clock").status_code == 200
    assert second.get("/_mock/health").status_code == 200  # `default` had served nothing: nothing lost
    assert [s["name"] for s in second.get("/_mock/sessions").get_json()] == ["default", "gone"]
    ended = second.delete("/_mock/sessions/s3")
    assert (ended.status_code, ended.get_json()) == (200, {"status": "ended", "name": "s3"})
    fresh = second.get("/s/s3/_mock/clock").get_json()
    assert fresh["epoch"] < first.get("/s/s3/_mock/clock").get_json()["epoch"] - 50  # a fresh clock
    assert second.delete("/s/s4/_mock/sessions/s4").status_code == 200  # its own prefix reaches the delete
    third = process(dataset, path)  # still lost after another restart: s3 and gone (used again), not s4
    assert third.get("/s/s4/_mock/clock").status_code == 200
    assert (third.get("/s/s3/_mock/clock").status_code, third.get("/s/gone/_mock/clock").status_code) == (410, 410)


def test_default_is_lost_once_it_served_a_request_and_delete_clears_it(dataset: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "worker.sessions"
    process(dataset, path).post("/_mock/clock/advance", json={"seconds": 5})
    again = process(dataset, path)
    for got in (again.get("/_mock/health"), again.get("/_mock/clock"), again.post("/api/jwt")):
        assert (got.status_code, got.get_json()) == (410, lost("default"))
    assert again.get("/_mock/sessions").status_code == 200  # the server-wide views pass
    ended = again.delete("/_mock/sessions/default")
    assert (ended.status_code, ended.get_json()) == (200, {"status": "ended", "name": "default"})
    assert again.get("/_mock/health").status_code == 200
    refused = again.delete("/_mock/sessions/default")  # a live default is kept, as without the file
    assert refused.status_code == 400


def test_the_server_wide_views_neither_create_nor_count_the_asking_session(dataset: Dataset,
                                                                          tmp_path: Path) -> None:
    api = process(dataset, tmp_path / "s")
    assert api.get("/s/probe/_mock/sessions").status_code == 200
    assert api.get("/_mock/sessions", headers={"X-Mock-Session": "probe2"}).status_code == 200
    assert api.delete("/s/probe3/_mock/sessions/nobody").status_code == 404
    assert api.get("/s/bad.name/_mock/sessions").status_code == 400
    assert api.get("/_mock/sessions").get_json()[0]["requests"] == 0
    assert [s["name"] for s in api.get("/_mock/sessions").get_json()] == ["default"]


def test_the_file_is_one_line_a_change_and_rewritten_past_its_bound(tmp_path: Path) -> None:
    path = tmp_path / "names"
    path.write_text("+a\n+b\n-a\n+c\n+bad.name\n-zz\n", encoding="ascii")
    assert left_names(path) == {"b", "c"}
    assert left_names(tmp_path / "absent") == set()
    names = NameFile(path, ["b", "c"], bound=4)
    assert path.read_text() == "+b\n+c\n"
    names.note("+", "d", lambda: ["b", "c", "d"])
    assert path.read_text() == "+b\n+c\n+d\n"  # written at once, not when the file is closed
    names.note("-", "b", lambda: ["c", "d"])
    names.note("+", "e", lambda: ["c", "d", "e"])  # the fifth line: rewritten from what is held
    assert path.read_text() == "+c\n+d\n+e\n"
    assert left_names(path) == {"c", "d", "e"}


def test_a_sessions_file_in_a_missing_folder_is_a_usage_error(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from mock_api.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--sessions-file", str(tmp_path / "no" / "file")])
    assert exited.value.code == 2
    assert f"--sessions-file {tmp_path / 'no' / 'file'}: its folder does not exist" in capsys.readouterr().err


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lost_sessions_hold_their_places_and_end_after_the_idle_time(dataset: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "worker.sessions"
    path.write_text("+a\n+b\n", encoding="ascii")
    clock = Clock()
    config = MockConfig(sessions_file=path, max_sessions=4, session_idle_seconds=60)
    sessions = Sessions(MockState(config, dataset=dataset), monotonic=clock)
    sessions.use("c")  # default, c, and the places of a and b: full
    with pytest.raises(SessionError) as full:
        sessions.use("d")
    assert (full.value.status, full.value.detail) == (503, "session limit reached (4)")
    clock.now += 59
    with pytest.raises(SessionError) as refused:
        sessions.use("a")
    assert refused.value.status == 410
    clock.now += 2  # a and b unused as long as a live session may be: they end, as an idle one does
    sessions.use("a")
    assert [s["name"] for s in sessions.listing()] == ["default", "a"]  # c, idle too, ended
    assert left_names(path) == {"a"}
