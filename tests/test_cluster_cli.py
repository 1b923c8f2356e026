"""`--workers`: its checks, the message without nginx, and the nginx text it writes (docs/scale.md's recipe)."""
from __future__ import annotations

import re
import socket

import pytest

from mock_api.cli import main
from mock_api.cluster import front
from support import ROOT

NO_NGINX = ("mock_api: error: --workers needs nginx, and it is not installed: install Debian's package nginx "
            "(apt-get install nginx), or give --nginx PATH\n")


def test_without_nginx_it_exits_2_naming_the_package(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(front, "nginx_binary", lambda: None)
    assert main(["serve", "--workers", "2", "--port", "0"]) == 2
    assert capsys.readouterr() == ("", NO_NGINX)


def test_the_workers_come_from_the_environment_too(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MOCK_API_WORKERS", "3")
    assert main(["--nginx", "/nonexistent/nginx"]) == 2
    assert capsys.readouterr().err == NO_NGINX.replace("it is not installed", "/nonexistent/nginx does not exist")


def test_not_installed_means_neither_on_path_nor_in_sbin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(front, "SBIN", "/nonexistent/nginx")
    assert front.nginx_binary() is None


def test_a_port_in_use_is_said_before_any_process_starts(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(front, "nginx_binary", lambda: "/bin/true")
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert main(["--workers", "2", "--port", str(port)]) == 2
    assert capsys.readouterr() == ("", f"mock_api: error: cannot listen on 127.0.0.1:{port}: Address already in use "
                                       "(--port 0 picks a free port)\n")


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_workers_below_one_is_a_usage_error(workers: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--workers", workers])
    assert exited.value.code == 2
    assert "--threads and --workers must be >= 1" in capsys.readouterr().err


def test_the_recipe_in_docs_scale_is_the_text_the_supervisor_writes() -> None:
    doc = (ROOT / "docs" / "scale.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```nginx\n(.*?)```", doc, re.S)
    assert blocks == [front.render([8001, 8002], "127.0.0.1:8000")]


def test_the_supervisors_text_sends_the_cluster_paths_to_its_control_server() -> None:
    text = front.render([4001, 4002, 4003], "127.0.0.1:4000", control_port=4999)
    assert re.findall(r"server 127\.0\.0\.1:\d+ max_fails=0;", text) == [
        f"server 127.0.0.1:{port} max_fails=0;" for port in (4001, 4002, 4003)]
    control = text.index("location ~ ^/_mock/(cluster|health|sessions(/[^/]+)?)$ {\n"
                         "        proxy_pass http://127.0.0.1:4999;")
    assert control < text.index("location / {")
    assert "proxy_next_upstream off;" in text and "listen 127.0.0.1:4000;" in text
