"""The pytest plugin (entry point pytest11): the `mock_api` fixture, its marker and the strict check."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mock_api.config import DEFAULT_STARTUP_TIMEOUT as DEFAULT_STARTUP_TIMEOUT  # the plugin's, ini's default
from mock_api.testing.options import (
    CONTRACT_OPTION,
    INTERCEPT_OPTION,
    STRICT_OPTION,
    TOKEN_VARIABLE,
    add_options,
    attach_url,
    bundle_dir,
    ini_config,
    intercept_hosts,
    opted_in,
    own_session,
    session_scenario,
    startup_timeout,
)

if TYPE_CHECKING:
    from mock_api.testing.harness import MockApiHandle, MockApiServer
    from mock_api.testing.remote import RemoteHandle, RemoteServer

# mock_api.testing.harness (Flask, faker: ~0.2 s) is imported by the fixtures only: every pytest run
# in an environment with mock_api installed loads this module, most never use the fixture.

MARKER = "mock_api"
MARKER_DOC = ("mock_api(scenario=None, seed=None, fixtures=None, expect_errors=(), fail_on_error_responses=None, "
              "strict=None): configure the mock_api fixture for this test")
MARKER_ARGS = ("scenario", "seed", "fixtures", "expect_errors", "fail_on_error_responses", "strict")
HANDLE_KEY = pytest.StashKey["MockApiHandle"]()
STRICT_KEY = pytest.StashKey[bool]()
CONTRACT_KEY = pytest.StashKey[bool]()
SERVER_KEY = pytest.StashKey["MockApiServer | RemoteServer"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


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
            MockApiServer(ini_config(pytestconfig), timeout=startup_timeout(pytestconfig))
    except (MockApiStartupError, ValueError) as exc:
        pytest.fail(str(exc), pytrace=False)
    except ScenarioError as exc:
        pytest.fail(f"--mock-api-scenario: {exc}", pytrace=False)
    pytestconfig.stash[SERVER_KEY] = server
    yield server
    server.stop()


@pytest.fixture
def mock_api(request: pytest.FixtureRequest,
             mock_api_server: MockApiServer | RemoteServer) -> Iterator[MockApiHandle | RemoteHandle]:
    """The emulator, reset for this test (or its own session): url, token(), clock, journal, scenario, data."""
    isolated = own_session(request.config)
    try:
        options = MarkerOptions.of(request.node, request.config.rootpath)
        handle = mock_api_server.begin_test(options.seed, options.fixtures, options.scenario, isolated)
        if options.expect_errors:
            handle.expect_errors(*options.expect_errors)
    except ValueError as exc:
        pytest.fail(f"@pytest.mark.{MARKER}: {exc}", pytrace=False)
    except RuntimeError as exc:  # MockApiAttachError: the attached server refused a control call or is gone
        pytest.fail(str(exc), pytrace=False)
    request.node.stash[HANDLE_KEY] = handle
    request.node.stash[STRICT_KEY] = opted_in(request.config, STRICT_OPTION, options.fail_on_error_responses)
    request.node.stash[CONTRACT_KEY] = opted_in(request.config, CONTRACT_OPTION, options.strict)
    with contextlib.ExitStack() as interception:
        if opted_in(request.config, INTERCEPT_OPTION, None):
            interception.enter_context(handle.intercept(intercept_hosts(request.config)))
        yield handle
    handle.close()  # the sessions it opened, and its own


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
