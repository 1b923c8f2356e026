"""Interception: client code as it ships, its https://api.dartmouth.edu hard-coded, reaches the in-process
emulator through requests, urllib3 and httpx (sync and async); the real dartmouth-auth 0.0.4, unpatched."""
from __future__ import annotations

import pytest

from mock_api.testing import MockApiHandle
from plugin_consumer import consumer


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """The consumer's suite in its own interpreter, as a user runs it: in-process runs re-import httpx and
    httpcore, and an httpcore error of the new class then escapes httpx's mapping of the old one (flaky)."""
    return pytester.runpytest_subprocess("-p", "no:hypothesispytest", "-p", "no:cacheprovider", *args, timeout=120)

pytestmark = pytest.mark.slow  # pytester runs consumer test suites, each starting a server

CLIENTS = '''
import asyncio
import http.server
import threading

import dartmouth_auth
import httpx
import urllib3

from mock_api.testing.interception import InterceptionError, current

API = "https://api.dartmouth.edu/api"  # as the public clients hard-code it
RESET_ON_TYPES = """
name: reset_types
description: GET /api/petition_types is reset below HTTP
rules:
  - match: {method: GET, path: /api/petition_types}
    effects:
      - fault: reset
"""


def scoped_jwt(scopes=(READ, WRITE)):
    # dartmouth-auth 0.0.4 has no scope argument: its README's get_jwt, the scope in jwt_url's query.
    return dartmouth_auth.get_jwt("dev-readwrite", jwt_url=f"{API}/jwt?scope={' '.join(scopes)}")


def test_dartmouth_auth_with_its_own_url_and_requests(mock_api_intercept, monkeypatch):
    monkeypatch.setenv("DARTMOUTH_API_KEY", "dev-readonly")
    assert isinstance(dartmouth_auth.get_jwt(), str)  # the package's constant https://api.dartmouth.edu/api/jwt
    bearer = {"Authorization": f"Bearer {scoped_jwt()}"}
    got = requests.get(f"{API}/academic/petitions/", params={"netid": "f0027k4"}, headers=bearer, timeout=10)
    assert got.status_code == 200 and [p["petition_code"] for p in got.json()] == ["Q25", "Q24"]
    assert got.headers["X-Total-Count"] == "2"
    journal = mock_api_intercept.requests
    assert [(r.method, r.path, r.status) for r in journal] == [
        ("POST", "/api/jwt", 200), ("POST", "/api/jwt", 200), ("GET", "/api/academic/petitions/", 200)]
    assert {r.headers["Host"] for r in journal} == {"api.dartmouth.edu"}  # the host the client meant
    pool = urllib3.PoolManager()
    assert pool.request("GET", f"{API}/petition_types/Q25", headers=bearer).json()["id"] == "Q25"


def test_httpx_sync_posts_and_follows_the_location(mock_api_intercept):
    mock_api_intercept.freeze()
    with httpx.Client(base_url=API, headers={"Authorization": f"Bearer {scoped_jwt()}"}) as client:
        posted = client.post("/academic/petitions", json={"petition": NEW})
        assert (posted.status_code, posted.json()) == (202, {"status": "accepted"})
        mock_api_intercept.advance(1)
        task = client.get(posted.url.join(posted.headers["Location"])).json()  # against the https URL it POSTed
    assert task["status"] == "complete" and task["message"].startswith("Petition created successfully.")


def test_httpx_async(mock_api_intercept):
    bearer = {"Authorization": f"Bearer {scoped_jwt()}"}

    async def read():
        async with httpx.AsyncClient() as client:
            return await client.get(f"{API}/students/f0027k4/petitions", headers=bearer)
    got = asyncio.run(read())
    assert got.status_code == 200 and len(got.json()) == 2 and got.headers["X-Total-Count"] == "2"


def test_a_reset_fault_reaches_each_client_as_a_connection_error(mock_api_intercept, tmp_path):
    bearer = {"Authorization": f"Bearer {scoped_jwt()}"}
    (tmp_path / "reset_types.yaml").write_text(RESET_ON_TYPES, encoding="utf-8")
    mock_api_intercept.use_scenario(str(tmp_path / "reset_types.yaml"))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{API}/petition_types", headers=bearer, timeout=10)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(f"{API}/petition_types", headers=bearer)
    assert requests.get(f"{API}/petition_types/Q25", headers=bearer, timeout=10).status_code == 200
    faults = [(r.path, r.status, r.extra["fault"]) for r in mock_api_intercept.requests if r.extra["fault"]]
    assert faults == [("/api/petition_types", None, "reset")] * 2


def test_a_session_handle_intercepts_into_its_own_session(mock_api):
    partner = mock_api.session()
    with partner.intercept():
        token = scoped_jwt((READ,))
        got = httpx.get(f"{API}/petition_types/Q25", headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200
    assert [r.path for r in partner.requests] == ["/api/jwt", "/api/petition_types/Q25"]
    assert mock_api.requests == []


def test_nested_blocks_the_innermost_decides(mock_api_intercept):
    inner = mock_api_intercept.session("inner")
    with inner.intercept():
        assert httpx.get("https://api.dartmouth.edu/openapi.json").status_code == 200
    assert requests.get("https://api.dartmouth.edu/openapi.json", timeout=10).status_code == 200  # the outer again
    assert [r.path for r in inner.requests] == ["/openapi.json"]
    assert [r.path for r in mock_api_intercept.requests] == ["/openapi.json"]


def test_strict_mode_sees_the_intercepted_client(mock_api_intercept):
    httpx.get(f"{API}/academic/petitions", params={"netd": "f0027k4"},
              headers={"Authorization": f"Bearer {scoped_jwt()}"})
    assert [v["kind"] for v in mock_api_intercept.violations] == ["dropped_filter"]


def test_follow_keeps_one_session_prefix(mock_api):
    partner = mock_api.session("p1")
    posted = requests.post(f"{partner.url}/api/academic/petitions", json={"petition": NEW}, headers=auth(partner),
                           timeout=10)
    location = posted.headers["Location"]
    assert location.startswith("/s/p1/api/tasks/")
    assert partner.follow(location) == partner.url + location.removeprefix("/s/p1")
    assert requests.get(partner.follow(location), headers=auth(partner), timeout=10).status_code == 200
    assert mock_api.follow("/api/tasks/x") == f"{mock_api.url}/api/tasks/x"
    assert mock_api.follow("https://elsewhere.example/x") == "https://elsewhere.example/x"


class Other(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"other")

    def log_message(self, *args):
        pass


@pytest.fixture
def other():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Other)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_other_hosts_are_untouched_or_refused_and_pooled_connections_never_cross(mock_api, other):
    session = requests.Session()
    with mock_api.intercept(hosts=["localhost"]):  # any host can be intercepted: here a local one
        assert session.get(f"{other}/openapi.json", timeout=10).status_code == 200  # the emulator answers
        assert session.get(other.replace("localhost", "127.0.0.1"), timeout=10).text == "other"  # untouched
    assert current("localhost", 80) is None
    assert session.get(f"{other}/openapi.json", timeout=10).text == "other"  # its pooled connection not reused
    with mock_api.intercept(strict_hosts=True):
        with pytest.raises(InterceptionError, match=r"refused a call to localhost:\\d+: only api.dartmouth.edu"):
            session.get(other, timeout=10)
        with pytest.raises(InterceptionError, match="refused a call to localhost"):
            httpx.get(other)
        assert requests.get(f"{mock_api.url}/openapi.json", timeout=10).status_code == 200  # the emulator itself
'''


