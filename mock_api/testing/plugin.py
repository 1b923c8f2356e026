"""The pytest plugin (entry point pytest11): the `mock_api` fixture, its marker and the strict check."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mock_api import limits
from mock_api.config import DEFAULT_STARTUP_TIMEOUT, MockConfig

if TYPE_CHECKING:
    from mock_api.testing.harness import MockApiHandle, MockApiServer
    from mock_api.testing.remote import RemoteHandle, RemoteServer

# mock_api.testing.harness (Flask, faker: ~0.2 s) is imported by the fixtures only: every pytest run
# in an environment with mock_api installed loads this module, most never use the fixture.

MARKER = "mock_api"
MARKER_DOC = ("mock_api(scenario=None, seed=None, fixtures=None, expect_errors=(), fail_on_error_responses=None, "
              "strict=None): configure the mock_api fixture for this test")
MARKER_ARGS = ("scenario", "seed", "fixtures", "expect_errors", "fail_on_error_responses", "strict")
STRICT_OPTION = "mock_api_fail_on_error_responses"
CONTRACT_OPTION = "mock_api_strict"
SCENARIO_OPTION = "mock_api_scenario"
ISOLATION_OPTION = "mock_api_isolation"
ISOLATIONS = ("reset", "session")
URL_OPTION = "mock_api_url"
URL_VARIABLE, TOKEN_VARIABLE = "MOCK_API_URL", "MOCK_API_CONTROL_TOKEN"
INTERCEPT_OPTION = "mock_api_intercept"
INTERCEPT_HOSTS_OPTION = "mock_api_intercept_hosts"
BUNDLE_OPTION = "mock_api_bundle_dir"

HANDLE_KEY = pytest.StashKey["MockApiHandle"]()
STRICT_KEY = pytest.StashKey[bool]()
CONTRACT_KEY = pytest.StashKey[bool]()
SERVER_KEY = pytest.StashKey["MockApiServer | RemoteServer"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mock_api", "mock_api emulator fixture")
    group.addoption("--mock-api-fail-on-error-responses", action="store_true", default=None, dest=STRICT_OPTION,
                    help="fail a test whose client got an error response (status >= 400) that the test did not "
                         "declare with mock_api.expect_errors(...) or the marker's expect_errors")
    parser.addini(STRICT_OPTION, type="bool", default=False,
                  help="mock_api: same as --mock-api-fail-on-error-responses")
    group.addoption("--mock-api-strict", action="store_true", default=None, dest=CONTRACT_OPTION,
                    help="fail a test whose client broke the API contract in a way the real API would not "
                         "report (a misspelt filter, a payload field too many, ...): see GET /_mock/violations")
    parser.addini(CONTRACT_OPTION, type="bool", default=False, help="mock_api: same as --mock-api-strict")
    group.addoption("--mock-api-scenario", metavar="NAME|PATH", default=None, dest=SCENARIO_OPTION,
                    help="start-up scenario of the session's server (a test's marker still overrides it); run the "
                         "suite once with 'pessimistic' to prove it relies on nothing the real API does not promise")
    parser.addini(SCENARIO_OPTION, default="", help="mock_api: same as --mock-api-scenario")
    parser.addini("mock_api_coverage_summary", type="bool", default=True,
                  help="mock_api: print what the tests exercised of the API at the end of the session")
    group.addoption("--mock-api-coverage", choices=("short", "full"), default="short", dest="mock_api_coverage",
                    help="the session's coverage summary: short (default: operations, statuses, scopes, scenarios, "
                         "how many error paths were never exercised) or full (each one, and the filters used)")
    parser.addini("mock_api_startup_timeout", default=str(DEFAULT_STARTUP_TIMEOUT),
                  help="mock_api: seconds to wait for the in-process server's health check")
    parser.addini("mock_api_seed", default="",
                  help="mock_api: seed of the generated data (default: the one in the fixtures' generate.yaml)")
    parser.addini("mock_api_fixtures", default="",
                  help="mock_api: fixtures directory, relative to the rootdir (default: the packaged fixtures)")
    group.addoption("--mock-api-url", metavar="URL", default=None, dest=URL_OPTION,
                    help=f"attach to a mock_api server already running at URL (e.g. the one docs/ci.md's script "
                         f"starts) instead of starting one: reset before each test over its control API "
                         f"(env {URL_VARIABLE}, ini {URL_OPTION})")
    parser.addini(URL_OPTION, default="", help="mock_api: same as --mock-api-url")
    group.addoption("--mock-api-control-token", metavar="TOKEN", default=None, dest="mock_api_control_token",
                    help=f"the attached server's --control-token, sent as X-Mock-Control-Token (env {TOKEN_VARIABLE})")
    parser.addini(ISOLATION_OPTION, default="reset",
                  help="mock_api: 'reset' (default) resets the server before each test; 'session' gives each test "
                       "a fresh session of it instead (/s/test-N), ended after the test")
    group.addoption("--mock-api-intercept", action="store_true", default=None, dest=INTERCEPT_OPTION,
                    help="every test's mock_api intercepts calls to the API's hosts made through requests, urllib3 "
                         "or httpx: client code with https://api.dartmouth.edu hard-coded reaches the emulator")
    parser.addini(INTERCEPT_OPTION, type="bool", default=False, help="mock_api: same as --mock-api-intercept")
    parser.addini(INTERCEPT_HOSTS_OPTION, default="api.dartmouth.edu",
                  help="mock_api: the host names interception routes to the emulator, space-separated")
    parser.addini("mock_api_allowed_hosts", type="linelist", default=[],
                  help="mock_api: Host names the in-process server answers besides localhost, 127.0.0.1 and "
                       "[::1] (as serve --allowed-host); any other Host gets 421")
    group.addoption("--mock-api-bundle-dir", metavar="DIR", default=None, dest=BUNDLE_OPTION,
                    help="for each failed test that used mock_api, write DIR/<test id>.json: its state (a snapshot, "
                         "journal included), test id and violations; read it with `mock-api show FILE`, serve it "
                         "with `mock-api serve --snapshot FILE`")
    parser.addini(BUNDLE_OPTION, default="", help="mock_api: same as --mock-api-bundle-dir (relative to the rootdir)")
    limits.add_ini_options(parser.addini)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_DOC)


@dataclass(frozen=True)
class MarkerOptions:
    """The marker's arguments for one test, checked; None means the session's setting."""

    scenario: str | None = None
    seed: int | None = None
    fixtures: Path | None = None
    expect_errors: tuple[int, ...] = ()
    fail_on_error_responses: bool | None = None
    strict: bool | None = None

    @classmethod
    def of(cls, node: pytest.Item, rootpath: Path) -> MarkerOptions:
        marker = node.get_closest_marker(MARKER)
        if marker is None:
            return cls()
        unknown = sorted(set(marker.kwargs) - set(MARKER_ARGS))
        if marker.args or unknown:
            raise ValueError(f"takes only the keyword arguments "
                                    f"{', '.join(MARKER_ARGS)}; got {marker.args or ''} {', '.join(unknown)}")
        kwargs: dict[str, Any] = dict(marker.kwargs)
        seed = kwargs.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an int, got {seed!r}")
        if kwargs.get("fixtures") is not None:
            kwargs["fixtures"] = rootpath / Path(kwargs["fixtures"])
        expected = kwargs.get("expect_errors", ())
        kwargs["expect_errors"] = (expected,) if isinstance(expected, int) else tuple(expected)
        return cls(**kwargs)


def _ini_config(config: pytest.Config) -> MockConfig:
    seed_text = str(config.getini("mock_api_seed")).strip()
    fixtures_text = str(config.getini("mock_api_fixtures")).strip()
    try:
        seed = int(seed_text) if seed_text else None
    except ValueError:
        raise ValueError(f"ini mock_api_seed must be an integer, got {seed_text!r}") from None
    fixtures = config.rootpath / fixtures_text if fixtures_text else None
    # Violations are always recorded (it never changes a response); failing on them is opt-in.
    # The intercepted hosts too: an intercepted call keeps the Host its client meant (testing/interception.py).
    hosts = (*(str(name) for name in config.getini("mock_api_allowed_hosts")),
             *str(config.getini(INTERCEPT_HOSTS_OPTION)).split())
    return MockConfig().with_overrides(seed=seed, fixtures_dir=fixtures, strict=True, allowed_hosts=hosts or None,
                                       scenario=session_scenario(config), **limits.from_ini(config.getini))


def session_scenario(config: pytest.Config) -> str | None:
    """--mock-api-scenario, else the ini option; None for the default scenario."""
    name = config.getoption(SCENARIO_OPTION) or str(config.getini(SCENARIO_OPTION)).strip()
    return name or None


def _startup_timeout(config: pytest.Config) -> float:
    text = str(config.getini("mock_api_startup_timeout")).strip()
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"ini mock_api_startup_timeout must be a number of seconds, got {text!r}") from None


def _opted_in(config: pytest.Config, name: str, marker_value: bool | None) -> bool:
    """Marker first, then the command-line flag, then the ini option."""
    if marker_value is not None:
        return bool(marker_value)
    flag = config.getoption(name)
    return bool(config.getini(name)) if flag is None else bool(flag)


def attach_url(config: pytest.Config) -> str | None:
    """--mock-api-url, else MOCK_API_URL, else the ini option; None: start an in-process server."""
    url = config.getoption(URL_OPTION) or os.environ.get(URL_VARIABLE) or str(config.getini(URL_OPTION))
    return url.strip() or None


def _attach(config: pytest.Config, url: str) -> RemoteServer:
    from mock_api.testing.remote import MockApiAttachError, RemoteServer

    token = config.getoption("mock_api_control_token") or os.environ.get(TOKEN_VARIABLE) or None
    try:
        return RemoteServer(url, token, session_scenario(config))
    except (MockApiAttachError, ValueError) as exc:
        problem = str(exc)
    pytest.fail(f"--mock-api-url: {problem}", pytrace=False)  # outside the except: no chained traceback


@pytest.fixture(scope="session")
def mock_api_server(pytestconfig: pytest.Config) -> Iterator[MockApiServer | RemoteServer]:
    """The in-process server of this test process (so one per xdist worker), on 127.0.0.1, port 0; or, with
    --mock-api-url, the server already running there."""
    from mock_api.scenarios.catalog import ScenarioError
    from mock_api.testing.harness import MockApiServer, MockApiStartupError

    url = attach_url(pytestconfig)
    server: MockApiServer | RemoteServer
    try:
        server = _attach(pytestconfig, url) if url else \
            MockApiServer(_ini_config(pytestconfig), timeout=_startup_timeout(pytestconfig))
    except (MockApiStartupError, ValueError) as exc:
        pytest.fail(str(exc), pytrace=False)
    except ScenarioError as exc:
        pytest.fail(f"--mock-api-scenario: {exc}", pytrace=False)
    pytestconfig.stash[SERVER_KEY] = server
    yield server
    server.stop()


def _own_session(config: pytest.Config) -> bool:
    isolation = str(config.getini(ISOLATION_OPTION)).strip() or "reset"
    if isolation not in ISOLATIONS:
        pytest.fail(f"ini {ISOLATION_OPTION} must be one of {', '.join(ISOLATIONS)}, got {isolation!r}", pytrace=False)
    return isolation == "session"


@pytest.fixture
def mock_api(request: pytest.FixtureRequest,
             mock_api_server: MockApiServer | RemoteServer) -> Iterator[MockApiHandle | RemoteHandle]:
    """The emulator, reset for this test (or its own session): url, token(), clock, journal, scenario, data."""
    own_session = _own_session(request.config)
    try:
        options = MarkerOptions.of(request.node, request.config.rootpath)
        handle = mock_api_server.begin_test(options.seed, options.fixtures, options.scenario, own_session)
        if options.expect_errors:
            handle.expect_errors(*options.expect_errors)
    except ValueError as exc:
        pytest.fail(f"@pytest.mark.{MARKER}: {exc}", pytrace=False)
    except RuntimeError as exc:  # MockApiAttachError: the attached server refused a control call or is gone
        pytest.fail(str(exc), pytrace=False)
    request.node.stash[HANDLE_KEY] = handle
    request.node.stash[STRICT_KEY] = _opted_in(request.config, STRICT_OPTION, options.fail_on_error_responses)
    request.node.stash[CONTRACT_KEY] = _opted_in(request.config, CONTRACT_OPTION, options.strict)
    with contextlib.ExitStack() as interception:
        if _opted_in(request.config, INTERCEPT_OPTION, None):
            interception.enter_context(handle.intercept(intercept_hosts(request.config)))
        yield handle
    handle.close()  # the sessions it opened, and its own


def intercept_hosts(config: pytest.Config) -> list[str]:
    return str(config.getini(INTERCEPT_HOSTS_OPTION)).split()


@pytest.fixture
def mock_api_intercept(request: pytest.FixtureRequest,
                       mock_api: MockApiHandle | RemoteHandle) -> Iterator[MockApiHandle | RemoteHandle]:
    """The `mock_api` handle, with calls to the API's hosts (ini mock_api_intercept_hosts) made through requests,
    urllib3 or httpx routed to it for this test."""
    with mock_api.intercept(intercept_hosts(request.config)):
        yield mock_api


def after_test_problems(handle: MockApiHandle | RemoteHandle, strict: bool, contract: bool = False) -> list[str]:
    """What fails a passed test after it ran: undeclared error responses, contract violations (opt-in)."""
    from mock_api.contract.strict import format_violations

    problems: list[str] = []
    unexpected = handle.unexpected_errors() if strict else []
    if unexpected:
        problems.append("mock_api: the client got error responses this test did not declare "
                        "(mock_api.expect_errors(...) or @pytest.mark.mock_api(expect_errors=[...])):")
        problems += [f"  {r.method} {r.path} -> {r.status}" for r in unexpected]
    violations = handle.unexpected_violations() if contract else []
    if violations:
        problems += format_violations(violations, handle.violations_dropped).splitlines()
    return problems


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    # After the test body and before teardown, so a problem fails the test itself, not its teardown.
    result = yield
    handle = item.stash.get(HANDLE_KEY, None)
    if handle is not None:
        problems = after_test_problems(handle, item.stash.get(STRICT_KEY, False), item.stash.get(CONTRACT_KEY, False))
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)
    return result


def bundle_dir(config: pytest.Config) -> Path | None:
    """--mock-api-bundle-dir (relative to the working directory), else the ini option (to the rootdir)."""
    flag = config.getoption(BUNDLE_OPTION)
    if flag:
        return Path(flag)
    text = str(config.getini(BUNDLE_OPTION)).strip()
    return config.rootpath / text if text else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    # At the failing phase's report, before teardown ends the test's session or the next test resets it.
    report = yield
    handle = item.stash.get(HANDLE_KEY, None)
    directory = bundle_dir(item.config)
    if report.failed and handle is not None and directory is not None and report.when in ("setup", "call"):
        from mock_api.testing.bundle import write_bundle

        try:
            path = write_bundle(directory, item.nodeid, handle)
            report.sections.append(("mock_api bundle", f"{path}  (mock-api show {path})"))
        # A full disk, a read-only folder or an attached server that refuses must not hide the test's failure.
        except (OSError, RuntimeError) as exc:
            report.sections.append(("mock_api bundle", f"not written to {directory}: {exc}"))
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """What the session's tests exercised of the API, so the error paths never tested stand out."""
    server = config.stash.get(SERVER_KEY, None)
    if server is None or not config.getini("mock_api_coverage_summary"):
        return
    from mock_api.contract.coverage import format_coverage_summary

    try:
        reports = server.coverage_reports()
    except RuntimeError as exc:  # the attached server is gone: say so, the tests' results stand
        terminalreporter.write_line(f"mock_api coverage: not available ({exc})")
        return
    for report in (r for r in reports if r["requests"]):
        terminalreporter.write_sep("-", "mock_api coverage")
        terminalreporter.write_line(format_coverage_summary(report, config.getoption("mock_api_coverage") == "full"))
