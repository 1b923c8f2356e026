"""Other web pages cannot reach a loopback emulator: a foreign Host is a 421 before any work (DNS rebinding),
a control call with a foreign Origin is a 403, and every control answer says nosniff. Over real HTTP."""
from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
import requests

from live_server import TIMEOUT, Live, live_server
from mock_api.config import MockConfig
from mock_api.service.dataset import Dataset
from mock_api.state import MockState
from plugin_consumer import consumer, run
from support import running_server

MISDIRECTED = ("Host {host!r} is not served here: this server answers localhost, 127.0.0.1, [::1], its bound "
               "address and --allowed-host names")


@pytest.fixture(scope="module")
def live(dataset: Dataset) -> Iterator[Live]:
    with live_server(MockState(MockConfig(allowed_hosts=("mock.test",)), dataset=dataset)) as server:
        yield server


def raw_status(url: str, host: bytes, path: bytes = b"/_mock/health") -> bytes:
    """The status line of a GET with the given Host, sent as is."""
    address = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((address[0], int(address[1])), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received.partition(b"\r\n")[0]


@pytest.mark.parametrize("path", ["/_mock/requests", "/api/academic/petitions", "/_mock/reset"])
def test_a_foreign_host_is_a_421_before_any_work(live: Live, path: str) -> None:
    before = len(requests.get(f"{live.url}/_mock/requests", timeout=TIMEOUT).json())
    method = requests.post if path == "/_mock/reset" else requests.get
    got = method(f"{live.url}{path}", headers={"Host": "evil.example:8000"}, timeout=TIMEOUT)
    assert got.status_code == 421 and got.headers["Content-Type"] == "application/json"
    assert got.headers["Connection"] == "close"
    assert got.json() == {"detail": MISDIRECTED.format(host="evil.example:8000")}
    assert len(requests.get(f"{live.url}/_mock/requests", timeout=TIMEOUT).json()) == before


@pytest.mark.parametrize("host", [b"localhost", b"127.0.0.1:{port}", b"LOCALHOST:{port}", b"[::1]:{port}",
                                  b"mock.test:{port}", b"mock.test"])
def test_loopback_names_the_bound_address_and_allowed_hosts_are_served(live: Live, host: bytes) -> None:
    port = live.url.rsplit(":", 1)[1].encode()
    assert raw_status(live.url, host.replace(b"{port}", port)) == b"HTTP/1.1 200 OK"


@pytest.mark.parametrize("host", [b"evil.example", b"127.0.0.1.evil.example", b"localhost.evil.example:80",
                                  b"mock.test.evil.example"])
def test_names_that_only_look_local_are_refused(live: Live, host: bytes) -> None:
    assert raw_status(live.url, host) == b"HTTP/1.1 421 Misdirected Request"


def test_a_cross_site_text_plain_post_to_the_control_api_is_a_403_and_changes_nothing(live: Live) -> None:
    requests.post(f"{live.url}/_mock/clock/unfreeze", timeout=TIMEOUT)
    got = requests.post(f"{live.url}/_mock/clock/freeze", data="x", timeout=TIMEOUT,
                        headers={"Origin": "https://evil.example", "Content-Type": "text/plain"})
    assert got.status_code == 403 and got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.json() == {"detail": "Origin 'https://evil.example' may not call the control API: only this "
                                    "server's own pages may"}
    form = requests.post(f"{live.url}/_mock/reset", data={"a": "b"}, headers={"Origin": "null"}, timeout=TIMEOUT)
    assert form.status_code == 403
    assert requests.get(f"{live.url}/_mock/clock", timeout=TIMEOUT).json()["frozen"] is False


def test_the_servers_own_origin_and_no_origin_are_served(live: Live) -> None:
    own = requests.post(f"{live.url}/_mock/clock/freeze", headers={"Origin": live.url}, timeout=TIMEOUT)
    assert own.status_code == 200 and own.json()["frozen"] is True
    plain = requests.post(f"{live.url}/_mock/clock/unfreeze", timeout=TIMEOUT)
    assert plain.status_code == 200 and plain.json()["frozen"] is False


def test_an_api_call_with_a_foreign_origin_is_served_as_before(live: Live) -> None:
    got = requests.post(f"{live.url}/api/jwt", headers={"Origin": "https://evil.example",
                                                        "Authorization": "dev-readwrite"}, timeout=TIMEOUT)
    assert got.status_code == 200 and "X-Content-Type-Options" not in got.headers


@pytest.mark.parametrize(("method", "path"), [("GET", "/_mock/health"), ("GET", "/_mock/requests"),
                                              ("GET", "/_mock/nothing-here"), ("POST", "/_mock/health"),
                                              ("GET", "/_mock/")])
def test_every_control_answer_says_nosniff(live: Live, method: str, path: str) -> None:
    got = requests.request(method, f"{live.url}{path}", timeout=TIMEOUT)
    assert got.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.slow  # a real server in a subprocess
def test_the_cli_takes_allowed_hosts_from_flags_and_the_environment() -> None:
    os.environ["MOCK_API_ALLOWED_HOST"] = "env.test"
    try:
        with running_server("--allowed-host", "flag.test", "--quiet") as server:
            assert raw_status(server.url, b"flag.test") == b"HTTP/1.1 200 OK"
            assert raw_status(server.url, b"other.test") == b"HTTP/1.1 421 Misdirected Request"
        with running_server("--quiet") as server:
            assert raw_status(server.url, b"env.test") == b"HTTP/1.1 200 OK"
            assert raw_status(server.url, b"flag.test") == b"HTTP/1.1 421 Misdirected Request"
    finally:
        del os.environ["MOCK_API_ALLOWED_HOST"]


@pytest.mark.slow  # pytester runs a consumer suite that starts a server
def test_the_plugins_server_takes_allowed_hosts_from_its_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmock_api_allowed_hosts =\n    app.test\n    other.test\n")
    consumer(pytester, '''
def test_hosts(mock_api):
    def status(host):
        return requests.get(f"{mock_api.url}/_mock/health", headers={"Host": host}, timeout=10).status_code

    assert [status(h) for h in ("app.test", "other.test:1", "localhost", "evil.test")] == [200, 200, 200, 421]
''')
    run(pytester).assert_outcomes(passed=1)
