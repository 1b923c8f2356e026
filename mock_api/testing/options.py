"""The pytest plugin's command-line options and ini settings, and what each resolves to for a run."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from mock_api import limits
from mock_api.config import DEFAULT_STARTUP_TIMEOUT, MockConfig

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


def add_options(parser: pytest.Parser) -> None:
    """Every command-line option and ini setting of the plugin."""
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


def ini_config(config: pytest.Config) -> MockConfig:
    """The in-process server's configuration from the ini file (and --mock-api-scenario)."""
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


def startup_timeout(config: pytest.Config) -> float:
    """ini mock_api_startup_timeout, in seconds."""
    text = str(config.getini("mock_api_startup_timeout")).strip()
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"ini mock_api_startup_timeout must be a number of seconds, got {text!r}") from None


def opted_in(config: pytest.Config, name: str, marker_value: bool | None) -> bool:
    """Marker first, then the command-line flag, then the ini option."""
    if marker_value is not None:
        return bool(marker_value)
    flag = config.getoption(name)
    return bool(config.getini(name)) if flag is None else bool(flag)


def attach_url(config: pytest.Config) -> str | None:
    """--mock-api-url, else MOCK_API_URL, else the ini option; None: start an in-process server."""
    url = config.getoption(URL_OPTION) or os.environ.get(URL_VARIABLE) or str(config.getini(URL_OPTION))
    return url.strip() or None


def own_session(config: pytest.Config) -> bool:
    """ini mock_api_isolation: whether each test gets a fresh session of the server (else a reset)."""
    isolation = str(config.getini(ISOLATION_OPTION)).strip() or "reset"
    if isolation not in ISOLATIONS:
        pytest.fail(f"ini {ISOLATION_OPTION} must be one of {', '.join(ISOLATIONS)}, got {isolation!r}", pytrace=False)
    return isolation == "session"


def intercept_hosts(config: pytest.Config) -> list[str]:
    return str(config.getini(INTERCEPT_HOSTS_OPTION)).split()


def bundle_dir(config: pytest.Config) -> Path | None:
    """--mock-api-bundle-dir (relative to the working directory), else the ini option (to the rootdir)."""
    flag = config.getoption(BUNDLE_OPTION)
    if flag:
        return Path(flag)
    text = str(config.getini(BUNDLE_OPTION)).strip()
    return config.rootpath / text if text else None