def test_the_real_clients_reach_the_emulator_with_their_hard_coded_urls(pytester: pytest.Pytester) -> None:
    consumer(pytester, CLIENTS)
    run(pytester).assert_outcomes(passed=9)


USES_THE_PLAIN_FIXTURE = '''
import httpx

def test_plain_fixture(mock_api):
    got = httpx.get("https://api.dartmouth.edu/openapi.json")
    assert got.status_code == 200 and mock_api.requests[-1].headers["Host"] == "api.dartmouth.edu"
'''


@pytest.mark.parametrize("how", ["ini", "flag"])
def test_ini_option_and_flag_intercept_every_test(pytester: pytest.Pytester, how: str) -> None:
    consumer(pytester, USES_THE_PLAIN_FIXTURE)
    if how == "ini":
        pytester.makeini("[pytest]\nmock_api_intercept = true\n")
    run(pytester, *(["--mock-api-intercept"] if how == "flag" else [])).assert_outcomes(passed=1)


def test_ini_hosts_choose_what_is_intercepted(pytester: pytest.Pytester) -> None:
    consumer(pytester, '''
from mock_api.testing.interception import current

def test_hosts(mock_api_intercept):
    assert current("api.example.edu", 443) is not None and current("api.dartmouth.edu", 443) is None
''')
    pytester.makeini("[pytest]\nmock_api_intercept_hosts = api.example.edu\n")
    run(pytester).assert_outcomes(passed=1)


def test_a_host_the_server_would_refuse_is_a_value_error_before_any_call(mock_api: MockApiHandle) -> None:
    from mock_api.testing.interception import current

    refused = pytest.raises(ValueError, match=r"refuses the Host api\.example\.org .*mock_api_allowed_hosts")
    with refused, mock_api.intercept(hosts=["api.example.org"]):
        pass  # pragma: no cover
    assert current("api.example.org", 443) is None
